# The mini world of DiffMatch: long-tailed Fashion-MNIST scenes (64x64, 11 classes: background +
# the 10 Fashion-MNIST classes; head:tail pixel ratio ~170 between the item classes), 1/16 of
# the 4,000 training scenes labelled (250), the rest unlabelled, 800 validation scenes.
# Write the data once (about 40 s; scenes from Fashion-MNIST's train pool and test split):
#   python tools/dataset_converters/make_fashion_scenes.py --out data/fashion_scenes
# and set the environment variable CDMX_FASHION_SCENES when it lives elsewhere.
# A config that changes `split` also sets the two split_file entries below.
# The first mini world; DiffMatch's comparison runs on its redesign, fashion-scenes_testbed.py.
data_root = '{{$CDMX_FASHION_SCENES:data/fashion_scenes}}'
num_classes = 11
split = '1_16'  # 250 labelled scenes
crop_size = (64, 64)
labelled_per_batch = 4
unlabelled_per_batch = 4
batch_size = labelled_per_batch + unlabelled_per_batch

# ImageNet statistics (the MobileNetV2 backbone is ImageNet-pretrained).
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)

# The weak view: random rescale 1.0-1.5 of the 64x64 scene (never below the crop), random 64
# crop, horizontal flip.
weak_view = [
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='CheckedRandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# The strong view = the weak view + UniMatch's photometric changes (CutMix is batch-wise, in the
# model): colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur sigma 0.1-2.0 (p 0.5).
strong_photometric = [
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='mmpretrain.ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5),
        dict(type='RandomHue', max_delta=0.25)]),  # mmcv's hue jitter fails under numpy 2
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), prob=0.5),
]
labelled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedAnnotations', num_classes=num_classes),
    *weak_view,
    dict(type='MultiBranchSeg', branches=dict(sup=[dict(type='mmseg.PackSegInputs')])),
]
unlabelled_pipeline = [
    dict(type='LoadImageFromFile'),
    *weak_view,
    dict(type='MultiBranchSeg', branches=dict(
        unsup_weak=[dict(type='mmseg.PackSegInputs')],
        unsup_strong=[*strong_photometric, dict(type='mmseg.PackSegInputs')])),
]
# Supervised-only training on the labelled split with mmseg's plain format.
sup_only_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedAnnotations', num_classes=num_classes),
    *weak_view,
    dict(type='mmseg.PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCheckedAnnotations', num_classes=num_classes),
    dict(type='mmseg.PackSegInputs'),
]

source = dict(type='FashionScenesDataset', data_root=data_root)
labelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/fashion_scenes/{split}/labeled.txt',
    with_labels=True,
    num_classes=num_classes,
    pipeline=labelled_pipeline)
unlabelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/fashion_scenes/{split}/unlabeled.txt',
    with_labels=False,
    num_classes=num_classes,
    pipeline=unlabelled_pipeline)

# Images are decoded in the main process: 64x64 PNGs take microseconds, and worker processes
# would only compete with the model for the two CPU cores.
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    sampler=dict(type='SemiSupervisedSampler', batch_size=batch_size,
                 source_ratio=[labelled_per_batch, unlabelled_per_batch]),
    # Prefixed: mmengine looks collate functions up in its root registry, not in cdmx's.
    collate_fn=dict(type='cdmx.multi_branch_collate'),
    dataset=dict(type='ConcatDataset', datasets=[labelled_dataset, unlabelled_dataset]))

val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FashionScenesDataset',
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# mIoU with head-5 / tail-5 mIoU ranked by the training pixels the scene tool counted (Table 6),
# calibration (Fig. 4) and the confusion matrix.
val_evaluator = [
    dict(type='HeadTailIoUMetric', iou_metrics=['mIoU'],
         class_pixel_counts='{{$CDMX_FASHION_SCENES:data/fashion_scenes}}/class_pixel_counts.json'),
    dict(type='CalibrationMetric'),
    dict(type='SegConfusionMatrix'),
]
test_evaluator = val_evaluator
