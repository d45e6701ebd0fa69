"""UCDM's class-distribution-mismatch setting built over any labelled dataset.

Du et al., "Unsupervised Learning for Class Distribution Mismatch" (ICML 2025), §5 and
Appendix Tables 11-15: the classes of a dataset are cut into *known* classes (the target task),
*unknown* classes (present in the unlabeled training data but not wanted) and *new* classes (seen
only at test time). The unlabeled training set mixes ``N_known`` known-class images with

    N_unknown = ceil(N_known * p / (1 - p))                                  (Table 14)

unknown-class images, so that ``p`` is the proportion of unknown-class images in the mixture
(the official implementation computes ``ceil(N_known / (1 - p)) - N_known``, the same number).
The test set holds stated numbers of known, unknown and new images (Table 15).

Split files live in ``cdmx/data/splits/<name>.json``; each holds ``known``, ``unknown``, ``new``
(class names or ids of the wrapped dataset; Tiny-ImageNet wnids), ``known_count`` and
``test_counts`` plus their provenance. Sampling is seeded: each of the five draws (train known,
train unknown, test known / unknown / new) uses ``numpy.random.default_rng([seed, stream])``
and takes the first ``n`` entries of a permutation of its pool, so the unknown images at a
smaller ``p`` are a subset of those at a larger ``p`` and the test set does not depend on ``p``.
"""
import json
import math
import os
from fractions import Fraction
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

SPLITS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data',
                          'splits')
PARTS = ('train', 'train_known', 'test', 'test_known')
KINDS = ('known', 'unknown', 'new')
_STREAMS = {('train', 'known'): 0, ('train', 'unknown'): 1, ('test', 'known'): 2,
            ('test', 'unknown'): 3, ('test', 'new'): 4}


def available_splits() -> List[str]:
    """Names of the split files shipped in ``cdmx/data/splits``."""
    return sorted(f[:-5] for f in os.listdir(SPLITS_DIR) if f.endswith('.json'))


