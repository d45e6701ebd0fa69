# DiffMatch on COCO (81 classes, 1/512 = 232 labelled images), crop 513, 2 labelled + 2
# unlabelled per GPU on 4 GPUs (the paper's batch 8; UniMatch's configs/coco.yaml: 2 per GPU x 4
# GPUs, lr 0.004, lr_multi 10.0), UniMatch's COCO schedule: SGD lr 0.004 (heads 10x), poly,
# 30 epochs of the 118,055 unlabelled images at 8 per iteration (14,757 iterations per epoch).
# The paper's COCO backbone is Xception-65, which mmseg does not offer (nor mmpretrain as a
# segmentation backbone); this config uses mmseg's ResNet-101 V1c, so its numbers are not the
# paper's COCO row.
_base_ = [
    '../_base_/datasets/coco_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_diffmatch.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
iters_per_epoch = 14757
max_epochs = 30
max_iters = max_epochs * iters_per_epoch
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(decode_head=dict(num_classes={{_base_.num_classes}})))
optim_wrapper = dict(
    optimizer=dict(lr=0.004),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0),
                                    'denoiser': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=2 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=2 * iters_per_epoch))
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=1000), dict(type='GlobalBatchHook')]
