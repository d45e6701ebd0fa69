# GDUI guided synthesis (§3.5) in the mini world: the unconditional pixel-space diffusion model
# (diffusers UNet2DModel, epsilon prediction, GDUI's 500 diffusion steps) trained on the 50,000
# images of the Fashion-MNIST train pool at their native 28x28, grey (one channel).
#   python tools/train.py configs/gdui/unet_fashion-mnist-mini.py
# writes work_dirs/unet_fashion-mnist-mini/iter_<max_iters>.pth (an mmengine checkpoint whose
# state_dict holds the EMA weights), which tools/gdui/sample.py loads.
_base_ = ['../_base_/default_runtime.py']

data_root = '{{$CDMX_FASHION_MNIST:/usr/share/datasets/fashion-mnist}}'
pool = dict(type='FashionMNIST', data_root=data_root, subset='train_pool', channels=1)
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
               'Sneaker', 'Bag', 'Ankle boot']

# 500 steps (GDUI) with DDPM's linear schedule rescaled from 1000 steps (Nichol & Dhariwal):
# beta from 1e-4 * 1000/500 to 0.02 * 1000/500. The classifier configs reuse this dict.
noise_scheduler = dict(
    num_train_timesteps=500,
    beta_schedule='linear',
    beta_start=0.0002,
    beta_end=0.04,
    variance_type='fixed_small',
    clip_sample=True,
    prediction_type='epsilon')

# 0.69M parameters, 144 MFLOPs per 28x28 image (torch.utils.flop_counter): 28 -> 14 -> 7 with
# self-attention only at 7x7; a training iteration of 64 images is ~28 GFLOPs.
model = dict(
    type='PixelDiffusion',
    unet=dict(
        sample_size=28,
        in_channels=1,
        out_channels=1,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        down_block_types=('DownBlock2D', 'DownBlock2D', 'AttnDownBlock2D'),
        up_block_types=('AttnUpBlock2D', 'UpBlock2D', 'UpBlock2D'),
        norm_num_groups=8,
        attention_head_dim=16),
    noise_scheduler=noise_scheduler,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5]))

train_pipeline = [
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataset = dict(**pool, pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=train_dataset)

# Adam at 1e-3 after 100 warm-up iterations (a short run needs a larger step than DDPM's 2e-4)
# and an EMA of the weights (window ~500 iterations) that the checkpoints save as state_dict.
# Measured: 0.41 s of CPU time per iteration of 64 images on one core, so the 2000 iterations
# (2.6 epochs) take ~14 minutes on one idle core.
max_iters = 2000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
custom_hooks = [dict(type='EMAHook', momentum=0.002, begin_iter=100)]
# A checkpoint every 500 iterations (iter_500.pth ... iter_2000.pth, EMA weights in each): the
# UNets that GDUI's Fig. 2 (metrics against training iterations) samples from
# (GDUI_FIG2_ITERS in tools/gdui/mini_stages.py).
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500))
