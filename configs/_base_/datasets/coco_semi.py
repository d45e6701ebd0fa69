# COCO 2017 (81 classes: background + the 80 objects) for semi-supervised segmentation, the
# setting of PseudoSeg / UniMatch / DiffMatch: labelled splits of 1/512 ... 1/32 of the 118,287
# training images, evaluated on the 5,000 val images at their original size.
# data_root is UniMatch's layout: train2017/*.jpg, val2017/*.jpg and masks/<id>.png with values
# 0-80 and 255 (python tools/dataset_converters/coco_object_masks.py $CDMX_COCO builds the
# masks from annotations/); set it with the environment variable CDMX_COCO. Split files:
#   python tools/dataset_converters/make_semi_splits.py $CDMX_COCO --layout coco
# A config that changes `split` also sets the two split_file entries below.
data_root = '{{$CDMX_COCO:data/coco}}'
num_classes = 81
split = '1_512'  # 232 labelled images
crop_size = (513, 513)  # UniMatch / DiffMatch on COCO
# Per GPU two labelled and two unlabelled images.
labelled_per_gpu = 2
unlabelled_per_gpu = 2
batch_size = labelled_per_gpu + unlabelled_per_gpu

# ImageNet statistics (the backbones are ImageNet-pretrained); batches are padded to the crop
# (image 0, label 255): a view smaller than the crop keeps its valid region in img_shape.
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)

# The weak view (shared by the labelled, weak and strong branches): random rescale 0.5-2.0 of
# the image (long side 640 for COCO), random crop (smaller views are padded in the batch),
# horizontal flip.
weak_view = [
    dict(type='RandomResize', scale=(640, 640), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='CheckedRandomCrop', crop_size=crop_size, allow_smaller=True),
    dict(type='RandomFlip', prob=0.5),
]
# The strong view = the weak view + photometric changes only (UniMatch's strong augmentation
# without CutMix, which the model applies batch-wise): colour jitter (p 0.8), grayscale (p 0.2),
# Gaussian blur with sigma in [0.1, 2.0] (p 0.5).
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

source = dict(
    type='COCOObjectDataset',
    data_root=data_root,
    data_prefix=dict(img_path='train2017', seg_map_path='masks'))
labelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/coco/{split}/labeled.txt',
    with_labels=True,
    num_classes=num_classes,
    pipeline=labelled_pipeline)
unlabelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/coco/{split}/unlabeled.txt',
    with_labels=False,
    num_classes=num_classes,
    pipeline=unlabelled_pipeline)

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler', batch_size=batch_size,
                 source_ratio=[labelled_per_gpu, unlabelled_per_gpu]),
    # Prefixed: mmengine looks collate functions up in its root registry, not in cdmx's.
    collate_fn=dict(type='cdmx.multi_branch_collate'),
    dataset=dict(type='ConcatDataset', datasets=[labelled_dataset, unlabelled_dataset]))

val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='COCOObjectDataset',
        data_root=data_root,
        data_prefix=dict(img_path='val2017', seg_map_path='masks'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# mIoU with head-5 / tail-5 mIoU (Table 6; ranked by the evaluated pixels unless
# class_pixel_counts='<data_root>/splits/coco/class_pixel_counts.json' from
# make_semi_splits.py --count-pixels is given), calibration (Fig. 4), confusion matrix.
val_evaluator = [
    dict(type='HeadTailIoUMetric', iou_metrics=['mIoU']),
    dict(type='CalibrationMetric'),
    dict(type='SegConfusionMatrix'),
]
test_evaluator = val_evaluator
