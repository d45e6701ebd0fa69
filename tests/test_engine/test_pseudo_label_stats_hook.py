"""PseudoLabelStatsHook: records of a semi-supervised segmentor's pseudo-label buffers, the JSON
log and the plot (the hook inside a real Runner and SemiSupervisedSegmentor runs in
tests/test_tools/test_diffmatch_pipeline.py)."""
import json
import logging
import os
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from cdmx.engine.hooks import PseudoLabelStatsHook
from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError
from cdmx.visualization.pseudo_label_plot import plot_pseudo_label_stats

C = 3


class Buffers(torch.nn.Module):
    """The buffers SemiSupervisedSegmentor keeps, filled by hand."""

    def __init__(self):
        super().__init__()
        self.num_classes = C
        for name in ('pseudo_counts', 'pseudo_gt_counts', 'pseudo_correct', 'labelled_counts'):
            self.register_buffer(name, torch.zeros(C, dtype=torch.float64))
        self.register_buffer('unlabelled_prior', torch.full((C, ), 1 / C))


def fake_runner(tmp_path, model, max_iters=5):
    dataset = SimpleNamespace(metainfo=dict(classes=('road', 'car', 'bike')))
    return SimpleNamespace(model=model, iter=0, max_iters=max_iters, work_dir=str(tmp_path),
                           train_dataloader=SimpleNamespace(dataset=dataset),
                           logger=logging.getLogger('test_pseudo_label_stats'))


def train(hook, runner, steps):
    """``steps`` iterations; iteration i adds pseudo-labels (10 i, i, 0) and ground truth
    (8 i, 2 i, i)."""
    hook.before_train(runner)
    for i in range(steps):
        runner.iter = i
        runner.model.pseudo_counts += torch.tensor([10.0 * (i + 1), i + 1, 0], dtype=torch.float64)
        runner.model.pseudo_gt_counts += torch.tensor([8.0, 2, 1], dtype=torch.float64) * (i + 1)
        hook.after_train_iter(runner, i)
    hook.after_train(runner)


def test_records_every_interval_and_the_last_iteration_then_plots(tmp_path):
    hook = HOOKS.build(dict(type='PseudoLabelStatsHook', interval=2))
    runner = fake_runner(tmp_path, Buffers(), max_iters=5)
    train(hook, runner, 5)
    with open(tmp_path / 'pseudo_label_stats.json') as f:
        log = json.load(f)
    assert log['classes'] == ['road', 'car', 'bike'] and log['reference'] is None
    assert [r['iter'] for r in log['records']] == [2, 4, 5]
    # cumulative counts: sum over i = 1..4 of (10 i, i, 0)
    assert log['records'][1]['pseudo_counts'] == [100.0, 10.0, 0.0]
    assert log['records'][2]['pseudo_gt_counts'] == [120.0, 30.0, 15.0]
    assert log['records'][0]['unlabelled_prior'] == pytest.approx([1 / 3] * 3)
    assert Image.open(tmp_path / 'pseudo_label_stats.png').size == (1300, 480)


def test_reference_counts_file(tmp_path):
    counts = tmp_path / 'counts.json'
    counts.write_text(json.dumps(dict(class_pixel_counts=[900, 90, 10])))
    hook = PseudoLabelStatsHook(interval=10, reference_counts=str(counts),
                                log_file='stats.json', plot_file='plots/stats.png')
    train(hook, fake_runner(tmp_path, Buffers(), max_iters=3), 3)
    with open(tmp_path / 'stats.json') as f:
        log = json.load(f)
    assert log['reference'] == [900.0, 90.0, 10.0] and [r['iter'] for r in log['records']] == [3]
    assert os.path.isfile(tmp_path / 'plots' / 'stats.png')
    counts.write_text(json.dumps(dict(class_pixel_counts=[1, 2])))
    with pytest.raises(CdmxError, match='does not hold class_pixel_counts with 3 values'):
        hook.before_train(fake_runner(tmp_path, Buffers()))
    hook = PseudoLabelStatsHook(reference_counts=str(tmp_path / 'none.json'))
    with pytest.raises(CdmxError, match='none.json does not exist'):
        hook.before_train(fake_runner(tmp_path, Buffers()))


def test_bad_settings_and_models():
    with pytest.raises(CdmxError, match='interval is 0'):
        PseudoLabelStatsHook(interval=0)
    with pytest.raises(CdmxError, match='the model is a Linear'):
        PseudoLabelStatsHook().before_train(fake_runner('.', torch.nn.Linear(1, 1)))
    with pytest.raises(CdmxError, match='no record to plot'):
        plot_pseudo_label_stats([], ['a'], None, 'gt', 'x.png')
    with pytest.raises(CdmxError, match='2 classes but 3 class names'):
        plot_pseudo_label_stats([dict(iter=1, pseudo_counts=[1, 2])], ['a', 'b', 'c'], None,
                                'gt', 'x.png')
