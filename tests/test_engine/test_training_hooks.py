"""DatasetEpochHook and FiniteLossHook inside a real mmengine Runner."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from cdmx.registry import DATASETS, MODELS
from cdmx.utils.errors import CdmxError


@DATASETS.register_module()
class HookTestEpochs(Dataset):
    """Ten items; records every set_epoch call with the number of items drawn before it."""

    def __init__(self, size: int = 10):
        self.size, self.drawn, self.calls = size, 0, []

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        self.drawn += 1
        return dict(inputs=torch.ones(2))

    def set_epoch(self, epoch: int) -> None:
        self.calls.append((epoch, self.drawn))


@MODELS.register_module()
class HookTestNet(BaseModel):
    """A scalar parameter; the loss becomes NaN at training step ``nan_at`` (1-based)."""

    def __init__(self, nan_at: int = 0):
        super().__init__()
        self.param = nn.Parameter(torch.ones(1))
        self.nan_at, self.steps = nan_at, 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.steps += 1
        loss = (self.param ** 2).sum()
        if self.steps == self.nan_at:
            loss = loss * float('nan')
        return dict(loss=loss)


def _runner(work_dir, loop: dict, hooks: list, nan_at: int = 0, sampler='InfiniteSampler'):
    return Runner.from_cfg(Config(dict(
        model=dict(type='HookTestNet', nan_at=nan_at),
        work_dir=str(work_dir),
        train_dataloader=dict(batch_size=4, num_workers=0, dataset=dict(type='HookTestEpochs'),
                              sampler=dict(type=sampler, shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=loop,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=hooks,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        default_scope='cdmx', log_level='WARNING',
        experiment_name=os.path.basename(str(work_dir)))))


def test_epoch_based_loops_pass_the_runner_epoch_before_drawing(tmp_path):
    runner = _runner(tmp_path, dict(type='EpochBasedTrainLoop', max_epochs=2),
                     [dict(type='DatasetEpochHook')], sampler='DefaultSampler')
    runner.train()
    # 10 items a epoch: epoch 1 is announced after the 10 draws of epoch 0.
    assert runner.train_dataloader.dataset.calls == [(0, 0), (1, 10)]


def test_iteration_loops_and_datasets_without_set_epoch_are_refused(tmp_path):
    runner = _runner(tmp_path / 'iter', dict(type='IterBasedTrainLoop', max_iters=2),
                     [dict(type='DatasetEpochHook')])
    with pytest.raises(CdmxError, match='serves epoch-based loops'):
        runner.train()
    runner = _runner(tmp_path / 'epoch', dict(type='EpochBasedTrainLoop', max_epochs=1),
                     [dict(type='DatasetEpochHook')], sampler='DefaultSampler')
    runner.train_dataloader.dataset.set_epoch = None
    with pytest.raises(CdmxError, match='no set_epoch'):
        runner.train()


def test_nan_loss_stops_with_one_sentence_and_keeps_the_last_checkpoint(tmp_path):
    runner = _runner(tmp_path, dict(type='IterBasedTrainLoop', max_iters=5),
                     [dict(type='FiniteLossHook')], nan_at=3)
    with pytest.raises(CdmxError, match=r'loss became nan at iteration 3 .*--resume'):
        runner.train()
    assert os.path.isfile(tmp_path / 'iter_2.pth')
    assert not os.path.exists(tmp_path / 'iter_3.pth')
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_2.pth')
    state = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert torch.isfinite(state['state_dict']['param']).all()
