# UCDM in the mini world, the README's main job (`make demo` runs it with its two baselines):
# Fashion-MNIST 2/6/2 at mismatch 60% (600 known + 900 unknown seed images), positives and
# negatives from the mini Stable Diffusion with the paper's generation settings, WRN-28-2 with
# closed and one-vs-all heads, confidence labelling (delta 0.98) every tenth of training for 10
# rounds, tested on 1,000 known / 1,000 unknown / 1,000 new test images.
#   python tools/pretrain_foundation.py configs/foundation/mini_sd.py     # once, ~14 min
#   python tools/generate.py configs/ucdm/ucdm_wrn28-2_fashion-mnist-mini.py
#   python tools/train.py configs/ucdm/ucdm_wrn28-2_fashion-mnist-mini.py
#   python tools/test.py configs/ucdm/ucdm_wrn28-2_fashion-mnist-mini.py \
#       work_dirs/ucdm_wrn28-2_fashion-mnist-mini/last_checkpoint
_base_ = [
    '../_base_/models/ucdm_wrn28-2.py',
    '../_base_/datasets/ucdm_fashion-mnist_mini.py',
    '../_base_/generation/mini-sd_ucdm.py',
    '../_base_/default_runtime.py',
]

cache_dir = {{_base_.cache_dir}}
generation = dict(cache_dir=cache_dir)

# BN momentum 0.1: the running statistics used at test time must average over far fewer
# iterations than the few hundred trained here (FixMatch's 0.001 would not converge).
model = dict(backbone=dict(norm_cfg=dict(type='BN', momentum=0.1)),
             loss=dict(lambda2=2.0))

# Paper optimiser (Adam, constant lr 5e-3, batch 32 pairs), on a CPU-sized schedule: 600
# iterations (~6 passes over the 3,000 generated pairs), labelling every 60 iterations for 10
# rounds (the paper: every 40 of 400 epochs, 10 rounds).
max_iters = 600
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
test_cfg = dict(type='TestLoop')

custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='DatasetEpochHook'),
    dict(type='ConfidenceLabellingHook',
         pool={{_base_.labelling_pool}},  # the dataset: train_dataloader.dataset.real
         labeler=dict(type='ConfidencePairLabeler', delta=0.98),
         interval=max_iters // 10,
         max_rounds=10,
         by_epoch=False),
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters // 10,
                                                                 max_keep_ckpts=1))
