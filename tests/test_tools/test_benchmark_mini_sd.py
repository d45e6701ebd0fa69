"""benchmark_mini_sd.py times the mini SD's denoiser step per context length, side by side."""
import re

import pytest
from tool_runner import assert_ok, run_tool

TOOL = 'analysis_tools/benchmark_mini_sd.py'


def test_prints_each_context_length_and_its_ratio():
    result = run_tool(TOOL, '--context-lengths', '16', '12', '--batch-size', '2', '--steps', '1',
                      '--rounds', '1')
    assert_ok(result)
    rows = re.findall(r'\| (\d+) \| ([\d.]+) \| (\d+) \| ([\d.]+)x \|', result.stdout)
    assert [int(r[0]) for r in rows] == [16, 12]
    assert float(rows[0][3]) == 1.0
    first, second = float(rows[0][1]), float(rows[1][1])
    assert float(rows[1][3]) == pytest.approx(first / second, rel=0.05, abs=0.01)


def test_a_context_that_truncates_the_prompts_is_refused():
    result = run_tool(TOOL, '--context-lengths', '8')
    assert result.returncode == 2
    assert 'context length 8 truncates the prompts (the longest has 12 tokens' in result.stderr
