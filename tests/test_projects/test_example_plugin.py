"""projects/example_plugin: installed as a third party would, used from its config."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from scipy.optimize import linear_sum_assignment

from cdmx.registry import HEADS, MATCHERS, MODELS
from cdmx.utils.errors import CdmxError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO_ROOT, 'projects', 'example_plugin')
CONFIG = os.path.join(PROJECT, 'configs', 'greedy-matcher_cosine-head.py')
PACKAGE = 'cdmx_example_plugin'


def forget_plugin():
    """Undo the import: registries and sys.modules are process-wide."""
    MATCHERS._module_dict.pop('GreedyMatcher', None)
    HEADS._module_dict.pop('CosineClsHead', None)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + '.')]:
        del sys.modules[name]


@pytest.fixture(scope='module')
def site_dir(tmp_path_factory):
    """The project copied outside the repo and installed from there with pip into a fresh directory.

    The copy keeps pip's in-tree build files out of the repository.
    """
    source = tmp_path_factory.mktemp('plugin_src') / 'example_plugin'
    shutil.copytree(PROJECT, source, ignore=shutil.ignore_patterns('__pycache__', 'build',
                                                                   '*.egg-info'))
    target = tmp_path_factory.mktemp('plugin_site')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index',
                    '--no-build-isolation', '--target', str(target), str(source)], check=True)
    return str(target)


@pytest.fixture(scope='module')
def cfg(site_dir):
    """The project's config, read with the installed package (not the source tree) on sys.path."""
    forget_plugin()
    assert MATCHERS.get('GreedyMatcher') is None and HEADS.get('CosineClsHead') is None
    sys.path.insert(0, site_dir)
    try:
        yield Config.fromfile(CONFIG)
    finally:
        sys.path.remove(site_dir)
        forget_plugin()


@pytest.fixture(autouse=True)
def cdmx_scope():
    init_default_scope('cdmx')


def test_config_imports_the_installed_package(cfg, site_dir):
    module = sys.modules[PACKAGE]
    assert module.__file__.startswith(site_dir)
    assert MATCHERS.get('GreedyMatcher') is module.GreedyMatcher
    assert HEADS.get('CosineClsHead') is module.CosineClsHead


def test_greedy_matcher_takes_the_largest_entries_first(cfg):
    matcher = MATCHERS.build(cfg.matcher)
    priority = np.array([[10., 9.], [9., 1.]])
    # Greedy takes 10 then is left with 1 (total 11); the optimum pairs the two 9s (18).
    assert matcher(priority).tolist() == [0, 1]
    rows, cols = linear_sum_assignment(priority, maximize=True)
    assert cols.tolist() == [1, 0]


def test_greedy_matcher_is_optimal_on_a_dominant_assignment(cfg):
    rng = np.random.default_rng(0)
    permutation = rng.permutation(6)
    priority = rng.random((6, 6))
    priority[np.arange(6), permutation] += 10
    matcher = MATCHERS.build(cfg.matcher)
    assert matcher(priority).tolist() == permutation.tolist()
    assert matcher(torch.as_tensor(priority)).tolist() == permutation.tolist()


def test_greedy_matcher_rectangular_and_costs(cfg):
    rng = np.random.default_rng(1)
    priority = rng.random((5, 3))
    assignment = MATCHERS.build(cfg.matcher)(priority)
    assigned = assignment[assignment >= 0]
    assert sorted(assigned.tolist()) == [0, 1, 2] and (assignment == -1).sum() == 2
    # Each pick is the best entry among the rows and columns still free when it was made.
    picks = sorted(((priority[r, c], r, c) for r, c in enumerate(assignment) if c >= 0),
                   reverse=True)
    free_rows, free_cols = set(range(5)), set(range(3))
    for value, row, col in picks:
        assert value == max(priority[r, c] for r in free_rows for c in free_cols)
        free_rows.discard(row)
        free_cols.discard(col)
    as_costs = MATCHERS.build(dict(type='GreedyMatcher', maximize=False))(-priority)
    assert as_costs.tolist() == assignment.tolist()


@pytest.mark.parametrize('bad', [np.zeros(3), np.zeros((0, 2)), np.array([[1., np.nan]])])
def test_greedy_matcher_rejects_bad_matrices(cfg, bad):
    with pytest.raises(CdmxError):
        MATCHERS.build(cfg.matcher)(bad)


def test_cosine_head_scores_are_scaled_cosines(cfg):
    torch.manual_seed(0)
    head = HEADS.build(cfg.head)
    head.init_weights()
    feats = torch.randn(8, cfg.head.in_channels)
    logits = head((feats, ))
    assert logits.shape == (8, cfg.head.num_classes)
    assert logits.abs().max() <= cfg.head.scale + 1e-5
    assert torch.allclose(head((3.0 * feats, )), logits, atol=1e-5)  # scale-invariant in f
    weight = torch.nn.functional.normalize(head.fc.weight, dim=1)
    expected = cfg.head.scale * torch.nn.functional.normalize(feats, dim=1) @ weight.T
    assert torch.allclose(logits, expected, atol=1e-5)


def test_cosine_head_learns_through_mmpretrain_loss_and_predict(cfg):
    torch.manual_seed(0)
    head = HEADS.build(cfg.head)
    head.init_weights()
    # Two classes whose features point in different directions.
    centres = torch.randn(2, cfg.head.in_channels)
    labels = torch.arange(32) % 2
    feats = centres[labels] + 0.3 * torch.randn(32, cfg.head.in_channels)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        loss = head.loss((feats, ), samples)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    predictions = head.predict((feats, ))
    assert [int(p.pred_label) for p in predictions] == labels.tolist()


def test_cosine_head_rejects_bad_arguments(cfg):
    with pytest.raises(CdmxError):
        HEADS.build(dict(type='CosineClsHead', num_classes=2, in_channels=8, scale=0))


def test_cosine_head_inside_a_model_config(cfg):
    """The plugin's head as ``model.head`` of mmpretrain's ImageClassifier, built through MODELS."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert isinstance(model.head, sys.modules[PACKAGE].CosineClsHead)
    inputs = torch.randn(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i % 2) for i in range(4)]
    losses = model(inputs, samples, mode='loss')
    assert torch.isfinite(losses['loss'])
    scores = model(inputs, mode='tensor')
    assert scores.shape == (4, cfg.head.num_classes)
