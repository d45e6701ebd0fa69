"""UCDMBatchSampler: Algorithm 2's training steps over a :class:`UCDMPairDataset`.

Du et al. (ICML 2025), Algorithm 2: every step visits the three sets in turn and samples a batch
of ``B`` from each non-empty one: ``B`` seeds of ``D`` with the generated pairs of all ``K``
classes of each (``B * K`` items), ``B`` pseudo-known images with their negatives and ``B``
pseudo-unknown images with their positives, then takes one optimiser step on Eq. 12 (the official
code does the same: one loader per set, one step over their union). An epoch is one pass over
the largest set, ``ceil(max(|D|, |D_known|, |D_unknown|) / (B * world_size))`` steps; a smaller
set is drawn again in a new order when it runs out, so each of its items comes up equally often
(to within one) within the epoch. So an epoch, the labelling interval (every 40 epochs) and the
BN freeze (the first 100 steps) count what the paper counts.

Orders are ``numpy.random.default_rng([seed, epoch, branch, pass])`` permutations, the same on
every rank; rank ``r`` takes the ``r``-th of every ``world_size`` blocks of ``B``. With mmengine's
``DefaultSampler`` as the wrapped sampler (epoch-based loops) the seed and epoch are that
sampler's (``DistSamplerSeedHook`` sets the epoch) and an iteration yields one epoch; with an
``InfiniteSampler`` (iteration-based loops) epochs follow one another without end. The groups are
read from the dataset when an epoch starts, and the dataset is told the epoch
(``set_epoch``: it redraws the pseudo-unknown items' classes); a labelling round between two
steps (iteration-based loops) ends the epoch, and the next one starts over the new sets. With
dataloader workers, only an epoch-based loop with ``DatasetEpochHook`` (which sets the epoch
before the workers start) and ``persistent_workers=False`` keeps the workers' copies current.
"""
import math
from typing import Dict, Iterator, List, Sequence

import numpy as np
from mmengine.dataset import InfiniteSampler
from torch.utils.data import Sampler

from cdmx.models.losses.ucdm_loss import BRANCHES
from cdmx.registry import DATA_SAMPLERS
from cdmx.utils.errors import CdmxError


@DATA_SAMPLERS.register_module()
class UCDMBatchSampler(Sampler):
    """Batches of Algorithm 2 (see the module docstring); used as a dataloader's
    ``batch_sampler=dict(type='UCDMBatchSampler')`` with ``batch_size = B``.

    Args:
        sampler (Sampler): The dataloader's sampler (mmengine's ``DefaultSampler`` or
            ``InfiniteSampler`` over a ``UCDMPairDataset``); its dataset, seed, rank and world
            size are used, its indices are not.
        batch_size (int): ``B``, per rank.
        branches (Sequence[str]): The sets a step samples from (Fig. 4(a)'s ablations drop
            ``'pseudo_known'`` and/or ``'pseudo_unknown'``; their images still leave ``D`` when
            labelled). Defaults to all three.
    """

    def __init__(self, sampler: Sampler, batch_size: int,
                 branches: Sequence[str] = BRANCHES):
        dataset = getattr(sampler, 'dataset', None)
        if not callable(getattr(dataset, 'branch_groups', None)):
            raise CdmxError(f'UCDMBatchSampler needs a UCDMPairDataset (with branch_groups), '
                            f'not {type(dataset).__name__}; train on UCDMPairDataset or use a '
                            'plain sampler.')
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise CdmxError(f'UCDMBatchSampler batch_size is {batch_size!r}; give B >= 1.')
        unknown = sorted(set(branches) - set(BRANCHES))
        if 'generated' not in branches or unknown:
            raise CdmxError(f'UCDMBatchSampler branches are {list(branches)}; list '
                            f"'generated' and any of {BRANCHES[1:]}.")
        self.sampler, self.dataset, self.batch_size = sampler, dataset, batch_size
        self.branches = [b for b in BRANCHES if b in branches]
        self.rank = getattr(sampler, 'rank', 0)
        self.world_size = getattr(sampler, 'world_size', 1)
        self.seed = int(getattr(sampler, 'seed', 0) or 0)
        self.infinite = isinstance(sampler, InfiniteSampler)
        self._check_fills(dataset.branch_groups())

    def _check_fills(self, groups: Dict[str, List[List[int]]]) -> None:
        """At the start ``D`` (or, when it starts empty, every pseudo-labelled set) must fill
        a step with distinct items; sets smaller than that later (pseudo-labelled sets as they
        grow, ``D`` as images leave it) are drawn with repeats."""
        need = self.batch_size * self.world_size
        sizes = {b: len(groups[b]) for b in self.branches}
        self._steps(groups)  # refuses empty sets
        starting = ['generated'] if sizes['generated'] else self.branches
        short = {b: sizes[b] for b in starting if 0 < sizes[b] < need}
        if short:
            raise CdmxError(f'Algorithm 2 batches of B = {self.batch_size} on '
                            f'{self.world_size} rank(s) take {need} items of each set per step, '
                            f'but the sets hold {short} (D counts seeds); lower '
                            'train_dataloader.batch_size or generate more seeds.')

    def _steps(self, groups: Dict[str, List[List[int]]]) -> int:
        largest = max(len(groups[b]) for b in self.branches)
        if not largest:
            raise CdmxError(f'the UCDM training sets {self.branches} are all empty now (every '
                            'image left D for a set this run does not train on); train on more '
                            'sets or stop labelling earlier.')
        return math.ceil(largest / (self.batch_size * self.world_size))

    def __len__(self) -> int:
        """Steps of one epoch over the dataset's current sets."""
        return self._steps(self.dataset.branch_groups())

    def _order(self, size: int, length: int, epoch: int, branch: int) -> np.ndarray:
        """``length`` positions in ``0..size-1``: fresh permutations, one after another."""
        passes = [np.random.default_rng([self.seed, epoch, branch, p]).permutation(size)
                  for p in range(math.ceil(length / size))]
        return np.concatenate(passes)[:length]

    def _epoch(self, epoch: int) -> Iterator[List[int]]:
        self.dataset.set_epoch(epoch)
        groups = self.dataset.branch_groups()
        version, steps = self.dataset.version, self._steps(groups)
        block = self.batch_size * self.world_size
        orders = {b: self._order(len(groups[b]), steps * block, epoch, BRANCHES.index(b))
                  for b in self.branches if groups[b]}
        for step in range(steps):
            if self.dataset.version != version:
                return  # a labelling round changed the sets: the next epoch starts over them
            start = step * block + self.rank * self.batch_size
            yield [index for b, order in orders.items()
                   for g in order[start:start + self.batch_size] for index in groups[b][g]]

    def __iter__(self) -> Iterator[List[int]]:
        if not self.infinite:
            yield from self._epoch(int(getattr(self.sampler, 'epoch', 0)))
            return
        epoch = 0
        while True:
            yield from self._epoch(epoch)
            epoch += 1
