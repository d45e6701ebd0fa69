"""benchmark_generation.py runs both sides on a tiny SD folder and prints every field."""
import os
import re

import numpy as np
import pytest
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

TOOL = 'analysis_tools/benchmark_generation.py'


@pytest.fixture(scope='module')
def tiny_sd(tmp_path_factory) -> str:
    tiny = load_module('tiny_sd', os.path.join(REPO_ROOT, 'tests', 'test_generators',
                                               'tiny_sd.py'))
    return tiny.save_tiny_sd(str(tmp_path_factory.mktemp('bench_sd') / 'pipeline'))


def test_prints_both_timings_speedup_and_unet_share(tiny_sd, tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
            tmp_path / f'{i}.png')
    result = run_tool(TOOL, tiny_sd, '--images', str(tmp_path), '--seeds', '2', '--classes',
                      'cat', 'dog', '--steps', '2', '--batch-size', '4', OMP_NUM_THREADS='1')
    assert_ok(result)
    out = result.stdout
    assert '2 seeds x 2 classes = 4 (seed, class) pairs, 8 images, 2 DDIM steps' in out
    engine = re.search(r'engine \(batch 4\): ([\d.]+) s, UNet ([\d.]+) s in (\d+) calls', out)
    naive = re.search(r'naive loop \(batch 1\): ([\d.]+) s, UNet ([\d.]+) s in (\d+) calls', out)
    assert engine and naive, out
    # The engine makes 4 positives and 4 negatives in one batch each: 2 guided steps of the
    # positive, 2 inversion + 2 guided reverse steps of the negative, one UNet call per step.
    # The naive loop makes the same 8 images one by one: 4 x (2 + 4) calls.
    assert int(engine.group(3)) < int(naive.group(3)) == 4 * 6
    for match in (engine, naive):
        assert 0 < float(match.group(2)) < float(match.group(1))
    speedup = float(re.search(r'speedup: ([\d.]+)x', out).group(1))
    assert speedup == pytest.approx(float(naive.group(1)) / float(engine.group(1)), rel=0.02)
    share = float(re.search(r'engine UNet share: ([\d.]+)%', out).group(1))
    assert share == pytest.approx(100 * float(engine.group(2)) / float(engine.group(1)), rel=0.02)
