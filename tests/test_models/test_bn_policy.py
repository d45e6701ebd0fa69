"""BatchNormPolicy inside UCDMClassifier: standard BN versus freezing the affine parameters after
N iterations with batch statistics outside training (the official UCDM behaviour)."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from cdmx.models import BatchNormPolicy
from cdmx.models.bn_policy import freezes_parameters, reestimate_statistics
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


def build(bn_policy=None, seed=0):
    torch.manual_seed(seed)
    cfg = dict(type='UCDMClassifier',
               backbone=dict(type='WideResNet', depth=10, widen_factor=1,
                             norm_cfg=dict(type='BN', momentum=0.1)),
               closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=64),
               open_head=dict(type='OpenSetHead', num_classes=2, in_channels=64),
               data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', to_rgb=False))
    if bn_policy is not None:
        cfg['bn_policy'] = bn_policy
    return MODELS.build(cfg)


def batch(seed):
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (2, 3, 8, 8), generator=gen, dtype=torch.uint8)
              for _ in range(4)]
    samples = [DataSample(metainfo=dict(branch='generated')).set_gt_label(i % 2)
               for i in range(4)]
    return dict(inputs=inputs, data_samples=samples)


def norms(model):
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def affine(model):
    return torch.cat([torch.cat([m.weight.detach().flatten(), m.bias.detach().flatten()])
                      for m in norms(model)])


def conv_weight(model):
    return model.backbone.stem.weight.detach().clone()


def step(model, wrapper, seed):
    model.train()
    model.train_step(batch(seed), wrapper)


def closed_of_first(model, companions):
    """Closed-set logits of one fixed image evaluated beside ``companions`` other images."""
    first = torch.full((1, 3, 8, 8), 0.5)
    with torch.no_grad():
        return model(torch.cat([first, companions]), mode='tensor')[0][0]


def test_standard_bn_trains_affine_and_evaluates_with_running_statistics():
    model = build()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    for i in range(3):
        before = affine(model)
        step(model, wrapper, i)
        assert not torch.equal(affine(model), before)
    model.eval()
    assert all(not m.training and m.track_running_stats for m in norms(model))
    alone = closed_of_first(model, torch.randn(3, 3, 8, 8))
    assert torch.allclose(alone, closed_of_first(model, 5 * torch.randn(3, 3, 8, 8)))


def test_freeze_affine_after_n_iterations_keeps_training_the_rest():
    model = build(dict(type='BatchNormPolicy', freeze_affine_after=2, eval_statistics='batch'))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    for i in range(2):  # iterations 0 and 1 still train BN
        before = affine(model)
        step(model, wrapper, i)
        assert not torch.equal(affine(model), before)
    for i in range(2, 4):  # from iteration 2 on BN affine is frozen, convolutions still learn
        before, conv = affine(model), conv_weight(model)
        step(model, wrapper, i)
        assert torch.equal(affine(model), before)
        assert not torch.equal(conv_weight(model), conv)
    assert int(model.bn_policy.iters_seen) == 4
    assert all(not m.weight.requires_grad and not m.bias.requires_grad for m in norms(model))


def test_batch_statistics_outside_training_leave_running_statistics_alone():
    model = build(dict(type='BatchNormPolicy', freeze_affine_after=0, eval_statistics='batch'))
    step(model, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)), 0)
    model.eval()
    assert all(m.training and not m.track_running_stats for m in norms(model))
    assert not model.backbone.training  # only the BN layers stay in training mode
    running = [m.running_mean.clone() for m in norms(model)]
    a = closed_of_first(model, torch.randn(3, 3, 8, 8))
    b = closed_of_first(model, 5 * torch.randn(3, 3, 8, 8))
    assert not torch.allclose(a, b)  # normalised with each batch's own statistics
    assert all(torch.equal(m.running_mean, r) for m, r in zip(norms(model), running))
    model.train()
    assert all(m.training and m.track_running_stats for m in norms(model))
    closed_of_first(model, torch.randn(3, 3, 8, 8))
    assert not torch.equal(norms(model)[0].running_mean, running[0])


def test_iteration_count_survives_a_checkpoint():
    policy = dict(type='BatchNormPolicy', freeze_affine_after=2)
    model = build(policy)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    for i in range(2):
        step(model, wrapper, i)
    resumed = build(policy, seed=1)
    resumed.load_state_dict(model.state_dict())
    assert int(resumed.bn_policy.iters_seen) == 2
    before = affine(resumed)
    step(resumed, OptimWrapper(torch.optim.SGD(resumed.parameters(), lr=0.1)), 2)
    assert torch.equal(affine(resumed), before)


@pytest.mark.parametrize('kwargs,match', [(dict(freeze_affine_after=-1), 'non-negative'),
                                          (dict(freeze_affine_after=1.5), 'non-negative'),
                                          (dict(eval_statistics='mean'), 'running')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(CdmxError, match=match):
        BatchNormPolicy(**kwargs)


def test_reestimated_statistics_are_the_average_over_the_pool():
    model = build(dict(type='BatchNormPolicy', freeze_affine_after=0))
    for seed in range(3):  # running statistics of "generated" batches
        step(model, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)), seed)
    model.eval()
    gen = torch.Generator().manual_seed(7)
    pool = [dict(inputs=[torch.randint(0, 256, (3, 8, 8), generator=gen, dtype=torch.uint8)
                         for _ in range(5)], data_samples=[DataSample() for _ in range(5)])
            for _ in range(3)]
    params = [p.detach().clone() for p in model.parameters()]
    assert reestimate_statistics(model, pool) == 3
    assert not model.training and not any(m.training for m in norms(model))
    assert all(torch.equal(a, b) for a, b in zip(params, model.parameters()))
    # The stem's BN: the plain average of the three pool batches' means and variances.
    stem_bn = norms(model)[0]
    means, variances = [], []
    with torch.no_grad():
        for data_batch in pool:
            x = model.backbone.stem(model.data_preprocessor(data_batch, False)['inputs'])
            means.append(x.mean(dim=(0, 2, 3)))
            variances.append(x.var(dim=(0, 2, 3), unbiased=True))
    torch.testing.assert_close(stem_bn.running_mean, torch.stack(means).mean(0))
    torch.testing.assert_close(stem_bn.running_var, torch.stack(variances).mean(0))
    assert stem_bn.momentum == 0.1  # restored
    with pytest.raises(CdmxError, match='pool is empty'):
        reestimate_statistics(model, [])


def test_freezing_policies_are_recognised_in_configs():
    assert freezes_parameters(dict(bn_policy=dict(type='BatchNormPolicy',
                                                  freeze_affine_after=100)))
    assert not freezes_parameters(dict(bn_policy=dict(type='BatchNormPolicy')))
    assert not freezes_parameters(dict(type='Net')) and not freezes_parameters(None)