def _check_count(value, what: str, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CdmxError(f"{what} of split '{name}' is {value!r}; give a non-negative integer or "
                        'null (all images).')
    return value


def _check_test_counts(test_counts, name: str) -> Optional[Dict[str, Optional[int]]]:
    if test_counts is None:
        return None
    if not isinstance(test_counts, dict) or set(test_counts) - set(KINDS):
        raise CdmxError(f"test_counts of split '{name}' must be a dict with keys among {KINDS}; "
                        f'fix {test_counts!r}.')
    return {k: _check_count(test_counts.get(k), f'test_counts[{k!r}]', name) for k in KINDS}


def load_split(split: Union[str, dict]) -> dict:
    """Read and check a split: a file name in ``cdmx/data/splits`` or a dict of the same form.

    Returns:
        dict: ``name``, ``known``, ``unknown``, ``new`` (lists of names or ids),
        ``known_count`` (int or None = every known-class image), ``test_counts``
        (dict kind -> int or None = every image of that kind).
    """
    if isinstance(split, str):
        path = os.path.join(SPLITS_DIR, split + '.json')
        if not os.path.isfile(path):
            raise CdmxError(f"split '{split}' has no file {path}; use one of "
                            f'{available_splits()} or pass dict(known=..., unknown=..., new=...).')
        with open(path) as f:
            spec, name = json.load(f), split
    elif isinstance(split, dict):
        spec, name = split, 'custom'
    else:
        raise CdmxError(f'split must be a split name or a dict, not {type(split).__name__}; pass '
                        "e.g. 'fashion-mnist_mini' or dict(known=[...], unknown=[...], new=[...]).")
    lists = {}
    for kind in KINDS:
        entries = spec.get(kind, [])
        if not isinstance(entries, (list, tuple)) or not all(
                isinstance(e, str) or (isinstance(e, int) and not isinstance(e, bool))
                for e in entries):
            raise CdmxError(f"'{kind}' of split '{name}' must be a list of class names or ids; "
                            f'fix the entry {entries!r}.')
        if len(set(entries)) != len(entries):
            raise CdmxError(f"'{kind}' of split '{name}' names a class twice ({list(entries)}); "
                            'list each class once.')
        lists[kind] = list(entries)
    if not lists['known']:
        raise CdmxError(f"split '{name}' has no known class; list at least one under 'known'.")
    for i, a in enumerate(KINDS):
        for b in KINDS[i + 1:]:
            common = set(lists[a]) & set(lists[b])
            if common:
                raise CdmxError(f"split '{name}' puts {sorted(common, key=str)} in both {a} and "
                                f'{b} classes; each class must be in one list only.')
    return dict(name=name, **lists,
                known_count=_check_count(spec.get('known_count'), 'known_count', name),
                test_counts=_check_test_counts(spec.get('test_counts'), name))


def unknown_count(known_count: int, mismatch: float) -> int:
    """Number of unknown-class images for ``known_count`` known ones (Table 14).

    ``N_unknown = ceil(N_known * p / (1 - p))``, computed exactly on the decimal value of ``p``
    (``Fraction(str(p))``) so that e.g. p = 0.2 gives exactly ``N_known / 4``.
    """
    p = check_mismatch(mismatch)
    return math.ceil(known_count * p / (1 - p))


def check_mismatch(mismatch) -> Fraction:
    """The mismatch proportion as an exact fraction; CdmxError unless ``0 <= p < 1``."""
    if isinstance(mismatch, bool) or not isinstance(mismatch, Real) or not 0 <= mismatch < 1:
        raise CdmxError(f'mismatch proportion {mismatch!r} is outside [0, 1); use the share of '
                        'unknown-class images in the training mixture, e.g. 0.6 for 60%.')
    return Fraction(str(float(mismatch)))


def resolve_classes(entries: Sequence, classes: Sequence[str], aliases: Sequence[str] = (),
                    where: str = 'split') -> List[int]:
    """Map class names, aliases (e.g. wnids) or ids to ids into ``classes``.

    Raises:
        CdmxError: An entry names no class, names several, or is an id out of range.
    """
    ids = []
    for entry in entries:
        if isinstance(entry, int):
            if not 0 <= entry < len(classes):
                raise CdmxError(f'class id {entry} in {where} is out of range; the dataset has '
                                f'{len(classes)} classes (ids 0..{len(classes) - 1}).')
            ids.append(entry)
            continue
        matches = sorted({i for i, c in enumerate(classes) if c == entry}
                         | {i for i, a in enumerate(aliases) if a == entry})
        if not matches:
            shown = ', '.join(map(repr, list(classes)[:12])) + (', ...' if len(classes) > 12
                                                                 else '')
            raise CdmxError(f"class '{entry}' in {where} is not a class of the dataset "
                            f'({shown}); use one of its class names or ids.')
        if len(matches) > 1:
            raise CdmxError(f"class name '{entry}' in {where} matches ids {matches}; refer to "
                            'the class by id instead.')
        ids.append(matches[0])
    return ids


def _draw(pool: np.ndarray, n: Optional[int], seed: int, stream: Tuple[str, str],
          what: str) -> np.ndarray:
    """The first ``n`` of a seeded permutation of ``pool`` (all of it when ``n`` is None)."""
    if n is None:
        return pool
    if n > len(pool):
        raise CdmxError(f'{what} needs {n} images but the dataset has only {len(pool)}; lower '
                        'the count (known_count, test_counts or the mismatch proportion) or use '
                        'a larger dataset.')
    rng = np.random.default_rng([seed, _STREAMS[stream]])
    return rng.permutation(pool)[:n]


def build_mismatch_indices(labels: np.ndarray,
                           known: Sequence[int],
                           unknown: Sequence[int],
                           new: Sequence[int],
                           part: str,
                           mismatch: float = 0.0,
                           seed: int = 0,
                           known_count: Optional[int] = None,
                           test_counts: Optional[Dict[str, Optional[int]]] = None
                           ) -> Tuple[np.ndarray, List[str]]:
    """Select the samples of one part of the mismatch setting.

    Args:
        labels (np.ndarray): ``(N,)`` class ids of the wrapped dataset.
        known, unknown, new (Sequence[int]): Disjoint class-id lists.
        part (str): ``'train'`` (known + unknown mixture, Table 14), ``'train_known'`` (its
            known part), ``'test'`` (known, unknown, new, Table 15) or ``'test_known'`` (every
            known-class image, the closed-set test).
        mismatch (float): ``p`` in ``[0, 1)``; used by ``'train'`` only.
        seed (int): Seed of the draws.
        known_count (int, optional): ``N_known``; None takes every known-class image.
        test_counts (dict, optional): kind -> count for ``'test'``; None or a None count takes
            every image of that kind.

    Returns:
        tuple[np.ndarray, list[str]]: Sorted indices into ``labels`` and their kinds.
    """
    if part not in PARTS:
        raise CdmxError(f"part '{part}' is unknown; use one of {PARTS}.")
    p = check_mismatch(mismatch)
    labels = np.asarray(labels)
    pools = {kind: np.flatnonzero(np.isin(labels, np.asarray(ids, dtype=np.int64)))
             for kind, ids in zip(KINDS, (known, unknown, new))}
    chosen = {}
    if part in ('train', 'train_known'):
        chosen['known'] = _draw(pools['known'], known_count, seed, ('train', 'known'),
                                'the known part of the training mixture')
        if part == 'train':
            chosen['unknown'] = _draw(pools['unknown'], unknown_count(len(chosen['known']), p),
                                      seed, ('train', 'unknown'), 'the unknown part of the '
                                      f'training mixture at mismatch {float(p)}')
    elif part == 'test':
        counts = test_counts or {}
        for kind in KINDS:
            chosen[kind] = _draw(pools[kind], counts.get(kind), seed, ('test', kind),
                                 f'the {kind}-class part of the test set')
    else:
        chosen['known'] = pools['known']
    pairs = sorted((int(i), kind) for kind, rows in chosen.items() for i in rows)
    return np.array([i for i, _ in pairs], dtype=np.int64), [kind for _, kind in pairs]


def _source_labels(dataset) -> np.ndarray:
    """Class ids of every sample of ``dataset``, without loading images where it can."""
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64)
    return np.array([int(dataset.get_data_info(i)['gt_label']) for i in range(len(dataset))],
                    dtype=np.int64)


