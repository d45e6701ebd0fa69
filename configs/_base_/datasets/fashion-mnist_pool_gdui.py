# GDUI's mini world: the Fashion-MNIST train pool (50,000 images, labels unused for training)
# clustered into K = 10 groups and named with the user's 10 class names. The folder holds the
# four idx(.gz) files; the environment variable CDMX_FASHION_MNIST overrides it.
data_root = '{{$CDMX_FASHION_MNIST:/usr/share/datasets/fashion-mnist}}'
pool = dict(type='FashionMNIST', data_root=data_root, subset='train_pool', channels=3)
# The names a user gives for the K groups (Fashion-MNIST's own class names here).
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
               'Sneaker', 'Bag', 'Ankle boot']
num_clusters = 10

# Fashion-MNIST train-set pixel mean and standard deviation (0.2860 and 0.3530 of 255). The
# self-supervised preprocessor takes a list of views (MultiView) as well as a single tensor.
data_preprocessor = dict(
    type='mmpretrain.SelfSupDataPreprocessor',
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    to_rgb=False)

# 28x28 images centred on 32x32 (mmpretrain's RandomCrop with padding 2 has one position).
centre = dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2)
# MoCo-v2's view (Chen et al., 2020) for grey 32x32 images: random resized crop, brightness and
# contrast jitter (no hue or saturation on grey), horizontal flip.
augmented_view = [
    centre,
    dict(type='mmpretrain.RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.0),
         backend='pillow'),
    dict(type='mmpretrain.RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4)],
         prob=0.8),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]
# FixMatch's weak (flip and shift by up to 4 pixels) and strong (weak + RandAugment) views.
weak_view = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=6),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
]
strong_view = weak_view + [
    # RandAugment builds its preset policies by unprefixed names: `_scope_` makes mmpretrain the
    # default scope while it is built.
    dict(type='mmpretrain.RandAugment', _scope_='mmpretrain', policies='timm_increasing',
         num_policies=2, total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=0, interpolation='bicubic')),
]

# Stage 1 (MoCo-v2, Eq. 6): two augmented views per image.
moco_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=2, transforms=[augmented_view]),
    dict(type='mmpretrain.PackInputs'),
]
# Stage 2 (EM on fixed features): the centred image (E-step) and an augmented view (M-step).
em_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=[1, 1], transforms=[[centre], augmented_view]),
    dict(type='mmpretrain.PackInputs'),
]
# Stage 3 (joint, Eqs. 8-9): weak and strong views and the reliable label of each image.
joint_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=[1, 1], transforms=[weak_view, strong_view]),
    dict(type='mmpretrain.PackInputs', meta_keys=('sample_idx', 'pseudo_label')),
]
test_pipeline = [centre, dict(type='mmpretrain.PackInputs')]

# The whole pool in order, for evaluation and for exporting P (tools/gdui/export_clusters.py).
pool_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**pool, pipeline=test_pipeline))

# The training sets of the three stages (the joint stage wraps `pool` in ReliableSamplesDataset).
moco_dataset = dict(**pool, pipeline=moco_pipeline)
em_dataset = dict(**pool, pipeline=em_pipeline)
