# GDUI pseudo-label generation, stage 1 (§3.2, Eq. 6) in the mini world: MoCo-v2 (mmpretrain's
# MoCo with the MLP neck and MoCo-v2 augmentation) trains the feature model on the 50,000
# unlabeled images of the Fashion-MNIST train pool. The feature model is a narrow ResNet-18 for
# 32x32 inputs (mmpretrain's ResNet_CIFAR, 16 base channels, 128-d pooled features).
#   python tools/train.py configs/gdui/mocov2_resnet18-w16_fashion-mnist-pool.py
# writes work_dirs/mocov2_resnet18-w16_fashion-mnist-pool/iter_<max_iters>.pth, which the EM
# stage (spice-self_resnet18-w16_fashion-mnist-pool.py) loads.
_base_ = [
    '../_base_/datasets/fashion-mnist_pool_gdui.py',
    '../_base_/default_runtime.py',
]

batch_size = 128
model = dict(
    type='mmpretrain.MoCo',
    # The queue holds 32 batches of negative keys (mmpretrain needs a multiple of the batch).
    queue_len=4096,
    feat_dim=64,
    # mmpretrain's momentum is 1 - m of the MoCo paper: m = 0.99 suits a short run.
    momentum=0.01,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16,
                  norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='mmpretrain.MoCoV2Neck', in_channels=128, hid_channels=128, out_channels=64,
              with_avg_pool=True),
    head=dict(type='mmpretrain.ContrastiveHead',
              loss=dict(type='mmpretrain.CrossEntropyLoss'), temperature=0.2))

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset={{_base_.moco_dataset}})

# MoCo-v2's SGD (lr 0.03 per 256 images, momentum 0.9, weight decay 1e-4) with cosine decay.
# ~1 s per iteration on one shared CPU core (measured): 600 iterations (1.5 epochs) take ~10
# minutes; raise max_iters for better features when there is time or a GPU.
max_iters = 600
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
