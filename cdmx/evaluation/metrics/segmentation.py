"""Segmentation metrics beyond mmseg's IoUMetric: head / tail mIoU (DiffMatch Table 6), expected
calibration error with its reliability diagram (Fig. 4) and the per-class confusion matrix.

Pictures go to ``out_dir/<name>_<iteration>.png`` when ``out_dir`` is given, else to the
Runner's visualizer (``add_image``: ``<work_dir>/<timestamp>/vis_data/vis_image/`` with the
default local backend).
"""
import json
import os
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger, print_log
from mmengine.visualization import Visualizer
from mmseg.evaluation import IoUMetric
from PIL import Image

from cdmx.registry import METRICS
from cdmx.utils.errors import CdmxError
from cdmx.visualization.segmentation_plots import confusion_matrix_image, reliability_diagram


def _publish(name: str, image: np.ndarray, out_dir: Optional[str]) -> None:
    """Save ``image`` (H, W, 3) uint8 as ``out_dir/name_<iter>.png`` or hand it to the
    current visualizer."""
    step = MessageHub.get_current_instance().get_info('iter') or 0
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        Image.fromarray(image).save(os.path.join(out_dir, f'{name}_{step}.png'))
        return
    try:
        visualizer = Visualizer.get_current_instance()
    except RuntimeError as err:
        raise CdmxError(f'the {name} picture has no visualizer to go to (none is built outside '
                        "a Runner); pass out_dir='...' to the metric or plot=False.") from err
    visualizer.add_image(name, image, step=step)


def _check_classes(data_sample: dict, num_classes: int) -> None:
    """Predictions must have one channel / label per class of the dataset."""
    logits = data_sample.get('seg_logits')
    if logits is not None and logits['data'].shape[0] != num_classes:
        raise CdmxError(f"the model predicts {logits['data'].shape[0]} classes but the dataset "
                        f'has {num_classes}; set the decode head num_classes={num_classes}.')
    pred = data_sample['pred_sem_seg']['data']
    if pred.numel() and int(pred.max()) >= num_classes:
        raise CdmxError(f'the model predicts class {int(pred.max())} but the dataset has '
                        f'{num_classes} classes (0-{num_classes - 1}); set the decode head '
                        f'num_classes={num_classes}.')


