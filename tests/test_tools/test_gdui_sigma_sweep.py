"""tools/analysis_tools/gdui_sigma_sweep.py on a synthetic match folder of fifteen samples.

The pool of tests/test_matchers/test_refinement.py: three clusters of five, hand-set P, CLIP
voting the truth everywhere. Its hand-computed label accuracies: 10/15 at sigma_btm = 0 (the
+PLM labels), 11/15 at 0.5, 12/15 at 0.55, 13/15 at 0.66 and 14/15 at 1 (the trusted cluster
keeps one wrong label).
"""
import json
import os

import numpy as np
import pytest
from tool_runner import REPO_ROOT, load_module

from cdmx.pseudo_labelers import save_clusters

tool = load_module('gdui_sigma_sweep', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                                     'gdui_sigma_sweep.py'))

CONF = np.array([[0.9, 0.8, 0.6, 0.5, 0.4], [0.95, 0.9, 0.8, 0.7, 0.6],
                 [0.9, 0.85, 0.7, 0.45, 0.35]])
TRUTH = np.array([2, 2, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 2, 1, 1])
REFINEMENT = dict(type='LabelMatchingRefinement', n_top=2, n_btm=2, w_top=0.5, w_btm=0.5,
                  lambda_delta=0.8, lambda_top=0.9, lambda_btm=0.6, sigma_btm=0.5)


@pytest.fixture
def match_dir(tmp_path):
    probs = np.zeros((15, 3))
    for m in range(3):
        rows = np.arange(5 * m, 5 * m + 5)
        probs[rows] = ((1 - CONF[m]) / 2)[:, None]
        probs[rows, m] = CONF[m]
    save_clusters(str(tmp_path / 'pseudo_labels'), probs, np.zeros((15, 2)))
    out = tmp_path / 'match'
    out.mkdir()
    (out / 'labels_lmr.json').write_text(json.dumps(dict(
        class_names=['a', 'b', 'c'], cluster_to_class=[2, 0, 1], refinement_cfg=REFINEMENT,
        pseudo_labels=str(tmp_path / 'pseudo_labels'))))
    np.save(out / 'clip_probs.npy', (np.eye(3)[TRUTH] * 0.7 + 0.1).astype(np.float32))
    np.save(out / 'truth.npy', TRUTH)
    return out


def test_sweep_gives_the_hand_computed_accuracies(match_dir, capsys):
    tool.main([str(match_dir), '--sigmas', '1', '0', '0.5', '0.55', '0.66'])
    result = json.loads((match_dir / 'sigma_sweep.json').read_text())
    assert result['sigma_btm'] == [0.0, 0.5, 0.55, 0.66, 1.0]
    assert result['label_accuracy'] == pytest.approx([10 / 15, 11 / 15, 12 / 15, 13 / 15,
                                                      14 / 15])
    assert result['refined_clusters'] == [0, 1, 1, 2, 2]
    assert result['adjusted'] == [0, 1, 2, 4, 10] and result['changed'] == [0, 1, 2, 3, 4]
    assert result['cases'] == ['bottom_mismatch', 'top_mismatch', 'trusted']
    assert result['plm_label_accuracy'] == pytest.approx(10 / 15)
    assert result['clip_label_accuracy'] == 1.0
    assert 'sigma_btm' not in result['refinement_cfg'] and result['num_samples'] == 15
    png = (match_dir / 'sigma_sweep.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
    assert 'sigma_btm 1.00: label accuracy 0.9333' in capsys.readouterr().out


def test_default_grid_runs_from_zero_to_one(match_dir, tmp_path):
    tool.main([str(match_dir), '--out-dir', str(tmp_path / 'elsewhere')])
    result = json.loads((tmp_path / 'elsewhere' / 'sigma_sweep.json').read_text())
    assert result['sigma_btm'][0] == 0.0 and result['sigma_btm'][-1] == 1.0
    assert len(result['sigma_btm']) == 21
    assert result['label_accuracy'][0] == pytest.approx(10 / 15)
    assert result['label_accuracy'][-1] == pytest.approx(14 / 15)


def run_bad(match_dir, capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        tool.run_cli(lambda: tool.main([str(match_dir), *args]))
    assert exit_info.value.code == 2
    assert not (match_dir / 'sigma_sweep.json').exists()
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_partial_clip_scores_are_refused(match_dir, capsys):
    clip = np.load(match_dir / 'clip_probs.npy')
    clip[7] = np.nan
    np.save(match_dir / 'clip_probs.npy', clip)
    assert run_bad(match_dir, capsys) == (
        'error: CLIP scored only 14 of 15 pool images; rerun tools/gdui/match_labels.py with '
        '--score-all (Eq. 18 reaches every member as sigma_btm -> 1).')


@pytest.mark.parametrize('args,message', [
    (['--sigmas', '0.5', '1.5'], '--sigmas are'),
    (['--truth', 'missing.npy'], 'missing.npy does not exist'),
])
def test_bad_arguments_are_one_line(match_dir, capsys, args, message):
    assert message in run_bad(match_dir, capsys, *args)


def test_truth_of_another_pool_is_refused(match_dir, capsys):
    np.save(match_dir / 'truth.npy', TRUTH[:10])
    assert 'one class id in 0..2 per pool image (15)' in run_bad(match_dir, capsys)
