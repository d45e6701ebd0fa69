# CIFAR-10 cut into UCDM's 2/6/2 known/unknown/new setting (split file
# cdmx/data/splits/cifar-10_ucdm.json: known airplane and automobile, all 10,000 of their train
# images; 2,000 test images per kind). data_root is the folder that holds the extracted
# `cifar-10-batches-py` of the official python archive; set it with the environment variable
# CDMX_CIFAR10 or edit it here (default: data/cifar10 in the repository, which git ignores).
data_root = '{{$CDMX_CIFAR10:data/cifar10}}'
split = 'cifar-10_ucdm'
num_known_classes = 2

# CIFAR-10 train-set per-channel mean and standard deviation (RGB, 0..255).
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_known_classes,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)

# Flip-and-shift augmentation (shifts of up to 4 pixels, horizontal flips).
train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

train_dataloader = dict(
    batch_size=32,  # UCDM's classifier batch size
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='CIFAR10', data_root=data_root, split='train'),
        split=split,
        part='train_known',
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='CIFAR10', data_root=data_root, split='test'),
        split=split,
        part='test_known',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator
