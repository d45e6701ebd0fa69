# GDUI's paper setting: STL-10's labelled train (5,000) and test (8,000) images merged into one
# unlabeled pool of 13,000 96x96 images, clustered into K = 10 groups. The folder is the
# extracted `stl10_binary` of the official archive (environment variable CDMX_STL10).
data_root = '{{$CDMX_STL10:data/stl10_binary}}'
pool = dict(type='STL10', data_root=data_root, merge_train_test=True)
# The names a user gives for the K groups (STL-10's class_names.txt).
class_names = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship',
               'truck']
num_clusters = 10

# ImageNet statistics (the images are RGB already, so no channel flip).
data_preprocessor = dict(
    type='mmpretrain.SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)

# MoCo-v2's augmentation (Chen et al., 2020, as in mmpretrain's mocov2 config) at 96x96, without
# its hue jitter of 0.1: mmcv's adjust_hue computes np.uint8 of a negative number, which NumPy 2
# refuses (OverflowError) for every negative hue factor.
augmented_view = [
    dict(type='mmpretrain.RandomResizedCrop', scale=96, crop_ratio_range=(0.2, 1.0),
         backend='pillow'),
    dict(type='mmpretrain.RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.4)],
         prob=0.8),
    dict(type='mmpretrain.RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
         prob=0.5),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]
# FixMatch's weak (flip and shift by up to 12.5%) and strong (weak + RandAugment) views.
weak_view = [
    dict(type='mmpretrain.RandomCrop', crop_size=96, padding=12, padding_mode='reflect'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]
strong_view = weak_view + [
    # RandAugment builds its preset policies by unprefixed names: `_scope_` makes mmpretrain the
    # default scope while it is built.
    dict(type='mmpretrain.RandAugment', _scope_='mmpretrain', policies='timm_increasing',
         num_policies=2, total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=128, interpolation='bicubic')),
]

moco_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=2, transforms=[augmented_view]),
    dict(type='mmpretrain.PackInputs'),
]
em_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=[1, 1], transforms=[[], augmented_view]),
    dict(type='mmpretrain.PackInputs'),
]
joint_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=[1, 1], transforms=[weak_view, strong_view]),
    dict(type='mmpretrain.PackInputs', meta_keys=('sample_idx', 'pseudo_label')),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

pool_dataloader = dict(
    batch_size=256,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**pool, pipeline=test_pipeline))

# The training sets of the three stages (the joint stage wraps `pool` in ReliableSamplesDataset).
moco_dataset = dict(**pool, pipeline=moco_pipeline)
em_dataset = dict(**pool, pipeline=em_pipeline)