@METRICS.register_module()
class HeadTailIoUMetric(IoUMetric):
    """mmseg's IoUMetric plus the mean IoU of the most and least frequent classes (Table 6).

    Classes are ranked by their pixel count in the training set (``class_pixel_counts``);
    ``mIoU_head`` is the mean IoU (percent, NaN classes skipped as in mIoU) of the first
    ``num_head`` classes, ``mIoU_tail`` of the last ``num_tail``. Without training counts the
    ranking uses the ground-truth pixels of the evaluated set, which the metric counts anyway
    (``area_label``; a proxy where the evaluated set is drawn like the training set); the log
    names the ranking's source and the classes either way. Predictions whose classes disagree with the dataset's are
    refused (mmseg's ``histc`` would drop them silently).

    Args:
        class_pixel_counts (Sequence[int] | str, optional): Training pixels per class, or a JSON
            file holding that list (or a dict with key ``class_pixel_counts`` and optionally
            ``classes``), e.g. the ``class_pixel_counts.json`` of the mini world's tool.
        num_head (int): Number of head classes. Defaults to 5.
        num_tail (int): Number of tail classes. Defaults to 5.
        per_class (bool): Also return ``IoU.<class>`` for every class. Defaults to False.
        **kwargs: Arguments of mmseg's ``IoUMetric`` (``ignore_index``, ``iou_metrics``...).
    """

    def __init__(self, class_pixel_counts: Union[None, str, Sequence[int]] = None,
                 num_head: int = 5, num_tail: int = 5, per_class: bool = False, **kwargs):
        super().__init__(**kwargs)
        if 'mIoU' not in self.metrics:
            raise CdmxError(f"HeadTailIoUMetric needs 'mIoU' in iou_metrics (got "
                            f'{self.metrics}); add it.')
        if num_head < 1 or num_tail < 1:
            raise CdmxError(f'num_head={num_head} and num_tail={num_tail} must be positive.')
        self.class_pixel_counts = class_pixel_counts
        self.num_head, self.num_tail, self.per_class = num_head, num_tail, per_class

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            _check_classes(data_sample, num_classes)
        super().process(data_batch, data_samples)

    def training_counts(self, evaluated_counts: np.ndarray) -> np.ndarray:
        """The counts that rank the classes: the configured ones, else ``evaluated_counts``."""
        classes = list(self.dataset_meta['classes'])
        counts = self.class_pixel_counts
        if counts is None:
            return evaluated_counts
        if isinstance(counts, str):
            if not os.path.isfile(counts):
                raise CdmxError(f'class pixel count file {counts} does not exist; write it with '
                                'the dataset tool (make_fashion_scenes.py, make_semi_splits.py '
                                '--count-pixels) or give the counts as a list.')
            with open(counts) as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                if loaded.get('classes', classes) != classes:
                    raise CdmxError(f'class pixel count file {counts} is for classes '
                                    f"{loaded['classes']}, not the dataset's {classes}; give "
                                    "the file of this dataset's training set.")
                loaded = loaded.get('class_pixel_counts')
            counts = loaded
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (len(classes), ):
            raise CdmxError(f'class_pixel_counts has {counts.size} entries but the dataset has '
                            f'{len(classes)} classes; give one count per class.')
        return counts

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        intersect, union, _, label = (sum(area) for area in zip(*results))
        iou = (intersect / union).numpy()
        classes = list(self.dataset_meta['classes'])
        if self.num_head + self.num_tail > len(classes):
            raise CdmxError(f'num_head={self.num_head} + num_tail={self.num_tail} exceed the '
                            f'{len(classes)} classes; lower them.')
        counts = self.training_counts(label.numpy())
        order = np.argsort(-counts, kind='stable')
        head, tail = order[:self.num_head], order[len(order) - self.num_tail:]
        source = 'evaluated ground truth' if self.class_pixel_counts is None else 'training set'
        print_log(f'head classes ({source} pixels): {[classes[i] for i in head]}; tail classes: '
                  f'{[classes[i] for i in tail]}', MMLogger.get_current_instance())
        with np.errstate(invalid='ignore'):
            metrics['mIoU_head'] = float(np.round(np.nanmean(iou[head]) * 100, 2))
            metrics['mIoU_tail'] = float(np.round(np.nanmean(iou[tail]) * 100, 2))
        if self.per_class:
            metrics.update({f'IoU.{name}': float(np.round(value * 100, 2))
                            for name, value in zip(classes, iou)})
        return metrics


