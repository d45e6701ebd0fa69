"""tools/analysis_tools/gdui_table.py: the row ``real (floor)`` beside two sampled rows, rows of
several sampling seeds and their paired differences."""
import json
import os
import sys

import numpy as np
import pytest
from tool_runner import REPO_ROOT, load_module

tool = load_module('gdui_table', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                               'gdui_table.py'))


def write_row(folder, fid: float, scale: float, num_samples: int = 4, scale_source=None,
              **extra) -> None:
    os.makedirs(folder, exist_ok=True)
    guided = scale > 0
    np.save(os.path.join(folder, 'samples.npy'), np.zeros((num_samples, 8, 8, 1), np.uint8))
    np.save(os.path.join(folder, 'labels.npy'), np.arange(num_samples) % 2 if guided else
            np.full(num_samples, -1))
    manifest = dict(num_inference_steps=100, scale=scale, class_names=['a', 'b'])
    if scale_source is not None:
        manifest.update(scale_source=scale_source)
    with open(os.path.join(folder, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    # as eval_generation.py: an unguided row has no class accuracy and names no judge for it
    write_metrics(folder, fid, num_samples, **(dict(class_accuracy=0.5,
                                                     class_accuracy_by='judge j.pth')
                                                if guided else {}), **extra)


def write_metrics(folder, fid: float, num_samples: int, **extra) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'metrics.json'), 'w') as f:
        json.dump(dict(FID=fid, sFID=1.0, IS=2.0, precision=0.7, recall=0.6,
                       num_samples=num_samples, num_reference=30, is_classifier='judge j.pth',
                       judge_reference_accuracy=0.88, **extra), f)


def run(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, 'argv', ['gdui_table.py', *args])
    tool.main()


def table_row(text: str, name: str) -> list:
    """The cells of the printed table line whose first cell is ``name``."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        if line.startswith('| ') and cells[0] == name:
            return cells
    raise AssertionError(f'no line {name!r} in:\n{text}')


def test_floor_row_and_judge_note(tmp_path, monkeypatch, capsys):
    write_row(tmp_path / 'unconditional', 12.5, 0)
    write_row(tmp_path / 'gt', 9.25, 2.0)
    write_metrics(tmp_path / 'floor', 3.125, 4, class_accuracy=0.75)
    run(monkeypatch, f'unconditional={tmp_path / "unconditional"}', f'gt={tmp_path / "gt"}',
        '--floor', str(tmp_path / 'floor'), '--out', str(tmp_path / 'results.json'))
    text = capsys.readouterr().out
    floor = table_row(text, 'real (floor)')
    assert floor[:10] == ['real (floor)', '-', '-', '-', '3.1', '1.0', '2.00', '0.700', '0.600',
                          '0.750']
    assert 'IS from p(y | x) of judge j.pth' in text
    # named from the guided row, though the first row is unconditional
    assert 'share of guided samples that judge j.pth assigns' in text
    assert 'its accuracy on the reference images: 0.880' in text
    assert json.loads((tmp_path / 'results.json').read_text())['floor']['FID'] == 3.125


def test_a_floor_of_another_size_is_refused(tmp_path, monkeypatch):
    write_row(tmp_path / 'gt', 9.25, 2.0)
    write_metrics(tmp_path / 'floor', 3.0, 5)
    with pytest.raises(SystemExit, match='the floor has num_samples 5 but the rows 4'):
        run(monkeypatch, f'gt={tmp_path / "gt"}', '--floor', str(tmp_path / 'floor'))


SWEPT = dict(by='sweep', text='chosen by the guidance-scale sweep s.json: lowest dev FID, over '
             's in {0, 3.5}, 20 samples per scale against 30 dev references (dev part)')


def test_the_scale_and_how_it_was_chosen_come_from_the_manifests(tmp_path, monkeypatch,
                                                                   capsys):
    write_row(tmp_path / 'unconditional', 12.5, 0,
              scale_source=dict(by='config', text='generator.scale of u.py'))
    write_row(tmp_path / 'plm', 9.0, 3.5, scale_source=SWEPT)
    write_row(tmp_path / 'lmr', 8.0, 3.5, scale_source=SWEPT)
    write_row(tmp_path / 'gt', 7.0, 6.0,
              scale_source=dict(by='--scale', text='set by GDUI_SCALE'))
    write_row(tmp_path / 'old', 7.0, 2.0)
    run(monkeypatch, *[f'{row}={tmp_path / row}' for row in
                       ('unconditional', 'plm', 'lmr', 'gt', 'old')],
        '--out', str(tmp_path / 'results.json'))
    line = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('Guidance scale: ')]
    assert line == ['Guidance scale: s = 0 for unconditional, generator.scale of u.py; '
                    f"s = 3.5 for plm, lmr, {SWEPT['text']}; s = 6 for gt, set by GDUI_SCALE; "
                    's = 2 for old, not recorded (its manifest.json has no scale_source; '
                    'sampled before sample.py recorded it).']
    results = json.loads((tmp_path / 'results.json').read_text())
    assert results['guidance_scale'][1] == dict(scale=3.5, chosen_by=SWEPT['text'],
                                                rows=['plm', 'lmr'])
    assert results['rows']['lmr']['scale_source'] == SWEPT


def test_seed_folders_give_mean_std_and_paired_differences(tmp_path, monkeypatch, capsys):
    """Rows of seed_<S> folders: cells are mean ± sample std; ``--diff`` pairs by seed."""
    for seed, (u, g) in enumerate([(12.0, 9.0), (14.0, 10.0), (13.0, 11.0)]):
        write_row(tmp_path / 'u' / f'seed_{seed}', u, 0)
        write_row(tmp_path / 'g' / f'seed_{seed}', g, 2.0)
    run(monkeypatch, f'u={tmp_path / "u"}', f'g={tmp_path / "g"}', '--diff', 'u', 'g',
        '--out', str(tmp_path / 'r.json'))
    text = capsys.readouterr().out
    assert table_row(text, 'u')[1:5] == ['3', '100', '0', '13.0 ± 1.0']
    assert table_row(text, 'g')[4] == '10.0 ± 1.0'
    # g - u per seed: -3, -4, -2: mean -3, std 1, t(0.975, 2) = 4.303 -> half width 2.48
    assert table_row(text, 'g - u')[1] == '-3.0 [-5.5, -0.5]'
    results = json.loads((tmp_path / 'r.json').read_text())
    assert results['rows']['g']['seeds']['1']['FID'] == 10.0
    assert results['rows']['u']['summary']['FID']['std'] == pytest.approx(1.0)
    assert results['differences']['g - u']['FID']['ci_high'] == pytest.approx(
        -3 + 4.302653 / 3**0.5, abs=1e-4)


def test_rows_of_other_seeds_are_not_paired(tmp_path, monkeypatch):
    write_row(tmp_path / 'u' / 'seed_0', 12.0, 0)
    write_row(tmp_path / 'u' / 'seed_1', 12.0, 0)
    write_row(tmp_path / 'g' / 'seed_0', 9.0, 2.0)
    write_row(tmp_path / 'g' / 'seed_2', 9.0, 2.0)
    with pytest.raises(SystemExit, match='g cannot be paired with u: seed.s. 1 only in u; '
                       'seed.s. 2 only in g'):
        run(monkeypatch, f'u={tmp_path / "u"}', f'g={tmp_path / "g"}')
