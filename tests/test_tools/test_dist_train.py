"""Two CPU processes under torchrun (gloo): identical parameters at the end, then a resume."""
import os
import re
import sys

import pytest
import torch
from tool_runner import TOY_CONFIG, assert_ok, free_port, logged_iterations, run
from tools_toy_components import toy_accuracy


def _rank_states(work_dir: str, start: int) -> list:
    """What ToolsTestStateDumpHook saved for the run that began at iteration ``start``."""
    return [torch.load(os.path.join(work_dir, 'states', f'rank{r}_from{start}.pth'))
            for r in (0, 1)]


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory) -> str:
    """Four iterations of tools/train.py in two processes started by torch.distributed.run."""
    work_dir = str(tmp_path_factory.mktemp('dist_train'))
    result = run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                  f'--master_port={free_port()}', 'tools/train.py', TOY_CONFIG,
                  '--launcher', 'pytorch', '--work-dir', work_dir])
    assert_ok(result)
    assert 'gloo process group of 2 CPU processes' in result.stdout + result.stderr
    return work_dir


def test_both_ranks_end_with_identical_parameters(two_rank_run):
    rank0, rank1 = _rank_states(two_rank_run, start=0)
    # Equality is earned: ranks initialise with different seeds (diff_rank_seed) and train on
    # different shards of the data, so only DDP's broadcast and gradient all-reduce align them.
    assert not _equal(rank0['initial_state'], rank1['initial_state'])
    assert set(rank0['seen']).isdisjoint(rank1['seen'])
    assert len(rank0['seen']) == len(rank1['seen']) == 4 * 4
    assert _equal(rank0['end_state'], rank1['end_state'])
    assert not _equal(rank0['start_state'], rank0['end_state'])
    assert (rank0['end_iter'], rank1['end_iter']) == (4, 4)


def test_resume_continues_the_iteration_count(two_rank_run):
    before = _rank_states(two_rank_run, start=0)
    result = run(['bash', 'tools/dist_train.sh', TOY_CONFIG, '2', '--work-dir', two_rank_run,
                  '--resume', '--cfg-options', 'train_cfg.max_iters=8'],
                 PYTHON=sys.executable, PORT=str(free_port()))
    assert_ok(result)
    log = result.stdout + result.stderr
    assert 'resumed epoch: 0, iter: 4' in log
    lrs = logged_iterations(log)
    assert sorted(lrs) == [5, 6, 7, 8]
    # The scheduler resumed too: MultiStepLR (milestone 6, gamma 0.1) lowers lr after iter 6.
    assert lrs[6] == pytest.approx(0.5) and lrs[7] == pytest.approx(0.05)
    after = _rank_states(two_rank_run, start=4)
    for rank in (0, 1):
        assert (after[rank]['start_iter'], after[rank]['end_iter']) == (4, 8)
        assert _equal(after[rank]['start_state'], before[0]['end_state'])
    assert _equal(after[0]['end_state'], after[1]['end_state'])
    assert not _equal(after[0]['end_state'], after[0]['start_state'])
    with open(os.path.join(two_rank_run, 'last_checkpoint')) as f:
        assert os.path.basename(f.read().strip()) == 'iter_8.pth'


def test_two_process_evaluation_scores_every_test_point(two_rank_run, tmp_path):
    checkpoint = os.path.join(two_rank_run, 'iter_4.pth')
    result = run(['bash', 'tools/dist_test.sh', TOY_CONFIG, checkpoint, '2', '--work-dir',
                  str(tmp_path)], PYTHON=sys.executable, PORT=str(free_port()))
    assert_ok(result)
    reported = float(re.search(r'toy/accuracy: ([0-9.]+)', result.stdout).group(1))
    # Each rank scores half of the 64 test points; the metric gathers both halves.
    expected = toy_accuracy(_rank_states(two_rank_run, start=0)[0]['end_state'])
    assert reported == pytest.approx(expected, abs=1e-4)
