"""show_pairs.py and measure_inversion_gap.py run as a user runs them, on a tiny SD folder."""
import json
import os

import numpy as np
import pytest
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

PAIRS = 'visualization/show_pairs.py'
GAP = 'analysis_tools/measure_inversion_gap.py'


def load_tool(tool: str):
    return load_module(os.path.basename(tool)[:-3], os.path.join(REPO_ROOT, 'tools', tool))


@pytest.fixture(scope='module')
def tiny_sd(tmp_path_factory) -> str:
    tiny = load_module('tiny_sd', os.path.join(REPO_ROOT, 'tests', 'test_generators',
                                                'tiny_sd.py'))
    return tiny.save_tiny_sd(str(tmp_path_factory.mktemp('tools_tiny_sd') / 'pipeline'))


@pytest.fixture(scope='module')
def seed_folder(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp('seeds')
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
            folder / f'{i}.png')
    return str(folder)


def error_line(tool: str, args: list, monkeypatch, capsys) -> str:
    """Run a tool's main in this process (bad input fails before any model work) and return
    its one-line report; the subprocess tests cover the command line itself."""
    module = load_tool(tool)
    monkeypatch.setattr('sys.argv', [tool, *args])
    with pytest.raises(SystemExit) as exit_info:
        module.run_cli(module.main)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    return lines[0]


def test_show_pairs_writes_the_grid(tiny_sd, seed_folder, tmp_path):
    out = tmp_path / 'pairs.png'
    result = run_tool(PAIRS, tiny_sd, '--images', seed_folder, '--classes', 'Coat', 'Bag', 'Dress',
                      '--num-seeds', '2', '--steps', '2', '--cell-size', '16', '--batch-size',
                      '4', '--out', str(out))
    assert_ok(result)
    tool = load_tool(PAIRS)
    LABEL_WIDTH, HEADER_HEIGHT = tool.LABEL_WIDTH, tool.HEADER_HEIGHT
    with Image.open(out) as image:
        # label column + seed + 3 classes; header + 2 rows (pos, neg) per seed
        assert image.size == (LABEL_WIDTH + 4 * 16, HEADER_HEIGHT + 2 * 2 * 16)
        pixels = np.asarray(image.convert('RGB'))
    seed_cell = pixels[HEADER_HEIGHT:HEADER_HEIGHT + 16, LABEL_WIDTH:LABEL_WIDTH + 16]
    first_seed = np.asarray(Image.open(f'{seed_folder}/0.png').resize((16, 16), Image.NEAREST))
    assert np.array_equal(seed_cell, first_seed)


@pytest.mark.parametrize('args,match', [
    (['--images', '{seeds}'], '--classes'),
    (['--images', '{seeds}', '--classes', 'Coat', 'Coat'], 'repeats Coat'),
    (['--images', '{seeds}', '--classes', 'Coat', '--prompt-template', 'A photo.'],
     'placeholder'),
    (['--images', '{empty}', '--classes', 'Coat'], 'no .png'),
])
def test_show_pairs_bad_input(tiny_sd, seed_folder, tmp_path, monkeypatch, capsys, args, match):
    args = [a.format(seeds=seed_folder, empty=str(tmp_path)) for a in args]
    assert match in error_line(PAIRS, [tiny_sd, *args], monkeypatch, capsys)


def test_not_a_pipeline_folder(seed_folder, tmp_path, monkeypatch, capsys):
    line = error_line(PAIRS, [str(tmp_path), '--images', seed_folder, '--classes', 'Coat'],
                      monkeypatch, capsys)
    assert 'model_index.json' in line
    line = error_line(GAP, [str(tmp_path / 'missing.py')], monkeypatch, capsys)
    assert 'does not exist; pass a StableDiffusionPipeline folder' in line
    config = tmp_path / 'no_backend.py'
    config.write_text('model = dict()\n')
    line = error_line(GAP, [str(config), '--images', seed_folder, '--classes', 'Coat'],
                      monkeypatch, capsys)
    assert 'no top-level backend' in line


def test_measure_inversion_gap(tiny_sd, seed_folder, tmp_path):
    config = tmp_path / 'backend.py'
    config.write_text(f"backend = dict(type='StableDiffusionBackend', pretrained={tiny_sd!r})\n")
    out = tmp_path / 'gaps.json'
    result = run_tool(GAP, str(config), '--images', seed_folder, '--classes', 'Coat', 'Bag',
                      '--num-images', '2', '--steps', '3', '--out', str(out))
    assert_ok(result)
    with open(out) as f:
        gaps = json.load(f)
    assert gaps['timesteps'] == [1, 334, 667]
    assert np.array(gaps['delta']).shape == (3, 2)  # steps x seeds
    assert np.array(gaps['delta_tilde']).shape == (3, 4)  # steps x (seed, class) pairs
    assert len(gaps['round_trip_error']) == 2
    table = result.stdout.strip().splitlines()
    assert table[0].split()[:2] == ['step', 't'] and len(table) == 5
    assert [int(line.split()[1]) for line in table[1:4]] == gaps['timesteps']
    assert float(table[1].split()[2]) == pytest.approx(np.mean(gaps['delta'][0]), abs=1e-6)
