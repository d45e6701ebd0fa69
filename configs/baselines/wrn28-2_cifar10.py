# Supervised baseline at paper scale, the upper bound beside UCDM on CIFAR-10: WRN-28-2 trained
# with the true labels of the 10,000 known-class (airplane, automobile) train images, tested on
# every known-class test image (2,000) with top-1 accuracy. Needs the CIFAR-10 python archive
# (see configs/_base_/datasets/cifar-10_ucdm.py for where it goes) and, realistically, a GPU:
#   CDMX_CIFAR10=/path/to/cifar10 python tools/train.py configs/baselines/wrn28-2_cifar10.py
_base_ = [
    '../_base_/models/wrn28-2.py',
    '../_base_/datasets/cifar-10_ucdm.py',
    '../_base_/schedules/adam_125k.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=2))
default_hooks = dict(checkpoint=dict(interval=5000))
