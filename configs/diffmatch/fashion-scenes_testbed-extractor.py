# Pretraining of the testbed's one extractor (docs/notes/diffmatch_testbed.md): mmseg's
# MobileNetV2 (the mini DeepLabv3+ backbone) as a classifier of the 10 Fashion-MNIST labels of
# the external pool (10,000 train-file images that no testbed scene uses), each item drawn as
# the scenes draw theirs (RenderFashionItem: scale 1.1-1.6, filled silhouette in a random
# colour on a random procedural texture, 40x40 canvas). Supervised on the pool's own labels
# rather than self-supervised: a few CPU minutes give class-level features (contrastive
# pretraining wants far more epochs and larger batches than two cores allow), and the pool is
# disjoint from the experiment's data, so every arm starts from the same extractor and none has
# seen a testbed scene. Standard strides (output stride 32, cheap); the segmentation backbone
# reuses the weights with output stride 8 and dilations, as DeepLab does with ImageNet weights.
#   python tools/train.py configs/diffmatch/fashion-scenes_testbed-extractor.py \
#       --work-dir work_dirs/pretrained/fashion_external_mobilenet_v2
# then copy its last checkpoint to work_dirs/pretrained/fashion_external_mobilenet_v2.pth
# (tools/diffmatch_testbed.sh does both); the testbed loads its `backbone.` weights
# (configs/_base_/models/deeplabv3plus_m-v2-d8_mini_testbed.py).
_base_ = ['../_base_/default_runtime.py']
max_iters = 800  # 64 items each: 5.1 passes over the pool
# ImageNet weights (torchvision's MobileNetV2, converted once by
# tools/model_converters/mobilenetv2_torchvision2mmseg.py; tools/diffmatch_testbed.sh does it)
# are the starting point, as DeepLab's backbones start from ImageNet: from random weights 800
# iterations ended at 45% top-1 and the full-label oracle at 29.6 mIoU (docs/notes/
# diffmatch_testbed.md).
imagenet_init = dict(
    type='Pretrained',
    checkpoint='{{$CDMX_PRETRAINED:work_dirs/pretrained}}/mobilenet_v2_mmseg.pth')
model = dict(
    type='mmpretrain.ImageClassifier',
    # The segmentation data preprocessor's statistics (fashion-scenes_testbed.py).
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=10,
                           mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    # out_indices (5, 6): mmseg's MobileNetV2 returns a bare tensor for a single index, which
    # mmpretrain's neck and head would read as a batch of tuples.
    backbone=dict(type='mmseg.MobileNetV2', widen_factor=1.0, out_indices=(5, 6),
                  norm_cfg=dict(type='BN', requires_grad=True), init_cfg=imagenet_init),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=10, in_channels=320, cal_acc=True,
              loss=dict(type='mmpretrain.CrossEntropyLoss')))
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='FashionMNIST',
        data_root='{{$CDMX_FASHION_MNIST:/usr/share/datasets/fashion-mnist}}',
        subset='external',
        channels=1,
        pipeline=[dict(type='RenderFashionItem', canvas=40, scale_range=(1.1, 1.6),
                       threshold=40),
                  dict(type='mmpretrain.PackInputs')]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=100, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
