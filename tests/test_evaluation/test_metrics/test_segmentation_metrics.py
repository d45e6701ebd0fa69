"""HeadTailIoUMetric, CalibrationMetric and SegConfusionMatrix on hand-made predictions."""
import glob
import json
import os

import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from mmseg.evaluation import IoUMetric
from PIL import Image

from cdmx.evaluation.metrics import CalibrationMetric, HeadTailIoUMetric, SegConfusionMatrix
from cdmx.utils.errors import CdmxError

CLASSES = ('road', 'car', 'bike', 'rider')


def sample(gt, pred, logits=None):
    out = dict(gt_sem_seg=dict(data=torch.as_tensor(gt)[None]),
               pred_sem_seg=dict(data=torch.as_tensor(pred)[None]))
    if logits is not None:
        out['seg_logits'] = dict(data=torch.as_tensor(logits, dtype=torch.float32))
    return out


def long_tailed_pair():
    """Ground truth with 60 / 30 / 6 / 4 pixels of road / car / bike / rider (and 4 ignored);
    the prediction gets road and car right and calls every rider pixel a bike."""
    gt = np.array([0] * 60 + [1] * 30 + [2] * 6 + [3] * 4 + [255] * 4).reshape(8, 13)
    pred = np.where(gt == 3, 2, np.where(gt == 255, 1, gt))
    return gt, pred


def evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_head_and_tail_miou_from_training_counts(tmp_path):
    gt, pred = long_tailed_pair()
    # IoU: road 1, car 1, bike 6 / 10, rider 0; training counts rank car > road > bike > rider.
    metrics = evaluate(HeadTailIoUMetric(class_pixel_counts=[50, 90, 5, 1], num_head=2,
                                         num_tail=2, per_class=True), [sample(gt, pred)])
    assert metrics['mIoU'] == pytest.approx(100 * (1 + 1 + 0.6 + 0) / 4)
    assert metrics['mIoU_head'] == 100.0
    assert metrics['mIoU_tail'] == pytest.approx(30.0)
    assert metrics['IoU.bike'] == 60.0 and metrics['IoU.rider'] == 0.0
    reference = IoUMetric()
    reference.dataset_meta = dict(classes=CLASSES)
    reference.process({}, [sample(gt, pred)])
    assert reference.compute_metrics(reference.results)['mIoU'] == metrics['mIoU']
    # Counts from the JSON file the dataset tools write; a different ranking changes the tail.
    path = str(tmp_path / 'counts.json')
    with open(path, 'w') as f:
        json.dump(dict(classes=list(CLASSES), class_pixel_counts=[1, 2, 3, 4]), f)
    by_file = evaluate(HeadTailIoUMetric(class_pixel_counts=path, num_head=1, num_tail=1),
                       [sample(gt, pred)])
    assert by_file['mIoU_head'] == 0.0 and by_file['mIoU_tail'] == 100.0


def test_without_counts_the_evaluated_pixels_rank_the_classes():
    gt, pred = long_tailed_pair()
    metrics = evaluate(HeadTailIoUMetric(num_head=1, num_tail=1), [sample(gt, pred)])
    assert metrics['mIoU_head'] == 100.0 and metrics['mIoU_tail'] == 0.0  # road, rider


