"""OpenSetMetric: accuracies and balance by hand, the predictions CSV re-scored independently,
the path from UCDMClassifier predictions through mmengine's Evaluator, and bad input."""
import csv
import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from cdmx.evaluation.metrics import OpenSetMetric
from cdmx.registry import METRICS, MODELS
from cdmx.utils.errors import CdmxError

K = 2
# (kind, true_class, gt_label, closed_pred, open_pred), K = 2 known classes, "other" = 2.
# known: closed right on 3 of 4, open right on 2 of 4; unknown: 1 of 2; new: 2 of 2.
ROWS = [('known', 0, 0, 0, 0), ('known', 7, 1, 1, 2), ('known', 0, 0, 0, 1),
        ('known', 7, 1, 0, 1), ('unknown', 3, 2, 1, 2), ('unknown', 4, 2, 0, 0),
        ('new', 5, 2, 1, 2), ('new', 9, 2, 0, 2)]


def sample_dicts(order):
    """What mmengine's Evaluator hands a metric: DataSample.to_dict() of each prediction."""
    out = []
    for i in order:
        kind, true_class, gt, closed, opened = ROWS[i]
        sample = DataSample(metainfo=dict(dataset_idx=i, kind=kind, true_class=true_class))
        sample.set_gt_label(gt).set_pred_score(torch.full((K, ), 1 / K)).set_pred_label(closed)
        sample.set_field(torch.full((K + 1, ), 1 / (K + 1)), 'open_score')
        sample.set_field(torch.tensor([opened]), 'open_label')
        out.append(sample.to_dict())
    return out


def rescore(path):
    """An independent reading of the documented CSV: only the csv module and arithmetic."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    known = [r for r in rows if r['kind'] == 'known']
    closed = 100 * sum(r['closed_pred'] == r['gt_label'] for r in known) / len(known)
    opened = []
    for kind in ('known', 'unknown', 'new'):
        part = [r for r in rows if r['kind'] == kind]
        opened.append(100 * sum(r['open_pred'] == r['gt_label'] for r in part) / len(part))
    mean = sum(opened) / 3
    std = math.sqrt(sum((a - mean) ** 2 for a in opened) / 2)  # sample std (n - 1), as the paper
    return rows, dict(closed_accuracy=closed, open_known=opened[0], open_unknown=opened[1],
                      open_new=opened[2], balance=mean - std)


def test_values_by_hand_and_csv_rescored(tmp_path):
    out_file = str(tmp_path / 'deep' / 'predictions.csv')
    metric = METRICS.build(dict(type='OpenSetMetric', out_file=out_file))
    metric.process({}, sample_dicts([5, 0, 7, 2, 1, 6, 3, 4]))  # any order, e.g. across ranks
    results = metric.evaluate(len(ROWS))
    mean = (50 + 50 + 100) / 3
    std = math.sqrt(((50 - mean) ** 2 * 2 + (100 - mean) ** 2) / 2)  # sample std (n - 1)
    expected = dict(closed_accuracy=75.0, open_known=50.0, open_unknown=50.0, open_new=100.0,
                    balance=mean - std)
    assert results == {f'open_set/{k}': pytest.approx(v) for k, v in expected.items()}
    rows, rescored = rescore(out_file)
    assert rescored == pytest.approx(expected)
    assert list(rows[0]) == ['index', 'true_class', 'kind', 'gt_label', 'closed_pred',
                             'open_pred']
    assert [int(r['index']) for r in rows] == list(range(len(ROWS)))
    assert [(r['kind'], int(r['true_class']), int(r['gt_label']), int(r['closed_pred']),
             int(r['open_pred'])) for r in rows] == ROWS


def test_ucdm_predictions_through_the_evaluator(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='UCDMClassifier', backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        closed_head=dict(type='ClosedSetHead', num_classes=K, in_channels=64),
        open_head=dict(type='OpenSetHead', num_classes=K, in_channels=64))).eval()
    samples = [DataSample(metainfo=dict(dataset_idx=i, kind=kind, true_class=tc))
               .set_gt_label(gt) for i, (kind, tc, gt, _, _) in enumerate(ROWS)]
    with torch.no_grad():
        predicted = model(torch.randn(len(ROWS), 3, 8, 8), samples, mode='predict')
    out_file = str(tmp_path / 'predictions.csv')
    evaluator = Evaluator(OpenSetMetric(out_file=out_file))
    evaluator.process(predicted)
    results = evaluator.evaluate(len(ROWS))
    rows, rescored = rescore(out_file)
    assert results == {f'open_set/{k}': pytest.approx(v) for k, v in rescored.items()}
    assert [int(r['open_pred']) for r in rows] == [int(s.open_label) for s in predicted]
    assert [int(r['closed_pred']) for r in rows] == [int(s.pred_label) for s in predicted]


def test_missing_fields_kinds_and_labels(tmp_path):
    metric = OpenSetMetric(out_file=str(tmp_path / 'p.csv'))
    incomplete = sample_dicts([0])
    del incomplete[0]['kind']
    with pytest.raises(CdmxError, match='meta_keys'):
        metric.process({}, incomplete)
    metric.process({}, sample_dicts([0, 1, 4]))
    with pytest.raises(CdmxError, match="part='test'"):
        metric.evaluate(3)
    metric = OpenSetMetric(out_file=str(tmp_path / 'p.csv'))  # a failed evaluate keeps results
    wrong = sample_dicts(range(len(ROWS)))
    wrong[6]['gt_label'] = torch.tensor([0])
    metric.process({}, wrong)
    with pytest.raises(CdmxError, match='gt_label 2'):
        metric.evaluate(len(ROWS))
    with pytest.raises(CdmxError, match='out_file'):
        OpenSetMetric(out_file='')
