"""Pseudo-label counts per class over training against the ground truth (DiffMatch Figs. 1, 8).

:class:`~cdmx.models.SemiSupervisedSegmentor` counts, per class, the pixels of its
pseudo-labels (buffer ``pseudo_counts``), of the ground truth of the unlabelled samples where
they carry one (``pseudo_gt_counts``, only for evaluation: it never enters training), the
pseudo-labels that agree with it (``pseudo_correct``) and the labelled ground truth
(``labelled_counts``). Every ``interval`` iterations this hook appends the cumulative counts
(already summed over the ranks by the model) and the unlabelled class prior ``p(y_0)``
(``unlabelled_prior``, Eq. 10) to ``<work_dir>/<log_file>`` (JSON: ``classes``, ``reference``
and ``records``, one per logging step with ``iter``, ``pseudo_counts``, ``pseudo_gt_counts``,
``pseudo_correct``, ``labelled_counts``, ``unlabelled_prior``), and at the end of training
plots them to ``<work_dir>/<plot_file>``
(:func:`~cdmx.visualization.pseudo_label_plot.plot_pseudo_label_stats`).

The ground truth the plot compares with is, in this order: ``reference_counts`` (a JSON file
with ``class_pixel_counts``, e.g. the scene tool's or ``make_semi_splits.py --count-pixels``'
counts of the whole training set), else the unlabelled ground truth the model counted, else the
labelled ground truth. The buffers live in checkpoints, so a resumed run continues the counts;
its log restarts at the resumed iteration.
"""
import json
import os
from typing import List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError
from cdmx.visualization.pseudo_label_plot import plot_pseudo_label_stats

COUNT_BUFFERS = ('pseudo_counts', 'pseudo_gt_counts', 'pseudo_correct', 'labelled_counts')


@HOOKS.register_module()
class PseudoLabelStatsHook(Hook):
    """Log and plot a semi-supervised segmentor's per-class pseudo-label counts.

    Args:
        interval (int): Record every ``interval`` training iterations (and after the last).
        reference_counts (str, optional): JSON file with ``class_pixel_counts`` (``C`` values),
            the ground truth to compare with (see the module docstring).
        log_file (str): JSON log, relative to the work dir.
        plot_file (str): PNG, relative to the work dir.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, reference_counts: Optional[str] = None,
                 log_file: str = 'pseudo_label_stats.json',
                 plot_file: str = 'pseudo_label_stats.png'):
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise CdmxError(f'PseudoLabelStatsHook interval is {interval!r}; give a positive '
                            'number of iterations.')
        self.interval = interval
        self.reference_counts = reference_counts
        self.log_file, self.plot_file = log_file, plot_file
        self.records: List[dict] = []

    @staticmethod
    def _segmentor(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        missing = [name for name in COUNT_BUFFERS + ('unlabelled_prior', )
                   if not isinstance(getattr(model, name, None), torch.Tensor)]
        if missing:
            raise CdmxError(f'PseudoLabelStatsHook needs a semi-supervised segmentor with the '
                            f'buffers {missing}, but the model is a {type(model).__name__}; '
                            'remove the hook from this config or use SemiSupervisedSegmentor.')
        return model

    def _reference(self, num_classes: int) -> Optional[List[float]]:
        if self.reference_counts is None:
            return None
        if not os.path.isfile(self.reference_counts):
            raise CdmxError(f'reference_counts {self.reference_counts} does not exist; give the '
                            'class_pixel_counts.json of the training set or leave it unset.')
        with open(self.reference_counts) as f:
            counts = json.load(f).get('class_pixel_counts')
        if not isinstance(counts, list) or len(counts) != num_classes:
            raise CdmxError(f'{self.reference_counts} does not hold class_pixel_counts with '
                            f'{num_classes} values (one per class); give the counts file of '
                            'this dataset.')
        return [float(c) for c in counts]

    def before_train(self, runner) -> None:
        model = self._segmentor(runner)
        self.num_classes = int(model.num_classes)
        self.reference = self._reference(self.num_classes)
        classes = getattr(runner.train_dataloader.dataset, 'metainfo', {}).get('classes')
        # Without class names in the dataset's metainfo the classes are named by their ids.
        self.classes = list(classes) if classes and len(classes) == self.num_classes \
            else [str(c) for c in range(self.num_classes)]
        self.records = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._record(runner)

    def _record(self, runner) -> None:
        model = self._segmentor(runner)
        record = dict(iter=runner.iter + 1)
        for name in COUNT_BUFFERS:
            # the model sums each iteration's counts over the ranks: every rank holds them all
            record[name] = getattr(model, name).detach().cpu().tolist()
        record['unlabelled_prior'] = model.unlabelled_prior.detach().float().cpu().tolist()
        if self.records and self.records[-1]['iter'] == record['iter']:
            return
        self.records.append(record)
        if is_main_process():
            with open(os.path.join(runner.work_dir, self.log_file), 'w') as f:
                json.dump(dict(classes=self.classes, reference=self.reference,
                               records=self.records), f, indent=1)

    def after_train(self, runner) -> None:
        if not is_main_process() or not self.records:
            return
        last = self.records[-1]
        if self.reference is not None:
            reference, name = self.reference, 'ground truth (reference counts)'
        elif sum(last['pseudo_gt_counts']) > 0:
            reference, name = last['pseudo_gt_counts'], 'ground truth (unlabelled)'
        else:
            reference, name = last['labelled_counts'], 'ground truth (labelled)'
        path = plot_pseudo_label_stats(self.records, self.classes, reference, name,
                                       os.path.join(runner.work_dir, self.plot_file))
        runner.logger.info(f'pseudo-label counts per class plotted to {path}')
