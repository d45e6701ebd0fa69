# GDUI guided synthesis (§3.5) in the paper setting: an unconditional pixel-space UNet on the
# 13,000 STL-10 images (train + test merged) at 96x96, 500 diffusion steps.
#   python tools/train.py configs/gdui/unet_stl10.py      (CDMX_STL10=<stl10_binary>)
# The UNet (guided diffusion's layout at 96x96: 96 -> 48 -> 24 -> 12, attention at 24 and 12,
# 2 residual blocks per level) and the schedule are our choices; the paper fixes the 500 steps.
_base_ = ['../_base_/default_runtime.py']

data_root = '{{$CDMX_STL10:data/stl10_binary}}'
pool = dict(type='STL10', data_root=data_root, merge_train_test=True)
class_names = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship',
               'truck']

# 500 steps with DDPM's linear schedule rescaled from 1000 steps (Nichol & Dhariwal).
noise_scheduler = dict(
    num_train_timesteps=500,
    beta_schedule='linear',
    beta_start=0.0002,
    beta_end=0.04,
    variance_type='fixed_small',
    clip_sample=True,
    prediction_type='epsilon')

model = dict(
    type='PixelDiffusion',
    unet=dict(
        sample_size=96,
        in_channels=3,
        out_channels=3,
        block_out_channels=(128, 256, 256, 256),
        layers_per_block=2,
        down_block_types=('DownBlock2D', 'DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'),
        up_block_types=('AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D', 'UpBlock2D'),
        attention_head_dim=64,
        dropout=0.1),
    noise_scheduler=noise_scheduler,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5]))

train_pipeline = [
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataset = dict(**pool, pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=train_dataset)

# AdamW 1e-4 (guided diffusion's), EMA 0.9999.
max_iters = 200000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
custom_hooks = [dict(type='EMAHook', momentum=0.0001, begin_iter=1000)]
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=10000))
