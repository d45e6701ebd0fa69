# UCDM's data on CIFAR-100 (split cifar-100_ucdm: 20 known, 60 unknown, 20 new classes; 10,000
# known train images, Tables 14-15; 2,000 test images per kind). Same structure as
# ucdm_cifar-10.py; the folder holds the extracted `cifar-100-python` (env CDMX_CIFAR100).
_base_ = ['./ucdm_cifar-10.py']

data_root = '{{$CDMX_CIFAR100:data/cifar100}}'
split = 'cifar-100_ucdm'
num_known_classes = 20

# CIFAR-100 train-set per-channel mean and standard deviation (RGB, 0..255).
data_preprocessor = dict(
    num_classes=num_known_classes,
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418])

train_dataloader = dict(dataset=dict(real=dict(
    dataset=dict(type='CIFAR100', data_root=data_root), split=split)))
test_dataloader = dict(dataset=dict(
    dataset=dict(type='CIFAR100', data_root=data_root), split=split))
