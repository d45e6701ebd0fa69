# DiffMatch's testbed (issue 17; cdmx/datasets/fashion_testbed.py, docs/notes/diffmatch_testbed.md):
# 64x64 Fashion-MNIST scenes with 8 classes (background, Top = the four look-alike tops merged,
# Trouser, Dress, Sandal, Sneaker, Bag, Ankle boot), long-tailed by item counts alone (head:tail
# 10 in items), every item drawn at the same size law. 8,000 training scenes, 1/16 labelled
# (500) and the rest unlabelled; 800 dev scenes for every choice (thresholds, alpha, schedules:
# the val loader here); 800 validation scenes for the reported numbers only (the test loader).
# Write the data once (about 30 s):
#   python tools/dataset_converters/make_fashion_testbed.py --out data/fashion_testbed
# and set the environment variable CDMX_FASHION_TESTBED when it lives elsewhere.
# Semi-supervised batches: 4 labelled + 4 unlabelled scenes. The unlabelled scenes carry their
# ground truth for the pseudo-label statistics alone (DiffMatch Figs. 1 and 8: "assuming that
# the ground truth for unlabeled data is available solely for theoretical analysis"): the
# semi-supervised segmentor replaces the strong view's labels by its pseudo-labels and reads the
# weak view's only to count (SemiSupervisedSegmentor._count).
data_root = '{{$CDMX_FASHION_TESTBED:data/fashion_testbed}}'
num_classes = 8
# 1/16: 500 labelled scenes. CDMX_TESTBED_SPLIT picks another split the data tool wrote
# (make_fashion_testbed.py --fractions; the splits are nested, so 1_32 is a subset of 1_16).
split = '{{$CDMX_TESTBED_SPLIT:1_16}}'
crop_size = (64, 64)
labelled_per_batch = 4
unlabelled_per_batch = 4
batch_size = labelled_per_batch + unlabelled_per_batch
class_pixel_counts = data_root + '/class_pixel_counts.json'

# The statistics the extractor was pretrained with (fashion-scenes_testbed-extractor.py).
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)

# Views as in the first mini world (fashion-scenes_semi.py). Weak: random rescale 1.0-1.5,
# random 64 crop, flip.
weak_view = [
    dict(type='RandomResize', scale=crop_size, ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='CheckedRandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# Strong = weak + UniMatch's photometric changes (CutMix is batch-wise, in the model).
strong_photometric = [
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='mmpretrain.ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5),
        dict(type='RandomHue', max_delta=0.25)]),  # mmcv's hue jitter fails under numpy 2
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), prob=0.5),
]
load_labels = dict(type='LoadCheckedAnnotations', num_classes=num_classes)
labelled_pipeline = [
    dict(type='LoadImageFromFile'),
    load_labels,
    *weak_view,
    dict(type='MultiBranchSeg', branches=dict(sup=[dict(type='mmseg.PackSegInputs')])),
]
unlabelled_pipeline = [
    dict(type='LoadImageFromFile'),
    load_labels,  # for the statistics only (see above)
    *weak_view,
    dict(type='MultiBranchSeg', branches=dict(
        unsup_weak=[dict(type='mmseg.PackSegInputs')],
        unsup_strong=[*strong_photometric, dict(type='mmseg.PackSegInputs')])),
]
# Plain mmseg format (the supervised stage and the oracle).
plain_pipeline = [
    dict(type='LoadImageFromFile'),
    load_labels,
    *weak_view,
    dict(type='mmseg.PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    load_labels,
    dict(type='mmseg.PackSegInputs'),
]

source = dict(type='FashionTestbedDataset', data_root=data_root)
labelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/fashion_testbed/{split}/labeled.txt',
    with_labels=True,
    num_classes=num_classes,
    pipeline=labelled_pipeline)
unlabelled_dataset = dict(
    type='SplitListDataset',
    dataset=source,
    split_file=f'splits/fashion_testbed/{split}/unlabeled.txt',
    with_labels=True,  # for the statistics only (see above)
    num_classes=num_classes,
    pipeline=unlabelled_pipeline)

# 64x64 PNGs decode in microseconds: no worker processes on the two shared cores.
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    sampler=dict(type='SemiSupervisedSampler', batch_size=batch_size,
                 source_ratio=[labelled_per_batch, unlabelled_per_batch]),
    collate_fn=dict(type='cdmx.multi_branch_collate'),
    dataset=dict(type='ConcatDataset', datasets=[labelled_dataset, unlabelled_dataset]))


def _scenes(folder):
    return dict(
        batch_size=16,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='FashionTestbedDataset', data_root=data_root,
                     data_prefix=dict(img_path=f'img_dir/{folder}',
                                      seg_map_path=f'ann_dir/{folder}'),
                     pipeline=test_pipeline))


# Choices are made on dev (validation during training, `tools/test.py ... --cfg-options
# test_dataloader.dataset.data_prefix.img_path=img_dir/dev
# test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/dev`); the numbers reported come from
# the val scenes (tools/test.py).
val_dataloader = _scenes('dev')
test_dataloader = _scenes('val')

# mIoU; head-3 / tail-3 mIoU ranked by the training pixels (DiffMatch Table 6 takes 5 of 21
# classes; 5 + 5 would overlap among 8, which HeadTailIoUMetric refuses, and 3 of 8 is the
# nearer share), per-class IoU; ECE (Fig. 4); the confusion matrix (Fig. 5).
evaluator = [
    dict(type='HeadTailIoUMetric', iou_metrics=['mIoU'], num_head=3, num_tail=3,
         per_class=True, class_pixel_counts=class_pixel_counts),
    dict(type='CalibrationMetric'),
    dict(type='SegConfusionMatrix'),
]
val_evaluator = evaluator
test_evaluator = evaluator
