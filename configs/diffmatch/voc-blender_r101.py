# DiffMatch on PASCAL VOC 2012 'blender' (VOC + SBD, 10,582 images; 1/16 = 662 labelled): as
# voc-classic_r101.py, with 80 epochs of the 9,920 unlabelled images at 8 per iteration
# (1,240 iterations per epoch).
_base_ = [
    '../_base_/datasets/voc_blender_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_diffmatch.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
iters_per_epoch = 1240
max_epochs = 80
max_iters = max_epochs * iters_per_epoch
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(decode_head=dict(num_classes={{_base_.num_classes}})))
optim_wrapper = dict(
    optimizer=dict(lr=0.001),
    # UniMatch's configs/pascal.yaml: lr 0.001 for 4 GPUs x 2, lr_multi 10.0 on the heads
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0),
                                    'denoiser': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=10 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=10 * iters_per_epoch))
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=1000), dict(type='GlobalBatchHook')]
