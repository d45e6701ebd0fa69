"""tools/train.py then tools/test.py on the toy config, one process, as a user runs them."""
import os
import re

import pytest
import torch
from tool_runner import TOY_CONFIG, assert_ok, logged_iterations, run_tool
from tools_toy_components import ToolsTestNet, toy_accuracy

from cdmx.utils.checkpoint import load_from_local


@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> str:
    """A work dir after four iterations of tools/train.py (checkpoints at 2 and 4)."""
    work_dir = str(tmp_path_factory.mktemp('toy_train'))
    result = run_tool('train.py', TOY_CONFIG, '--work-dir', work_dir)
    assert_ok(result)
    assert sorted(logged_iterations(result.stdout)) == [1, 2, 3, 4]
    return work_dir


def test_train_writes_checkpoints_and_the_last_checkpoint_pointer(trained):
    assert os.path.isfile(os.path.join(trained, 'iter_2.pth'))
    with open(os.path.join(trained, 'last_checkpoint')) as f:
        assert os.path.samefile(f.read().strip(), os.path.join(trained, 'iter_4.pth'))
    state = torch.load(os.path.join(trained, 'states', 'rank0_from0.pth'))
    assert (state['start_iter'], state['end_iter']) == (0, 4)
    assert len(state['seen']) == 4 * 4


@pytest.mark.parametrize('given, loaded', [('iter_2.pth', 'iter_2.pth'),
                                           ('last_checkpoint', 'iter_4.pth')])
def test_test_py_evaluates_the_checkpoint_it_is_given(trained, tmp_path, given, loaded):
    result = run_tool('test.py', TOY_CONFIG, os.path.join(trained, given), '--work-dir',
                      str(tmp_path))
    assert_ok(result)
    reported = float(re.search(r'toy/accuracy: ([0-9.]+)', result.stdout).group(1))
    scores = {name: toy_accuracy(load_from_local(os.path.join(trained, name))['state_dict'])
              for name in ('iter_2.pth', 'iter_4.pth')}
    torch.manual_seed(0)  # the Runner's seed: what test.py would score without loading
    scores['untrained'] = toy_accuracy(ToolsTestNet().state_dict())
    assert len(set(scores.values())) == 3, f'the scores cannot tell the weights apart: {scores}'
    assert reported == pytest.approx(scores[loaded], abs=1e-4)
    assert os.listdir(tmp_path), 'test.py wrote no logs into --work-dir'


def test_show_dir_turns_on_the_visualization_hook(trained, tmp_path):
    show_dir = tmp_path / 'show'
    result = run_tool('test.py', TOY_CONFIG, os.path.join(trained, 'iter_4.pth'), '--work-dir',
                      str(tmp_path / 'work'), '--show-dir', str(show_dir), '--cfg-options',
                      'default_hooks.visualization.type=ToolsTestVisualizationHook')
    assert_ok(result)
    drawn = sorted(os.listdir(show_dir / 'vis_data' / 'vis_image'))
    assert drawn == [f'batch{i}_0.png' for i in range(8)]


def test_show_dir_without_a_visualization_hook_is_one_clear_line(trained, tmp_path):
    result = run_tool('test.py', TOY_CONFIG, os.path.join(trained, 'iter_4.pth'), '--work-dir',
                      str(tmp_path), '--show-dir', str(tmp_path / 'show'))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'error: --show-dir needs a visualization hook, but {TOY_CONFIG} has none in '
        'default_hooks; add default_hooks.visualization to the config or drop --show-dir.']
