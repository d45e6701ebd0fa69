"""GlobalBatchHook: one line with the global batch and the base learning rates, and a warning when
the global batch differs from the config's reference while auto_scale_lr is off."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import LinearLR, build_optim_wrapper

from cdmx.engine.hooks import GlobalBatchHook
from cdmx.registry import HOOKS


class Recorder:
    def __init__(self):
        self.infos, self.warnings = [], []

    def info(self, message):
        self.infos.append(message)

    def warning(self, message):
        self.warnings.append(message)


class TwoParts(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(100, 10)  # 1,010 parameters
        self.decode_head = nn.Linear(10, 2)  # 22 parameters, 10x learning rate


def run_hook(world_size: int, auto_scale_lr=None):
    optim = build_optim_wrapper(TwoParts(), dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.005, momentum=0.9),
        paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)})))
    LinearLR(optim, start_factor=0.01, by_epoch=False, begin=0, end=10)  # warm-up: lr now 0.01x
    logger = Recorder()
    cfg = Config(dict() if auto_scale_lr is None else dict(auto_scale_lr=auto_scale_lr))
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(batch_size=2,
                                         sampler=SimpleNamespace(num_per_source=[1, 1])),
        world_size=world_size, optim_wrapper=optim, cfg=cfg, logger=logger)
    HOOKS.build(dict(type='GlobalBatchHook')).before_train(runner)
    return logger


def test_one_line_with_global_batch_and_base_learning_rates():
    logger = run_hook(8, dict(enable=False, base_batch_size=16))
    assert logger.infos == ['global batch 16 = 8 processes x 2 per process (per source [1, 1]); '
                            'base lr 0.005 (1,010 parameters), 0.05 (22 parameters) '
                            '(reference batch 16, auto_scale_lr off)']
    assert logger.warnings == []


@pytest.mark.parametrize('auto_scale_lr,warns', [(dict(enable=False, base_batch_size=16), True),
                                                 (dict(enable=True, base_batch_size=16), False),
                                                 (None, False)])
def test_fewer_processes_than_the_reference(auto_scale_lr, warns):
    logger = run_hook(2, auto_scale_lr)
    assert logger.infos[0].startswith('global batch 4 = 2 processes x 2 per process')
    assert bool(logger.warnings) == warns
    if warns:
        assert 'global batch of 16, this run has 4' in logger.warnings[0]
        assert 'auto_scale_lr.enable=True' in logger.warnings[0]


def test_is_registered():
    assert isinstance(HOOKS.build(dict(type='GlobalBatchHook')), GlobalBatchHook)
