"""KindBatchSampler: evaluation batches that each hold images of one kind only.

The official UCDM code scores the known, unknown and new test images in three separate
dataloaders while its BN layers normalise every batch with that batch's own statistics, so each
test batch is normalised by one kind's statistics: a transductive evaluation that a mixed test
loader does not reproduce (issue 16's BN study, docs/ucdm.md). This batch sampler groups the
wrapped sampler's indices by a per-sample key (``kind`` of :class:`MismatchDataset`) and cuts
each group into batches, which reproduces those loaders inside one mmengine test loop.
PyTorch's ``BatchSampler`` cuts a single stream, so it cannot do this.
"""
import math
from typing import Dict, Iterator, List

from torch.utils.data import Sampler

from cdmx.registry import DATA_SAMPLERS
from cdmx.utils.errors import CdmxError


@DATA_SAMPLERS.register_module()
class KindBatchSampler(Sampler):
    """Batches of at most ``batch_size`` indices sharing the value of ``key``.

    Used as a dataloader's ``batch_sampler=dict(type='KindBatchSampler')``. Groups come in the
    order their first index appears in the wrapped sampler; within a group the sampler's order
    is kept, so with mmengine's ``DefaultSampler`` each rank batches its own share.

    Args:
        sampler (Sampler): The dataloader's sampler; its ``dataset`` must give ``key`` in
            ``get_data_info(i)``.
        batch_size (int): Images per batch.
        key (str): The data-info field that defines a group. Defaults to ``'kind'``.
    """

    def __init__(self, sampler: Sampler, batch_size: int, key: str = 'kind'):
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None or not callable(getattr(dataset, 'get_data_info', None)):
            raise CdmxError('KindBatchSampler needs a sampler with a dataset that has '
                            'get_data_info, such as mmengine\'s DefaultSampler.')
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise CdmxError(f'KindBatchSampler batch_size is {batch_size!r}; give an integer '
                            '>= 1.')
        infos = (dataset.get_data_info(i) for i in range(len(dataset)))
        self.keys = [info.get(key) for info in infos]
        if None in self.keys:
            raise CdmxError(f'{type(dataset).__name__} gives no {key!r} for some samples; group '
                            'by a field its get_data_info has (MismatchDataset: kind).')
        self.sampler, self.batch_size = sampler, batch_size

    def _groups(self) -> Dict[object, List[int]]:
        groups: Dict[object, List[int]] = {}
        for index in self.sampler:
            groups.setdefault(self.keys[index], []).append(index)
        return groups

    def __iter__(self) -> Iterator[List[int]]:
        for indices in self._groups().values():
            for start in range(0, len(indices), self.batch_size):
                yield indices[start:start + self.batch_size]

    def __len__(self) -> int:
        return sum(math.ceil(len(group) / self.batch_size) for group in self._groups().values())