@DATASETS.register_module()
class MismatchDataset(BaseDataset):
    """One part of UCDM's class-mismatch setting over a labelled dataset.

    Each ``get_data_info`` is the wrapped dataset's (``img``, its ``sample_idx``...) plus
    ``gt_label`` (0..K-1 for the K known classes in split order, K for unknown and new),
    ``true_class`` (the wrapped dataset's class id), ``kind`` ('known' | 'unknown' | 'new'),
    ``source_idx`` (position in the wrapped dataset) and ``dataset_idx`` (position in this one).
    ``metainfo['classes']`` are the known class names in split order.

    Args:
        dataset (dict | BaseDataset): The labelled dataset (config or instance): its train
            subset for ``'train'``/``'train_known'``, its test subset for ``'test'``/
            ``'test_known'``.
        split (str | dict): A file name in ``cdmx/data/splits`` (e.g. ``'fashion-mnist_mini'``)
            or ``dict(known=[...], unknown=[...], new=[...], known_count=..., test_counts=...)``.
        part (str): ``'train'``, ``'train_known'``, ``'test'`` or ``'test_known'``.
        mismatch (float): Proportion ``p`` of unknown-class images in ``'train'``, in [0, 1).
        seed (int): Seed of the sampling. Defaults to 0.
        known_count (int, optional): Overrides the split's ``known_count``.
        test_counts (dict, optional): Overrides the split's ``test_counts``.
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 split: Union[str, dict],
                 part: str,
                 mismatch: float = 0.0,
                 seed: int = 0,
                 known_count: Optional[int] = None,
                 test_counts: Optional[dict] = None,
                 pipeline=(),
                 **kwargs):
        if part not in PARTS:
            raise CdmxError(f"part '{part}' is unknown; use one of {PARTS}.")
        check_mismatch(mismatch)
        spec = load_split(split)
        if known_count is not None:
            spec['known_count'] = _check_count(known_count, 'known_count', spec['name'])
        if test_counts is not None:
            spec['test_counts'] = _check_test_counts(test_counts, spec['name'])
        self.source = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        classes = self.source.metainfo.get('classes')
        if not classes:
            raise CdmxError(f'{type(self.source).__name__} has no metainfo classes; wrap a '
                            'labelled dataset whose metainfo lists its class names.')
        aliases = self.source.metainfo.get('wnids', ())
        where = f"split '{spec['name']}'"
        self.class_ids = {kind: resolve_classes(spec[kind], classes, aliases, where)
                          for kind in KINDS}
        seen = {}
        for kind in KINDS:
            for cid in self.class_ids[kind]:
                if cid in seen:
                    raise CdmxError(f"{where} puts class '{classes[cid]}' in both {seen[cid]} "
                                    f'and {kind} classes; each class must be in one list only.')
                seen[cid] = kind
        self.spec, self.part, self.mismatch, self.seed = spec, part, float(mismatch), seed
        names = {kind: tuple(classes[i] for i in ids) for kind, ids in self.class_ids.items()}
        metainfo = dict(classes=names['known'], unknown_classes=names['unknown'],
                        new_classes=names['new'], mismatch=self.mismatch)
        super().__init__(metainfo=metainfo, pipeline=list(pipeline), **kwargs)
        # Set after __init__: mmengine would try to open string metainfo values as files.
        self._metainfo.update(split=spec['name'], part=part)

    def load_data_list(self) -> List[dict]:
        labels = _source_labels(self.source)
        indices, kinds = build_mismatch_indices(
            labels, self.class_ids['known'], self.class_ids['unknown'], self.class_ids['new'],
            self.part, self.mismatch, self.seed, self.spec['known_count'],
            self.spec['test_counts'])
        known_index = {cid: i for i, cid in enumerate(self.class_ids['known'])}
        num_known = len(known_index)
        self._metainfo['counts'] = {kind: kinds.count(kind) for kind in KINDS}
        return [dict(source_idx=int(i), true_class=int(labels[i]), kind=kind,
                     gt_label=known_index.get(int(labels[i]), num_known))
                for i, kind in zip(indices, kinds)]

    def get_data_info(self, idx: int) -> dict:
        ours = super().get_data_info(idx)
        info = self.source.get_data_info(ours['source_idx'])
        info.update(gt_label=ours['gt_label'], true_class=ours['true_class'], kind=ours['kind'],
                    source_idx=ours['source_idx'], dataset_idx=ours['sample_idx'])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """``(len(self),)`` int64 labels in 0..K, without loading any image."""
        return np.array([BaseDataset.get_data_info(self, i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        return [int(BaseDataset.get_data_info(self, idx)['gt_label'])]
