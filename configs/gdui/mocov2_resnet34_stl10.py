# GDUI pseudo-label generation, stage 1 (§3.2, Eq. 6) in the paper setting: MoCo-v2 (mmpretrain's
# MoCo, MLP neck, MoCo-v2 augmentation) trains a ResNet-34 on the 13,000 unlabeled 96x96 images
# of STL-10 (train + test merged).
#   python tools/train.py configs/gdui/mocov2_resnet34_stl10.py     (CDMX_STL10=<stl10_binary>)
# Schedule chosen here (the papers give epochs, not this exact recipe): 500 epochs of 50
# iterations at batch 256, SGD lr 0.03 with cosine decay.
_base_ = [
    '../_base_/datasets/stl10_gdui.py',
    '../_base_/default_runtime.py',
]

batch_size = 256
model = dict(
    type='mmpretrain.MoCo',
    # 32 batches of negative keys: a longer queue than the 13,000 images would repeat them.
    queue_len=8192,
    feat_dim=128,
    momentum=0.001,  # 1 - m with MoCo's m = 0.999
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='mmpretrain.ResNet', depth=34, norm_cfg=dict(type='BN'),
                  zero_init_residual=False),
    neck=dict(type='mmpretrain.MoCoV2Neck', in_channels=512, hid_channels=2048,
              out_channels=128, with_avg_pool=True),
    head=dict(type='mmpretrain.ContrastiveHead',
              loss=dict(type='mmpretrain.CrossEntropyLoss'), temperature=0.2))

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset={{_base_.moco_dataset}})

max_iters = 25000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=5000))
