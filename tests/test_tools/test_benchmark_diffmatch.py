"""benchmark_diffmatch.py prints the baseline, steps 1-5 with their ratios and the layer time."""
import re

import pytest
from tool_runner import assert_ok, run_tool

TOOL = 'analysis_tools/benchmark_diffmatch.py'
TINY = ('--size', '32', '--depth', '18', '--base-channels', '8', '--channels', '16',
        '--layers', '2', '--num-classes', '5', '--runs', '1', '--warmup', '0')


def test_prints_ratios_for_every_step_count_and_the_layer_time():
    result = run_tool(TOOL, *TINY)
    assert_ok(result)
    out = result.stdout
    assert 'input (1, 3, 32, 32), 5 classes, device cpu, 1 timed runs each' in out
    base = float(re.search(r'discriminative baseline: ([\d.]+) ms/img', out).group(1))
    steps = re.findall(r'DiffMatch steps (\d): ([\d.]+) ms/img \(([\d.]+) img/s\), '
                       r'throughput ([\d.]+)x of the baseline', out)
    assert [int(s[0]) for s in steps] == [1, 2, 3, 4, 5]
    for _, ms, _, ratio in steps:
        assert float(ratio) == pytest.approx(base / float(ms), rel=0.05, abs=2e-3)
    layer = re.search(r'deformable-attention layer: ([\d.]+) ms per call \(attention alone '
                      r'([\d.]+) ms\), 2 layers per DDIM step, batch 1, (\d+) calls timed', out)
    assert layer, out
    assert int(layer.group(3)) == 1 * 3 * 2  # 1 run x the model's 3 steps x 2 layers


def test_config_that_is_not_diffmatch_is_refused(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("model = dict(type='mmseg.EncoderDecoder')\n")
    result = run_tool(TOOL, '--config', str(config))
    assert result.returncode == 2 and 'error:' in result.stderr and 'DiffMatch' in result.stderr

