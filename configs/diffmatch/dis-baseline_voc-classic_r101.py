# DiffMatch Table 5's Dis. Baseline on PASCAL VOC 2012 classic 1/16 (92 labels), the setting of
# Table 5 and of voc-classic_r101.py (same data, batches, schedule and evaluation): the extractor
# and the denoiser's deformable-attention layers with a cross-entropy classifier instead of the
# diffusion readout, in DiffMatch's loop (deeplabv3plus_r101-d8_dis-baseline.py).
#   tools/dist_train.sh configs/diffmatch/dis-baseline_voc-classic_r101.py 4
_base_ = [
    '../_base_/datasets/voc_classic_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_dis-baseline.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
iters_per_epoch = 1312  # as voc-classic_r101.py
max_epochs = 80
max_iters = max_epochs * iters_per_epoch
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(decode_head=dict(num_classes={{_base_.num_classes}})))
optim_wrapper = dict(
    optimizer=dict(lr=0.001),
    # UniMatch's configs/pascal.yaml: lr 0.001 for 4 GPUs x 2, lr_multi 10.0 on the heads (the
    # readout is part of decode_head)
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=10 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=10 * iters_per_epoch))
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=1000), dict(type='GlobalBatchHook')]
