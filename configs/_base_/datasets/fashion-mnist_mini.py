# The mini world: Fashion-MNIST cut into UCDM's 2/6/2 known/unknown/new setting
# (split file cdmx/data/splits/fashion-mnist_mini.json: known T-shirt/top and Sandal).
# The folder holds the four idx(.gz) files; override it with the environment variable
# CDMX_FASHION_MNIST (mmengine substitutes it when the config is read) or with
# --cfg-options train_dataloader.dataset.dataset.data_root=... (and val_/test_dataloader).
data_root = '{{$CDMX_FASHION_MNIST:/usr/share/datasets/fashion-mnist}}'
split = 'fashion-mnist_mini'
num_known_classes = 2

# Fashion-MNIST train-set pixel mean and standard deviation (0.2860 and 0.3530 of 255), the
# grey channel repeated three times (FashionMNIST(channels=3)).
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_known_classes,
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    to_rgb=False)

# 28x28 images are padded by 2 pixels on each side to the 32x32 input of WRN-28-2. mmcv's Pad
# only pads the bottom and right, so the padding is done by mmpretrain's RandomCrop: with
# crop_size 32 and padding 2 its crop has one possible position (deterministic); with padding 6
# it also shifts the image by up to 4 pixels (FixMatch's "flip-and-shift" augmentation).
train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=6),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.PackInputs'),
]

# Images are decoded in the main process: the pipeline is a few microseconds per 28x28 image and
# worker processes would only compete with the model for the CPU cores.
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    # Iteration-based training: mmengine's DefaultSampler makes the train loop sleep 2 s at
    # every epoch restart, the InfiniteSampler never restarts.
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='FashionMNIST', data_root=data_root, subset='train_pool'),
        split=split,
        part='train_known',
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='FashionMNIST', data_root=data_root, subset='test'),
        split=split,
        part='test_known',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator
