"""TrainingMetaHook: the training images' shape and noise schedule in every checkpoint."""
import torch
from diffusers import DDPMScheduler
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from cdmx.engine.hooks import TrainingMetaHook
from cdmx.registry import DATASETS, MODELS
from cdmx.utils.training_meta import TRAINING_META_KEY

SCHEDULE = dict(num_train_timesteps=20, beta_schedule='linear', beta_start=0.001, beta_end=0.2)


@DATASETS.register_module()
class MetaHookImages(Dataset):
    """Eight grey uint8 images, 6x6 then (from item 4 on) ``later_size`` square."""

    def __init__(self, later_size: int = 6):
        self.later_size = later_size

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        side = 6 if index < 4 else self.later_size
        return dict(inputs=torch.zeros(1, side, side, dtype=torch.uint8))


@MODELS.register_module()
class MetaHookNet(BaseModel):
    """One parameter and a DDPM noise schedule, like cdmx's diffusion models."""

    def __init__(self):
        super().__init__()
        self.param = nn.Parameter(torch.ones(1))
        self.noise_scheduler = DDPMScheduler(**SCHEDULE)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=(self.param**2).sum())


def train(work_dir, later_size: int = 6, iters: int = 2, resume: bool = False) -> dict:
    """Train ``iters`` iterations of batches of 4 (unshuffled) and return the last checkpoint."""
    runner = Runner.from_cfg(Config(dict(
        model=dict(type='MetaHookNet'), work_dir=str(work_dir), default_scope='cdmx',
        train_dataloader=dict(batch_size=4, num_workers=0,
                              dataset=dict(type='MetaHookImages', later_size=later_size),
                              sampler=dict(type='InfiniteSampler', shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        custom_hooks=[dict(type='TrainingMetaHook')], resume=resume)))
    runner.train()
    return torch.load(work_dir / f'iter_{iters}.pth', weights_only=True)


def test_checkpoints_record_the_image_shape_and_the_schedule(tmp_path):
    record = train(tmp_path)['meta'][TRAINING_META_KEY]
    assert record['input_shape'] == [1, 6, 6]
    trained = DDPMScheduler.from_config(record['noise_scheduler'])
    assert torch.equal(trained.alphas_cumprod, DDPMScheduler(**SCHEDULE).alphas_cumprod)


def test_varying_shapes_are_recorded_as_unknown(tmp_path):
    assert train(tmp_path, later_size=8)['meta'][TRAINING_META_KEY]['input_shape'] is None


def test_a_resumed_run_keeps_the_record(tmp_path):
    train(tmp_path, later_size=8, iters=2)  # the second batch already had 8x8 images
    resumed = train(tmp_path, later_size=8, iters=3, resume=True)
    assert resumed['meta'][TRAINING_META_KEY]['input_shape'] is None


def test_batches_of_one_tensor_and_other_inputs():
    hook = TrainingMetaHook()
    hook.before_train_iter(None, 0, dict(inputs=torch.zeros(2, 3, 5, 5)))
    assert (hook.input_shape, hook.varied) == ((3, 5, 5), False)
    hook.before_train_iter(None, 1, dict(inputs={'image': torch.zeros(2, 3, 5, 5)}))
    assert hook.varied
