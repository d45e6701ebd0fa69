"""An infinite sampler that mixes labelled and unlabelled sources at a fixed ratio per batch."""
import itertools
from typing import Iterator, Optional, Sequence

import numpy as np
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from cdmx.registry import DATA_SAMPLERS
from cdmx.utils.errors import CdmxError


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Batches of ``batch_size`` indices, ``batch_size * r_i / sum(r)`` from source ``i``.

    The dataset is a ``ConcatDataset`` of the sources (labelled first, then unlabelled); every
    batch a rank draws holds the same number of samples of each source, in source order, so
    the labelled and unlabelled halves of the semi-supervised loss are balanced at every
    iteration. Each source is an endless stream of seeded permutations (a new permutation per
    pass, numpy's ``default_rng([seed, source, pass]).permutation``) cut between ranks
    (``rank``, ``rank + world_size``, ...), so the ranks never repeat each other's samples.
    It never ends, as iteration-based loops need: mmengine's ``DefaultSampler`` would end
    every epoch, and its infinite-dataloader wrapper sleeps 2 s at every restart.

    The dataloader's ``batch_size`` must equal ``batch_size`` here (set both from one config
    variable); this is what makes each batch of the dataloader one batch of the sampler.

    Args:
        dataset (ConcatDataset): The sources, concatenated.
        batch_size (int): Samples per batch on each rank.
        source_ratio (Sequence[int]): Share of each source in a batch, e.g. ``[1, 1]``.
        shuffle (bool): Permute each source (else its natural order). Defaults to True.
        seed (int, optional): Base seed, synchronised over ranks when None.
    """

    def __init__(self, dataset: ConcatDataset, batch_size: int, source_ratio: Sequence[int],
                 shuffle: bool = True, seed: Optional[int] = None):
        sizes = getattr(dataset, 'cumulative_sizes', None)
        if sizes is None:
            raise CdmxError('SemiSupervisedSampler needs a ConcatDataset of the sources; set the '
                            "train dataset to dict(type='ConcatDataset', datasets=[labelled, "
                            'unlabelled]).')
        if len(source_ratio) != len(sizes) or any(r <= 0 for r in source_ratio):
            raise CdmxError(f'source_ratio {list(source_ratio)} must give one positive share per '
                            f'source of the ConcatDataset ({len(sizes)} sources).')
        total = sum(source_ratio)
        if batch_size % total:
            raise CdmxError(f'batch_size {batch_size} cannot be split {list(source_ratio)} '
                            f'between the sources; choose a multiple of {total}.')
        self.num_per_source = [batch_size * r // total for r in source_ratio]
        self.offsets = [0] + list(sizes[:-1])
        self.sizes = [end - start for start, end in zip(self.offsets, sizes)]
        if any(size == 0 for size in self.sizes):
            raise CdmxError(f'a source of SemiSupervisedSampler is empty (sizes {self.sizes}); '
                            'check its split file.')
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()

    def _source_stream(self, source: int) -> Iterator[int]:
        """Indices of ``source`` for this rank, forever."""
        def endless():
            for epoch in itertools.count():
                if self.shuffle:
                    rng = np.random.default_rng([self.seed, source, epoch])
                    yield from rng.permutation(self.sizes[source]).tolist()
                else:
                    yield from range(self.sizes[source])
        return itertools.islice(endless(), self.rank, None, self.world_size)

    def __iter__(self) -> Iterator[int]:
        streams = [self._source_stream(s) for s in range(len(self.sizes))]
        while True:
            for source, stream in enumerate(streams):
                for _ in range(self.num_per_source[source]):
                    yield self.offsets[source] + next(stream)

    def __len__(self) -> int:
        """Samples of one pass over the concatenated sources (the stream itself is endless)."""
        return len(self.dataset)
