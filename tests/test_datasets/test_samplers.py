"""SemiSupervisedSampler (fixed per-batch mix, endless, rank-aware) and multi_branch_collate."""
import itertools

import pytest
import torch
from mmengine.dataset import BaseDataset, ConcatDataset

from cdmx.datasets import SemiSupervisedSampler, multi_branch_collate
from cdmx.datasets import samplers as samplers_module
from cdmx.utils.errors import CdmxError


class Numbers(BaseDataset):
    def __init__(self, size: int):
        self.size = size
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(value=i) for i in range(self.size)]


def concat(*sizes):
    return ConcatDataset([Numbers(n) for n in sizes])


def batches(sampler, count):
    stream = iter(sampler)
    return [[next(stream) for _ in range(sampler.batch_size)] for _ in range(count)]


def test_every_batch_mixes_the_sources_at_the_ratio():
    sampler = SemiSupervisedSampler(concat(5, 40), batch_size=6, source_ratio=[1, 2], seed=0)
    drawn = batches(sampler, 30)  # 30 labelled draws from 5 labelled samples: it never ends
    for batch in drawn:
        assert all(i < 5 for i in batch[:2]) and all(5 <= i < 45 for i in batch[2:])
    labelled = [i for batch in drawn for i in batch[:2]]
    for start in range(0, 30, 5):  # each pass over a source is a permutation of it
        assert sorted(labelled[start:start + 5]) == list(range(5))
    unlabelled = [i for batch in drawn for i in batch[2:]][:40]
    assert sorted(unlabelled) == list(range(5, 45))
    assert batches(SemiSupervisedSampler(concat(5, 40), 6, [1, 2], seed=0), 30) == drawn
    assert batches(SemiSupervisedSampler(concat(5, 40), 6, [1, 2], seed=1), 30) != drawn


def test_ranks_draw_disjoint_samples(monkeypatch):
    drawn = []
    for rank in range(2):
        monkeypatch.setattr(samplers_module, 'get_dist_info', lambda r=rank: (r, 2))
        sampler = SemiSupervisedSampler(concat(8, 8), batch_size=2, source_ratio=[1, 1], seed=3)
        drawn.append(list(itertools.islice(iter(sampler), 8)))  # 4 per source and rank
    firsts = [set(d[0::2]) for d in drawn]
    assert not firsts[0] & firsts[1] and firsts[0] | firsts[1] == set(range(8))


def test_bad_sampler_settings_are_refused():
    with pytest.raises(CdmxError, match='ConcatDataset'):
        SemiSupervisedSampler(Numbers(4), batch_size=2, source_ratio=[1, 1])
    with pytest.raises(CdmxError, match='one positive share per source'):
        SemiSupervisedSampler(concat(4, 4), batch_size=2, source_ratio=[1])
    with pytest.raises(CdmxError, match='multiple of 3'):
        SemiSupervisedSampler(concat(4, 4), batch_size=4, source_ratio=[1, 2])
    with pytest.raises(CdmxError, match='empty'):
        SemiSupervisedSampler(concat(4, 0), batch_size=2, source_ratio=[1, 1])


def test_collate_groups_samples_by_branch():
    labelled = dict(inputs=dict(sup=torch.zeros(3, 2, 2)), data_samples=dict(sup='L0'))
    unlabelled = dict(inputs=dict(unsup_weak=torch.ones(3, 2, 2),
                                  unsup_strong=2 * torch.ones(3, 2, 2)),
                      data_samples=dict(unsup_weak='W', unsup_strong='S'))
    batch = multi_branch_collate([labelled, labelled, unlabelled])
    assert list(batch['inputs']) == ['sup', 'unsup_weak', 'unsup_strong']
    assert len(batch['inputs']['sup']) == 2 and len(batch['inputs']['unsup_weak']) == 1
    assert batch['data_samples'] == dict(sup=['L0', 'L0'], unsup_weak=['W'],
                                         unsup_strong=['S'])
    with pytest.raises(CdmxError, match='not multi-branch'):
        multi_branch_collate([dict(inputs=torch.zeros(1), data_samples=None)])