@METRICS.register_module()
class CalibrationMetric(BaseMetric):
    """Expected calibration error of the per-pixel predictions and its reliability diagram.

    Each valid pixel (ground truth not ``ignore_index``) has confidence ``c = max_k p_k`` of
    ``p = softmax(seg_logits)`` over the C channels (or ``p = seg_logits`` with
    ``softmax=False``), prediction ``argmax_k p_k`` and is put in bin ``b = min(floor(B c),
    B - 1)`` of ``B`` equal bins. With ``n_b`` pixels, accuracy ``acc_b`` and mean confidence
    ``conf_b`` per bin and ``N`` pixels in all (Naeini et al. 2015; Guo et al. 2017):

        ECE = sum_b (n_b / N) |acc_b - conf_b|,      MCE = max_{b: n_b > 0} |acc_b - conf_b|

    both returned in percent. Each image stores three B-vectors, not its pixels.

    Args:
        num_bins (int): Number of confidence bins B. Defaults to 15.
        ignore_index (int): Label of pixels left out. Defaults to 255.
        softmax (bool): Apply a softmax to ``seg_logits`` first. Defaults to True.
        plot (bool): Draw the reliability diagram. Defaults to True.
        out_dir (str, optional): Folder of the PNG; the visualizer when None.
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names.
    """

    def __init__(self, num_bins: int = 15, ignore_index: int = 255, softmax: bool = True,
                 plot: bool = True, out_dir: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_bins < 1:
            raise CdmxError(f'CalibrationMetric num_bins={num_bins} must be positive.')
        self.num_bins, self.ignore_index, self.softmax = num_bins, ignore_index, softmax
        self.plot, self.out_dir = plot, out_dir

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            if 'seg_logits' not in data_sample:
                raise CdmxError('CalibrationMetric needs seg_logits in the predictions; keep '
                                "them in the segmentor's predict (mmseg's postprocess_result "
                                'does) or drop the metric.')
            _check_classes(data_sample, num_classes)
            scores = data_sample['seg_logits']['data'].float()
            label = data_sample['gt_sem_seg']['data'].squeeze(0).to(scores.device)
            if scores.shape[1:] != label.shape:
                raise CdmxError(f'seg_logits of size {tuple(scores.shape[1:])} do not match the '
                                f'ground truth {tuple(label.shape)}; resize the logits to the '
                                'original image in the segmentor.')
            probs = scores.softmax(dim=0) if self.softmax else scores
            confidence, pred = probs.max(dim=0)
            valid = label != self.ignore_index
            confidence = confidence[valid].double()
            correct = (pred[valid] == label[valid]).double()
            bins = (confidence * self.num_bins).long().clamp_(0, self.num_bins - 1)
            stats = [torch.bincount(bins, weights=w, minlength=self.num_bins)
                     for w in (None, confidence, correct)]
            self.results.append(torch.stack([s.double() for s in stats]).cpu().numpy())

    def compute_metrics(self, results: list) -> dict:
        counts, confidence_sums, correct_sums = np.sum(results, axis=0)
        total = counts.sum()
        if total == 0:
            raise CdmxError('CalibrationMetric saw no valid pixel; check ignore_index and the '
                            'ground truth of the evaluated set.')
        ece = float(np.abs(correct_sums - confidence_sums).sum() / total) * 100
        filled = counts > 0
        gaps = np.abs(correct_sums[filled] - confidence_sums[filled]) / counts[filled]
        if self.plot:
            _publish('reliability_diagram',
                     reliability_diagram(counts, confidence_sums, correct_sums, ece), self.out_dir)
        return dict(ECE=round(ece, 2), MCE=round(float(gaps.max()) * 100, 2))


@METRICS.register_module()
class SegConfusionMatrix(BaseMetric):
    """The per-class pixel confusion matrix ``M[gt, pred]`` over the evaluated set, drawn
    row-normalised as a PNG (per class: where its pixels go). Its output is the picture, so it
    returns no number.

    Args:
        ignore_index (int): Label of pixels left out. Defaults to 255.
        out_dir (str, optional): Folder of the PNG; the visualizer when None.
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names.
    """

    def __init__(self, ignore_index: int = 255, out_dir: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index, self.out_dir = ignore_index, out_dir

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            _check_classes(data_sample, num_classes)
            pred = data_sample['pred_sem_seg']['data'].squeeze(0)
            label = data_sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
            valid = label != self.ignore_index
            flat = label[valid].long() * num_classes + pred[valid].long()
            matrix = torch.bincount(flat, minlength=num_classes ** 2)
            self.results.append(matrix.reshape(num_classes, num_classes).cpu().numpy())

    def compute_metrics(self, results: list) -> dict:
        matrix = np.sum(results, axis=0)
        _publish('confusion_matrix',
                 confusion_matrix_image(matrix, self.dataset_meta['classes']), self.out_dir)
        return {}
