"""PoolBatchNormHook: BN statistics re-estimated on the unlabeled pool before the test loop."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from cdmx.registry import HOOKS, MODELS
from cdmx.utils.errors import CdmxError

POOL = dict(batch_size=4, dataset=dict(type='X'), sampler=dict(type='DefaultSampler'))


def test_statistics_come_from_the_pool_before_testing():
    model = MODELS.build(dict(
        type='UCDMClassifier', backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=64),
        open_head=dict(type='OpenSetHead', num_classes=2, in_channels=64),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', to_rgb=False)))
    model.eval()
    gen = torch.Generator().manual_seed(0)
    pool = [dict(inputs=[torch.randint(100, 200, (3, 8, 8), generator=gen, dtype=torch.uint8)
                         for _ in range(4)], data_samples=[DataSample() for _ in range(4)])]
    built = []
    runner = SimpleNamespace(model=model, logger=logging.getLogger('test'),
                             build_dataloader=lambda cfg: built.append(cfg) or pool)
    norm = next(m for m in model.modules() if isinstance(m, _BatchNorm))
    assert torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    HOOKS.build(dict(type='PoolBatchNormHook', pool=POOL)).before_test(runner)
    assert built == [POOL] and int(norm.num_batches_tracked) == 1
    assert not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    assert not model.training


@pytest.mark.parametrize('pool', [dict(batch_size=4, sampler=dict(type='DefaultSampler')),
                                  dict(dataset=dict(type='X')), []])
def test_a_pool_without_dataset_or_sampler_is_refused(pool):
    with pytest.raises(CdmxError, match='PoolBatchNormHook pool must be a dataloader config'):
        HOOKS.build(dict(type='PoolBatchNormHook', pool=pool))
