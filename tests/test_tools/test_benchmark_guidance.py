"""benchmark_guidance.py runs both sides at equal steps and prints their times and ratio."""
import re

import pytest
from tool_runner import assert_ok, run_tool

TOOL = 'analysis_tools/benchmark_guidance.py'
CONFIG = 'configs/gdui/sample_fashion-mnist-mini_pseudo-labels.py'


def test_prints_both_timings_and_their_ratio():
    result = run_tool(TOOL, CONFIG, '--batch-size', '2', '--steps', '3', '--scale', '1.5')
    assert_ok(result)
    out = result.stdout
    assert '2 images, 3 DDPM steps, 1 threads, device cpu' in out
    times = {}
    for name in ('unguided', 'guided'):
        match = re.search(rf'^{name} \(scale [\d.]+\): ([\d.]+) s, ([\d.]+) ms/step$', out, re.M)
        assert match, out
        times[name] = float(match.group(1))
        # both are rounded: the time to 1 ms, the time per step to 0.1 ms
        assert float(match.group(2)) == pytest.approx(1000 * times[name] / 3, abs=0.25)
    assert 'guided (scale 1.5)' in out and 'unguided (scale 0)' in out
    ratio = re.search(r'ratio guided/unguided: ([\d.]+)x \((meets|misses) the goal <= 1.5x\)',
                      out)
    assert ratio, out
    assert float(ratio.group(1)) == pytest.approx(times['guided'] / times['unguided'], rel=0.05)
    assert (ratio.group(2) == 'meets') == (float(ratio.group(1)) <= 1.5)


def test_an_unguided_config_is_refused():
    result = run_tool(TOOL, 'configs/gdui/sample_fashion-mnist-mini_unconditional.py')
    assert result.returncode == 2
    assert 'not a guided sampling config' in result.stderr
