"""UCDMPairDataset: UCDM's training set of Algorithm 2 / Appendix A.2 in the classifier's format.

Du et al., "Unsupervised Learning for Class Distribution Mismatch" (ICML 2025). The unlabeled
pool ``D`` starts with every real training image (the seeds of the generation stage); each
labelling round moves some of them out of ``D`` into the pseudo-labelled pools. Items, in this
order (see :mod:`cdmx.models.classifiers.ucdm_classifier` for the batch format)::

    branch          x+ (inputs[0])                          x- (inputs[1])          gt_label
    generated       cached positive of class k, seed s      cached negative, s, k   k
                    (every class k of every seed s in D)
    pseudo_known    the real image s (pseudo-label k)       cached negative, s, k   k
    pseudo_unknown  cached positive of s for a random       the real image s        k
                    known class k (pseudo-label "other")

The positive of a pseudo-unknown item is the real image's own cached positive for ``k`` (the
seed with class ``k`` added), so the pair differs in class ``k`` only. ``k`` is drawn from
``numpy.random.default_rng([seed, epoch, seed id])``: the same for a given (epoch, image), a new
draw every epoch. mmengine calls ``set_epoch`` on samplers only, so :class:`UCDMBatchSampler`
(at the start of each of its epochs) and ``DatasetEpochHook`` (epoch-based loops, before the
dataloader workers start) call :meth:`UCDMPairDataset.set_epoch`; without them every epoch
reuses epoch 0's draws.

**Augmentation.** ``pipeline`` (ending in mmpretrain's ``PackInputs``) runs on each generated
image and ``real_pipeline`` (default: ``pipeline``) on each real one, x+ and x- separately. The
paper (Table 17, official code) augments with flips only and not the generated images: its
configs give ``pipeline`` no random transform and ``real_pipeline`` the flip. Real and generated
images must have the same size (generate the cache at the real images' resolution, e.g. 28 for
the mini world, and let both pipelines pad 28 -> 32 as ``configs/_base_/datasets/
fashion-mnist_mini.py`` does).

**Algorithm 2's steps.** :meth:`branch_groups` lists the items of each branch by seed (a seed
of ``D`` has ``K`` items, one per class); :class:`cdmx.datasets.UCDMBatchSampler` draws each
step from it (B seeds of ``D`` with all their pairs, B pseudo-known and B pseudo-unknown items).
:attr:`version` counts the labelling rounds that changed the items.

**Changing length.** :meth:`set_pseudo_labels` changes ``len(self)``: a seed leaving ``D``
removes ``K`` generated items and adds one pseudo item, so the length never grows. mmengine's
samplers (``InfiniteSampler``, ``DefaultSampler``) read the length once, when the dataloader is
built, and keep yielding indices below that first length; ``__getitem__`` therefore takes every
index modulo the current length. With a shuffling sampler over ``N0`` indices and ``N`` current
items, each item is drawn ``floor(N0 / N)`` or ``ceil(N0 / N)`` times per pass of the sampler.

**Workers.** Pseudo-labels and the epoch live in the dataset object of the process that calls
:meth:`set_pseudo_labels`; dataloader workers hold copies made when they start. Use
``num_workers=0`` (the mini world's choice), or, with an epoch-based loop only, workers with
``persistent_workers=False`` so that each epoch copies the current state.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset, Compose

from cdmx.models.losses.ucdm_loss import BRANCHES
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError
from .generated_pairs import GeneratedPairs

def _build(cfg: Union[dict, BaseDataset]) -> BaseDataset:
    return DATASETS.build(cfg) if isinstance(cfg, dict) else cfg


@DATASETS.register_module()
class UCDMPairDataset(BaseDataset):
    """UCDM's three training branches over a generated-pair cache and the real-image pool.

    ``__getitem__`` returns ``dict(inputs=uint8 tensor (2, C, H, W) [x+, x-],
    data_samples=DataSample)`` with ``gt_label`` ``k`` and the metainfo ``branch`` and
    ``seed_id``; ``get_data_info`` returns the raw ``positive`` / ``negative`` uint8
    ``(R, R, 3)`` images with ``branch``, ``seed_id`` and ``gt_label``.

    Args:
        pairs (dict | GeneratedPairs): The cache written by ``tools/generate.py`` (config or
            instance), e.g. ``dict(type='GeneratedPairs', cache_dir=...)``.
        real (dict | BaseDataset): The real images, the seeds of the cache: e.g. a
            ``MismatchDataset`` with ``part='train'`` whose ``sample_idx`` are the cache's seed
            ids and whose ``img`` is uint8 ``(R, R, 3)``. Its own pipeline serves only
            the labelling rounds (:attr:`unlabeled_pool`), not the training items.
        pipeline (Sequence): Transforms applied to each generated image on its own (``img``
            uint8 ``(R, R, 3)``), ending with ``dict(type='mmpretrain.PackInputs')``.
        real_pipeline (Sequence, optional): The same for the real images of the pseudo
            branches; defaults to ``pipeline``.
        seed (int): Seed of the pseudo-unknown items' random classes.
        true_labels (bool): Start with every real image labelled by its ground truth
            (``gt_label`` of ``real``: 0..K-1 known, K unknown), so ``D`` is empty and only the
            pseudo branches train: the supervised upper bound of UCDM's labelling (same model,
            losses and generated partners, perfect labels). Defaults to False.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``serialize_data`` is off:
            the item list changes with every labelling round).
    """

    def __init__(self, pairs: Union[dict, GeneratedPairs], real: Union[dict, BaseDataset],
                 pipeline: Sequence = (), real_pipeline: Optional[Sequence] = None,
                 seed: int = 0, true_labels: bool = False, **kwargs):
        self.pairs = _build(pairs)
        self.real = _build(real)
        self.seed, self.epoch, self.version = seed, 0, 0
        self.num_classes = len(self.pairs.metainfo['classes'])
        real_classes = list(getattr(self.real, 'metainfo', {}).get('classes', ()))
        if real_classes and real_classes != list(self.pairs.metainfo['classes']):
            raise CdmxError(f'the cache holds classes {list(self.pairs.metainfo["classes"])} but '
                            f'the real pool\'s known classes are {real_classes}; regenerate the '
                            'cache from this pool (tools/generate.py) or fix the split.')
        self._pair_index = self._index_pairs()
        self._real_index = self._index_real()
        self._labels: Dict[int, int] = {}  # seed id -> pseudo-label 0..K (K = "other")
        kwargs['serialize_data'] = False
        super().__init__(metainfo=dict(classes=self.pairs.metainfo['classes']),
                         pipeline=list(pipeline), **kwargs)
        self.real_pipeline = (self.pipeline if real_pipeline is None
                              else Compose(list(real_pipeline)))
        if true_labels:
            self.set_pseudo_labels(*self._ground_truth())

    def _index_pairs(self) -> Dict[int, int]:
        """Seed id -> position of its first item in ``self.pairs`` (seed-major, then class)."""
        index = {}
        for i in range(0, len(self.pairs), self.num_classes):
            index[int(BaseDataset.get_data_info(self.pairs, i)['seed_id'])] = i
        return index

    def _index_real(self) -> Dict[int, int]:
        """Seed id -> position in ``self.real``; the ids must be the cache's seed ids."""
        index = {int(self.real.get_data_info(i)['sample_idx']): i for i in range(len(self.real))}
        if set(index) != set(self._pair_index):
            raise CdmxError(f'the real-image pool has {len(index)} images and the cache '
                            f'{len(self._pair_index)} seeds with other ids; build the cache '
                            'from this pool (its sample_idx are the seed ids).')
        first = self._real_image(next(iter(index)), index)
        size = self.pairs.manifest['resolution']
        if first.shape != (size, size, 3):
            raise CdmxError(f'real images are {first.shape} and generated ones ({size}, {size}, '
                            '3); generate the cache at the real images\' resolution.')
        return index

    def _real_image(self, seed_id: int, index: Dict[int, int]) -> np.ndarray:
        image = np.asarray(self.real.get_data_info(index[seed_id])['img'])
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise CdmxError(f'real image {seed_id} is {image.dtype} {image.shape}; the pool '
                            'must give uint8 (H, W, 3) images (e.g. FashionMNIST(channels=3)).')
        return image

    def _ground_truth(self) -> Tuple[List[int], List[int]]:
        """Every seed id of the real pool and its ``gt_label`` (0..K-1 known, K unknown)."""
        ids = sorted(self._real_index)
        labels = []
        for seed_id in ids:
            label = self.real.get_data_info(self._real_index[seed_id]).get('gt_label')
            if label is None:
                raise CdmxError('true_labels=True needs the real pool\'s gt_label (0..K-1 known, '
                                'K unknown), as MismatchDataset gives; this pool has none.')
            labels.append(int(label))
        return ids, labels

    # -- state ----------------------------------------------------------------------------------

    @property
    def unlabeled_pool(self) -> BaseDataset:
        """The real images (``real``), with their own pipeline: what the labelling hook scores."""
        return self.real

    @property
    def unlabeled_ids(self) -> List[int]:
        """Seed ids still in ``D`` (not pseudo-labelled yet), in cache order."""
        return [s for s in self._pair_index if s not in self._labels]

    @property
    def pseudo_labels(self) -> Dict[int, int]:
        """Seed id -> pseudo-label (0..K-1 known, K "other") of every labelled image."""
        return dict(self._labels)

    def set_epoch(self, epoch: int) -> None:
        """Select the pseudo-unknown items' random classes of ``epoch``."""
        self.epoch = int(epoch)

    def set_pseudo_labels(self, ids: Sequence[int], labels: Sequence[int]) -> None:
        """Move real images out of ``D`` into the pseudo-labelled branches (one labelling round).

        The labelling hook calls exactly this. Each id leaves ``D`` with its ``K`` generated
        pairs and becomes one ``pseudo_known`` item (label ``0..K-1``) or one ``pseudo_unknown``
        item (label ``K``, "other"). Calls accumulate; ``len(self)`` changes at once.

        Args:
            ids (Sequence[int]): Seed ids (the real pool's ``sample_idx``) still in ``D``.
            labels (Sequence[int]): Their pseudo-labels, ``0..K``.
        """
        ids, labels = [int(i) for i in ids], [int(y) for y in labels]
        if len(ids) != len(labels):
            raise CdmxError(f'set_pseudo_labels got {len(ids)} ids and {len(labels)} labels; '
                            'give one label per id.')
        if len(set(ids)) != len(ids):
            raise CdmxError('set_pseudo_labels got an id twice; give each image one label.')
        for i, y in zip(ids, labels):
            if i not in self._pair_index:
                raise CdmxError(f'id {i} is not a seed of the cache; pass sample_idx values of '
                                'the real-image pool.')
            if i in self._labels:
                raise CdmxError(f'id {i} was pseudo-labelled in an earlier round; pass only ids '
                                'still in D (unlabeled_ids).')
            if not 0 <= y <= self.num_classes:
                raise CdmxError(f'label {y} of id {i} is outside 0..{self.num_classes}; use a '
                                f'known class id or {self.num_classes} for "other".')
        self._labels.update(zip(ids, labels))
        self.data_list = self.load_data_list()
        self.version += 1

    def branch_groups(self) -> Dict[str, List[List[int]]]:
        """Item indices of each branch (keys :data:`BRANCHES`), grouped by seed: a seed of
        ``D`` is one group of its ``K`` items, a pseudo-labelled image a group of one."""
        groups: Dict[str, Dict[int, List[int]]] = {branch: {} for branch in BRANCHES}
        for index, info in enumerate(self.data_list):
            groups[info['branch']].setdefault(info['seed_id'], []).append(index)
        return {branch: list(by_seed.values()) for branch, by_seed in groups.items()}

    # -- items ----------------------------------------------------------------------------------

    def load_data_list(self) -> List[dict]:
        known = [s for s, y in self._labels.items() if y < self.num_classes]
        unknown = [s for s, y in self._labels.items() if y == self.num_classes]
        return ([dict(branch='generated', seed_id=s, gt_label=k) for s in self.unlabeled_ids
                 for k in range(self.num_classes)] +
                [dict(branch='pseudo_known', seed_id=s, gt_label=self._labels[s])
                 for s in sorted(known)] +
                [dict(branch='pseudo_unknown', seed_id=s) for s in sorted(unknown)])

    def _pair(self, seed_id: int, k: int) -> dict:
        return self.pairs.get_data_info(self._pair_index[seed_id] + k)

    def get_data_info(self, idx: int) -> dict:
        """Item ``idx`` (< ``len(self)``): ``branch``, ``seed_id``, ``gt_label`` and the uint8
        ``positive`` / ``negative`` images ``(R, R, 3)``."""
        info = super().get_data_info(idx)
        seed_id, branch = info['seed_id'], info['branch']
        if branch == 'pseudo_unknown':
            rng = np.random.default_rng([self.seed, self.epoch, seed_id])
            info['gt_label'] = int(rng.integers(self.num_classes))
        pair = self._pair(seed_id, info['gt_label'])
        info['positive'], info['negative'] = pair['positive'], pair['negative']
        if branch == 'pseudo_known':
            info['positive'] = self._real_image(seed_id, self._real_index)
        elif branch == 'pseudo_unknown':
            info['negative'] = self._real_image(seed_id, self._real_index)
        return info

    def _pack(self, image: np.ndarray, info: dict, real: bool) -> dict:
        pipeline = self.real_pipeline if real else self.pipeline
        results = pipeline(dict(img=image, img_shape=image.shape[:2],
                                     ori_shape=image.shape[:2], gt_label=info['gt_label'],
                                     sample_idx=info['sample_idx']))
        if not isinstance(results, dict) or 'inputs' not in results \
                or 'data_samples' not in results:
            raise CdmxError('the UCDMPairDataset pipeline gives no inputs/data_samples; end it '
                            "with dict(type='mmpretrain.PackInputs').")
        return results

    def prepare_data(self, idx: int) -> dict:
        """``dict(inputs=(2, C, H, W) uint8 [x+, x-], data_samples=DataSample)``."""
        info = self.get_data_info(idx)
        positive = self._pack(info['positive'], info, info['branch'] == 'pseudo_known')
        negative = self._pack(info['negative'], info, info['branch'] == 'pseudo_unknown')
        if positive['inputs'].shape != negative['inputs'].shape:
            raise CdmxError(f'the pipeline made a {tuple(positive["inputs"].shape)} positive '
                            f'and a {tuple(negative["inputs"].shape)} negative; crop or resize '
                            'both to one size.')
        sample = positive['data_samples']
        sample.set_metainfo(dict(branch=info['branch'], seed_id=info['seed_id']))
        return dict(inputs=torch.stack([positive['inputs'], negative['inputs']]),
                    data_samples=sample)

    def __getitem__(self, idx: int) -> dict:
        """Item ``idx % len(self)``: a sampler built at an earlier, longer length stays valid."""
        return super().__getitem__(idx % len(self))