def test_head_tail_bad_input(tmp_path):
    gt, pred = long_tailed_pair()
    with pytest.raises(CdmxError, match='4 classes; give one count per class'):
        evaluate(HeadTailIoUMetric(class_pixel_counts=[1, 2, 3], num_head=1, num_tail=1),
                 [sample(gt, pred)])
    with pytest.raises(CdmxError, match='does not exist'):
        evaluate(HeadTailIoUMetric(class_pixel_counts=str(tmp_path / 'x.json'), num_head=1,
                                   num_tail=1), [sample(gt, pred)])
    with pytest.raises(CdmxError, match='exceed the 4 classes'):
        evaluate(HeadTailIoUMetric(), [sample(gt, pred)])  # 5 + 5 > 4
    with pytest.raises(CdmxError, match='predicts class 4 but the dataset has 4 classes'):
        evaluate(HeadTailIoUMetric(num_head=1, num_tail=1), [sample(gt, np.full_like(gt, 4))])
    with pytest.raises(CdmxError, match='predicts 19 classes but the dataset has 4'):
        evaluate(HeadTailIoUMetric(num_head=1, num_tail=1),
                 [sample(gt, pred, np.zeros((19, 8, 13)))])
    with pytest.raises(CdmxError, match="needs 'mIoU'"):
        HeadTailIoUMetric(iou_metrics=['mDice'])


def test_expected_calibration_error_by_hand(tmp_path):
    """Probabilities given directly: 4 pixels at confidence 0.9 (3 right) and 4 at 0.6 (2
    right), 2 ignored: ECE = 4/8 |0.75 - 0.9| + 4/8 |0.5 - 0.6| = 12.5%, MCE = 15%."""
    confidence = np.array([0.9] * 4 + [0.6] * 4 + [0.99, 0.99])
    probs = np.zeros((4, 10))
    probs[0], probs[1] = confidence, 1 - confidence  # class 0 predicted everywhere
    gt = np.array([0, 0, 0, 1, 0, 0, 1, 1, 255, 255])
    metric = CalibrationMetric(num_bins=10, softmax=False, out_dir=str(tmp_path))
    metrics = evaluate(metric, [sample(gt[None], np.zeros((1, 10), int), probs[:, None])])
    assert metrics['ECE'] == pytest.approx(12.5) and metrics['MCE'] == pytest.approx(15.0)
    # Named after the MessageHub's current iteration (0 alone, another test's count in a suite).
    pictures = glob.glob(str(tmp_path / 'reliability_diagram_*.png'))
    assert len(pictures) == 1
    picture = Image.open(pictures[0])
    assert picture.size == (450, 450)


def test_calibration_of_softmax_logits_matches_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 16, 16)) * 3
    gt = rng.integers(0, 4, size=(16, 16))
    probs = np.exp(logits) / np.exp(logits).sum(0)
    conf, pred = probs.max(0).ravel(), probs.argmax(0).ravel()
    bins = np.minimum((conf * 15).astype(int), 14)
    ece = sum(abs((pred[bins == b] == gt.ravel()[bins == b]).sum() - conf[bins == b].sum())
              for b in range(15)) / conf.size
    metrics = evaluate(CalibrationMetric(plot=False),
                       [sample(gt, probs.argmax(0), logits)])
    assert metrics['ECE'] == pytest.approx(round(100 * ece, 2))


def test_calibration_needs_logits_of_the_ground_truth_size():
    gt, pred = long_tailed_pair()
    with pytest.raises(CdmxError, match='needs seg_logits'):
        evaluate(CalibrationMetric(plot=False), [sample(gt, pred)])
    with pytest.raises(CdmxError, match='do not match the ground truth'):
        evaluate(CalibrationMetric(plot=False), [sample(gt, pred, np.zeros((4, 4, 4)))])


def test_confusion_matrix_counts_and_picture(tmp_path):
    gt, pred = long_tailed_pair()
    Visualizer.get_instance('seg_metric_test', vis_backends=[dict(type='LocalVisBackend')],
                            save_dir=str(tmp_path))
    metric = SegConfusionMatrix()
    assert evaluate(metric, [sample(gt, pred), sample(gt, pred)]) == {}
    expected = np.diag([120, 60, 12, 0])
    expected[3, 2] = 8
    assert (np.sum(metric.results, axis=0) == expected).all()
    written = glob.glob(os.path.join(str(tmp_path), 'vis_data', 'vis_image',
                                     'confusion_matrix_*.png'))
    assert len(written) == 1 and Image.open(written[0]).size[0] >= 500
