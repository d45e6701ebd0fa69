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


def _pool_batches():
    """One data batch of four random 3x8x8 images."""
    gen = torch.Generator().manual_seed(0)
    return [dict(inputs=[torch.randint(100, 200, (3, 8, 8), generator=gen, dtype=torch.uint8)
                         for _ in range(4)], data_samples=[DataSample() for _ in range(4)])]


def _classifier(eval_statistics):
    return MODELS.build(dict(
        type='UCDMClassifier', backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=64),
        open_head=dict(type='OpenSetHead', num_classes=2, in_channels=64),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', to_rgb=False),
        bn_policy=dict(type='BatchNormPolicy', eval_statistics=eval_statistics)))


@pytest.mark.parametrize('eval_statistics', ['pool', 'running'])
def test_statistics_come_from_the_pool_before_testing_under_a_pool_policy(eval_statistics):
    model = _classifier(eval_statistics)
    model.eval()
    pool = _pool_batches()
    built = []
    runner = SimpleNamespace(model=model, logger=logging.getLogger('test'),
                             build_dataloader=lambda cfg: built.append(cfg) or pool)
    norm = next(m for m in model.modules() if isinstance(m, _BatchNorm))
    assert torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    HOOKS.build(dict(type='PoolBatchNormHook', pool=POOL)).before_test(runner)
    if eval_statistics == 'running':  # the policy keeps the running statistics: untouched
        assert built == [] and int(norm.num_batches_tracked) == 0
        return
    assert built == [POOL] and int(norm.num_batches_tracked) == 1
    assert not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    assert not model.training


def test_without_a_dataset_the_pool_is_the_training_sets_unlabeled_pool():
    model = _classifier('pool')
    real = object()
    built = []
    runner = SimpleNamespace(
        model=model, logger=logging.getLogger('test'),
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(unlabeled_pool=real)),
        build_dataloader=lambda cfg: built.append(cfg) or _pool_batches())
    HOOKS.build(dict(type='PoolBatchNormHook',
                     pool=dict(batch_size=4, sampler=dict(type='DefaultSampler')))).before_test(
                         runner)
    assert built[0]['dataset'] is real and built[0]['batch_size'] == 4


@pytest.mark.parametrize('pool', [dict(dataset=dict(type='X')), []])
def test_a_pool_without_dataset_or_sampler_is_refused(pool):
    with pytest.raises(CdmxError, match='PoolBatchNormHook pool must be a dataloader config with a sampler'):
        HOOKS.build(dict(type='PoolBatchNormHook', pool=pool))
