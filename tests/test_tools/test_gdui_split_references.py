"""tools/gdui/split_references.py: disjoint floor, dev and reference parts of the fixture's 200
Fashion-MNIST test images, with stored Inception features."""
import json

import numpy as np
import torch
from test_gdui_eval_generation import Wrap
from tool_runner import assert_ok, run_tool

from cdmx.evaluation.metrics.generation import (InceptionExtractor, load_real_part,
                                                load_reference_images, sha256_of)

TOOL = 'gdui/split_references.py'
CONFIG = 'configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py'


def test_parts_are_disjoint_with_their_images_labels_and_features(tmp_path, fashion_mnist_root):
    torch.manual_seed(0)
    inception = str(tmp_path / 'tiny.pt')
    torch.jit.script(Wrap().eval()).save(inception)
    out = tmp_path / 'refs'
    result = run_tool(TOOL, CONFIG, '--out-dir', str(out), '--num-floor', '10', '--num-dev',
                      '40', '--features', 'reference', 'dev', '--inception', inception,
                      '--inception-sha256', sha256_of(inception),
                      CDMX_FASHION_MNIST=fashion_mnist_root)
    assert_ok(result)
    parts = {name: load_real_part(str(out / name)) for name in ('floor', 'dev', 'reference')}
    assert [len(parts[n]['indices']) for n in ('floor', 'dev', 'reference')] == [10, 40, 150]
    indices = np.concatenate([part['indices'] for part in parts.values()])
    assert sorted(indices.tolist()) == list(range(200))  # disjoint, and every test image
    order = np.random.default_rng(0).permutation(200)
    assert parts['floor']['indices'].tolist() == sorted(order[:10].tolist())
    test = load_reference_images(dict(type='FashionMNIST', data_root=fashion_mnist_root,
                                      subset='test', channels=1))
    for part in parts.values():
        assert np.array_equal(part['images'], test[part['indices']])
    for part in parts.values():  # the fixture draws class c as noise 0..29 around 25 c
        assert np.array_equal(part['labels'], part['images'].mean(axis=(1, 2, 3)) // 25)
    assert parts['floor']['features'] is None
    extractor = InceptionExtractor(inception, sha256_of(inception))
    # float32 features of a batch computed with other thread counts and batch sizes (CI runs
    # without OMP_NUM_THREADS=1) differ in the last bits
    assert np.allclose(parts['dev']['features']['pool'],
                       extractor(parts['dev']['images'])['pool'], rtol=1e-4, atol=1e-5)
    info = json.loads((out / 'reference' / 'part.json').read_text())
    assert info['part'] == 'reference' and info['sizes'] == dict(floor=10, dev=40,
                                                                 reference=None)


def test_parts_that_do_not_fit_write_nothing(tmp_path, fashion_mnist_root):
    out = tmp_path / 'refs'
    result = run_tool(TOOL, CONFIG, '--out-dir', str(out), '--num-floor', '150', '--num-dev',
                      '60', CDMX_FASHION_MNIST=fashion_mnist_root)
    assert result.returncode == 2 and 'do not fit 200 images' in result.stderr
    assert not out.exists()
