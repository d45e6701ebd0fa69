"""tools/analysis_tools/noisy_classifier_accuracy.py: a noisy classifier's accuracy per t."""
import json
import os
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import ImgDataPreprocessor
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

from cdmx.registry import DATASETS, MODELS
from cdmx.utils.errors import CdmxError
from cdmx.utils.setup_env import register_all_modules

TOOL = 'analysis_tools/noisy_classifier_accuracy.py'
CONFIG = os.path.join(REPO_ROOT, 'configs', 'gdui',
                      'noisy-classifier_fashion-mnist-mini_gt-labels.py')
SCHEDULER = dict(num_train_timesteps=500, beta_schedule='linear', beta_start=0.0002,
                 beta_end=0.04, prediction_type='epsilon')


@pytest.fixture(scope='module')
def tool():
    return load_module('noisy_classifier_accuracy', os.path.join(REPO_ROOT, 'tools', TOOL))


@pytest.fixture
def test_split(fashion_mnist_root):
    register_all_modules()
    return DATASETS.build(dict(type='FashionMNIST', data_root=fashion_mnist_root, subset='test',
                               channels=1, pipeline=[dict(type='mmpretrain.PackInputs')]))


class BrightnessClassifier(torch.nn.Module):
    """Knows the fixture's rule (pixels ~ U{0..29} + 25 label): un-noises the mean level of
    ``x_t`` with ``sqrt(abar_t)`` and rounds it to a label; ``blind`` always says class 0."""

    def __init__(self, blind: bool = False):
        super().__init__()
        from diffusers import DDPMScheduler
        self.noise_scheduler = DDPMScheduler(**SCHEDULER)
        self.num_classes = 10
        self.data_preprocessor = ImgDataPreprocessor(mean=[127.5], std=[127.5])
        self.blind = blind
        self.register_buffer('unused', torch.zeros(1))
        self.seen_timesteps = set()

    def logits(self, x_t, t):
        self.seen_timesteps.update(int(v) for v in t)
        signal = self.noise_scheduler.alphas_cumprod[t].sqrt()
        mean_pixel = (x_t.flatten(1).mean(1) / signal) * 127.5 + 127.5
        label = ((mean_pixel - 14.5) / 25).round().clamp(0, 9).long()
        label = torch.zeros_like(label) if self.blind else label
        return torch.nn.functional.one_hot(label, 10).float()


def test_accuracy_of_classifiers_with_known_answers(tool, test_split):
    labels = np.array([test_split[i]['data_samples'].gt_label.item() for i in range(50)])
    rows = tool.accuracy_per_timestep(BrightnessClassifier(blind=True), test_split,
                                      [0, 200, 400], 50, 16, seed=0)
    for row in rows:
        assert row['count'] == 50 and row['correct'] == int((labels == 0).sum())
    model = BrightnessClassifier()
    rows = tool.accuracy_per_timestep(model, test_split, [0, 100, 499], 50, 16, seed=0)
    assert model.seen_timesteps == {0, 100, 499}
    # The noise on the mean of 784 pixels, un-noised, has std sqrt(1 - abar) / (28 sqrt(abar))
    # x_t units = 127.5 times that in pixels against a level spacing of 25: 0.02 pixels at
    # t = 0 and 3.3 at t = 100 (sqrt(abar) = 0.81), so every image is right; 700 pixels at
    # t = 499 (sqrt(abar) = 0.006), so the label is a guess, mostly clamped to 0 or 9.
    assert [r['accuracy'] for r in rows[:2]] == [1.0, 1.0]
    assert rows[2]['accuracy'] < 0.5
    abar = model.noise_scheduler.alphas_cumprod
    assert [r['signal'] for r in rows] == pytest.approx([float(abar[t].sqrt())
                                                         for t in (0, 100, 499)])


def test_noise_is_per_image_and_independent_of_the_batching(tool, test_split):
    first = tool.noise(3, [0, 1, 2], (1, 4, 4))
    assert torch.equal(tool.noise(3, [2], (1, 4, 4))[0], first[2])
    assert not torch.equal(first[0], first[1])
    assert not torch.equal(tool.noise(4, [0], (1, 4, 4))[0], first[0])
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model).eval()
    with torch.no_grad():
        for param in model.time_conditioning.projections.parameters():
            param.normal_()
    rows = [tool.accuracy_per_timestep(model, test_split, [0, 300], 30, size, seed=1)
            for size in (7, 30)]
    assert rows[0] == rows[1]


@pytest.fixture
def tiny_run(fashion_mnist_root, tmp_path):
    """The mini gt-labels config reading the fixture's test split, and a randomly initialised
    checkpoint of its model."""
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = fashion_mnist_root
    config = str(tmp_path / 'classifier.py')
    cfg.dump(config)
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with torch.no_grad():
        for param in model.time_conditioning.projections.parameters():
            param.normal_()
    checkpoint = str(tmp_path / 'classifier.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return config, checkpoint, model


def test_cli_prints_the_table_and_writes_json(tiny_run, test_split, tool, tmp_path):
    config, checkpoint, model = tiny_run
    out = tmp_path / 'reports' / 'accuracy.json'
    result = run_tool(TOOL, config, checkpoint, '--num-images', '40', '--batch-size', '16',
                      '--out', str(out))
    assert_ok(result)
    report = json.loads(out.read_text())
    assert report['num_images'] == 40 and report['seed'] == 0
    assert [r['t'] for r in report['rows']] == [0, 50, 100, 200, 300, 400]
    expected = tool.accuracy_per_timestep(model.eval(), test_split, [0, 50, 100, 200, 300, 400],
                                          40, 40, seed=0)
    assert report['rows'] == expected
    for row in report['rows']:
        line = (f"| {row['t']} | {row['signal']:.3f} | {100 * row['accuracy']:.1f}% | "
                f"{row['correct']} / 40 |")
        assert line in result.stdout


def test_bad_input_is_refused_before_anything_is_written(tiny_run, tool, tmp_path,
                                                         monkeypatch):
    config, checkpoint, model = tiny_run

    def run(*args):
        monkeypatch.setattr(sys, 'argv', ['tool', config, checkpoint, *args])
        tool.main()

    with pytest.raises(CdmxError, match=r'timesteps \[500\] are outside'):
        run('--timesteps', '0', '500')
    with pytest.raises(CdmxError, match='held-out set has 200 images'):
        run('--num-images', '201')
    with pytest.raises(CdmxError, match='is a folder'):
        run('--out', str(tmp_path))
    with pytest.raises(CdmxError, match='no test_dataloader'):
        run('--cfg-options', 'test_dataloader=None')
    # A checkpoint of the earlier classifier layout (time added after pooling).
    old = {k: v for k, v in model.state_dict().items() if not k.startswith('time_conditioning')}
    old['time_embedding.linear_1.weight'] = torch.zeros(64, 64)
    torch.save(dict(state_dict=old), checkpoint)
    out = tmp_path / 'old.json'
    with pytest.raises(CdmxError, match='earlier layout'):
        run('--out', str(out))
    assert not out.exists()
