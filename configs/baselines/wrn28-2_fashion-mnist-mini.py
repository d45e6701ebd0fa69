# Supervised baseline of the mini world, the upper bound shown beside UCDM: WRN-28-2 trained
# with the true labels of the known-class images of UCDM's training mixture (MismatchDataset
# part 'train_known': 600 T-shirt/top and Sandal images of the train pool), tested on every
# known-class test image (part 'test_known', 2,000 images) with top-1 accuracy.
#   python tools/train.py configs/baselines/wrn28-2_fashion-mnist-mini.py
#   python tools/test.py configs/baselines/wrn28-2_fashion-mnist-mini.py \
#       work_dirs/wrn28-2_fashion-mnist-mini/last_checkpoint
_base_ = [
    '../_base_/models/wrn28-2.py',
    '../_base_/datasets/fashion-mnist_mini.py',
    '../_base_/schedules/sgd-cosine_150it.py',
    '../_base_/default_runtime.py',
]

model = dict(
    # BN momentum 0.1 instead of FixMatch's 0.001: the running statistics used at test time
    # average over ~1/momentum iterations, which must be far fewer than the 150 trained here.
    backbone=dict(norm_cfg=dict(type='BN', momentum=0.1)),
    head=dict(num_classes=2))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=150))
