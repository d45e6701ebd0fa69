"""UCDM's evaluation (Du et al., ICML 2025, §4.1): closed-set accuracy, open-set accuracy per
kind of test image and the balance score, plus a per-sample predictions file anyone can
re-score.

Each test sample (a ``DataSample`` from :class:`cdmx.models.classifiers.UCDMClassifier` in
``predict`` mode over ``MismatchDataset(part='test')``) carries ``gt_label`` (0..K-1 for the K
known classes, K for unknown and new), ``pred_label`` (closed-set argmax), ``open_label``
(argmax of q, Eq. 10; K = "other") and the metainfo ``dataset_idx``, ``kind`` and
``true_class`` (the test pipeline's ``PackInputs`` must keep them in ``meta_keys``). Metrics, in
percent:

- ``closed_accuracy``: ``pred_label == gt_label`` over the known-class images (K-way);
- ``open_known`` / ``open_unknown`` / ``open_new``: ``open_label == gt_label`` over the known,
  unknown and new images (K+1-way; unknown and new are right when predicted "other" = K);
- ``balance``: ``mean - std`` of those three open-set accuracies, with the sample standard
  deviation (divisor n - 1 = 2, ``statistics.stdev``): the paper's tables only come out with it
  (Tiny-ImageNet 60%, Table 4: 15.8 / 94.9 / 95.4 -> 22.9; the population std would give 31.3).

Predictions file (CSV, UTF-8, one header row, one row per test image, sorted by ``index``)::

    index,true_class,kind,gt_label,closed_pred,open_pred

``index``: position in the test dataset (``dataset_idx``); ``true_class``: class id in the
wrapped dataset; ``kind``: known | unknown | new; ``gt_label``: 0..K-1, or K for unknown and new;
``closed_pred``: 0..K-1; ``open_pred``: 0..K, K meaning "other". Re-scoring needs only this
file: a row is closed-set correct when ``closed_pred == gt_label`` (known rows) and open-set
correct when ``open_pred == gt_label``.
"""
import csv
import os
import statistics
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from cdmx.registry import METRICS
from cdmx.utils.errors import CdmxError

KINDS = ('known', 'unknown', 'new')
COLUMNS = ('index', 'true_class', 'kind', 'gt_label', 'closed_pred', 'open_pred')
_META = ('dataset_idx', 'kind', 'true_class')


def _int(value) -> int:
    """An int from a Python number or a one-element tensor/array."""
    return int(value.reshape(-1)[0]) if hasattr(value, 'reshape') else int(value)


@METRICS.register_module()
class OpenSetMetric(BaseMetric):
    """Closed-set accuracy, open-set accuracy on known / unknown / new images, balance score.

    Args:
        out_file (str): Path of the predictions CSV (its folder is created), e.g.
            ``'work_dirs/<config>/predictions.csv'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are gathered across ranks.
        prefix (str, optional): Prefix of the metric names; defaults to ``'open_set'``.
    """

    default_prefix = 'open_set'

    def __init__(self, out_file: str, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(out_file, str) or not out_file:
            raise CdmxError(f'OpenSetMetric out_file is {out_file!r}; give the path of the '
                            "predictions CSV, e.g. 'work_dirs/ucdm/predictions.csv'.")
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep one row of :data:`COLUMNS` (plus K) per predicted sample."""
        for sample in data_samples:
            missing = [k for k in _META + ('gt_label', 'pred_label', 'open_label',
                                           'open_score') if k not in sample]
            if missing:
                raise CdmxError(f'a test sample lacks {missing}; evaluate a UCDMClassifier on '
                                "MismatchDataset(part='test') and keep 'dataset_idx', 'kind' and "
                                "'true_class' in the test pipeline's PackInputs meta_keys.")
            self.results.append(dict(
                index=_int(sample['dataset_idx']), true_class=_int(sample['true_class']),
                kind=str(sample['kind']), gt_label=_int(sample['gt_label']),
                closed_pred=_int(sample['pred_label']), open_pred=_int(sample['open_label']),
                num_classes=len(sample['open_score']) - 1))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the predictions CSV, then score the rows as the module docstring states."""
        rows = sorted(results, key=lambda r: r['index'])
        num_classes = rows[0]['num_classes']
        by_kind = {kind: [r for r in rows if r['kind'] == kind] for kind in KINDS}
        others = sorted({r['kind'] for r in rows} - set(KINDS))
        absent = [kind for kind, kind_rows in by_kind.items() if not kind_rows]
        if others:
            raise CdmxError(f'test samples have kinds {others} outside {KINDS}; evaluate on '
                            "MismatchDataset(part='test'), whose kinds are those three.")
        if absent:
            raise CdmxError(f'the test set has no {absent} images; evaluate on '
                            "MismatchDataset(part='test'), which holds known, unknown and new "
                            'images.')
        for kind in ('unknown', 'new'):
            if any(r['gt_label'] != num_classes for r in by_kind[kind]):
                raise CdmxError(f'{kind} test images must have gt_label {num_classes} ("other"); '
                                'evaluate on MismatchDataset, which labels them so.')
        self._write(rows)

        def accuracy(kind_rows: List[dict], pred: str) -> float:
            return 100.0 * sum(r[pred] == r['gt_label'] for r in kind_rows) / len(kind_rows)

        opened = {kind: accuracy(by_kind[kind], 'open_pred') for kind in KINDS}
        values = list(opened.values())
        return dict(closed_accuracy=accuracy(by_kind['known'], 'closed_pred'),
                    open_known=opened['known'], open_unknown=opened['unknown'],
                    open_new=opened['new'],
                    balance=statistics.fmean(values) - statistics.stdev(values))

    def _write(self, rows: List[dict]) -> None:
        """Write the CSV next to its final path, then rename it (never a half-written file)."""
        folder = os.path.dirname(os.path.abspath(self.out_file))
        os.makedirs(folder, exist_ok=True)
        partial = self.out_file + '.partial'
        with open(partial, 'w', newline='', encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
            writer.writeheader()
            writer.writerows(rows)
        os.replace(partial, self.out_file)
