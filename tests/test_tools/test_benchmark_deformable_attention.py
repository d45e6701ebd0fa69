"""benchmark_deformable_attention.py prints both paths' times and their ratio per mode."""
import re

import pytest
from tool_runner import assert_ok, run_tool

TOOL = 'analysis_tools/benchmark_deformable_attention.py'


def test_prints_both_paths_and_their_ratio_per_mode():
    result = run_tool(TOOL, '--batch-size', '1', '--size', '6', '--channels', '8', '--heads',
                      '2', '--runs', '2', '--warmup', '0')
    assert_ok(result)
    out = result.stdout
    assert 'batch 1, 6x6 queries, 3 levels [6, 3, 2], 2 heads x 4 channels, 2 points' in out
    for mode in ('forward, no gradients', 'forward + backward'):
        line = re.search(re.escape(mode) + r': mmcv pure PyTorch ([\d.]+) ms, cdmx points-first '
                         r'([\d.]+) ms; mmcv / points-first ([\d.]+)x', out)
        assert line, out
        mmcv, ours, ratio = (float(g) for g in line.groups())
        assert ratio == pytest.approx(mmcv / ours, rel=0.05, abs=0.01)


def test_channels_that_do_not_divide_into_heads_are_refused():
    result = run_tool(TOOL, '--channels', '10', '--heads', '4')
    assert result.returncode == 2 and 'error:' in result.stderr
    assert '--channels 10 is not divisible by --heads 4' in result.stderr
