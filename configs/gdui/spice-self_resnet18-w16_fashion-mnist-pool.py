# GDUI pseudo-label generation, stage 2 (§3.2, SPICE-self) in the mini world: five K-way heads
# are trained by EM on the frozen MoCo-v2 features of the Fashion-MNIST train pool (E-step:
# prototypes of each cluster's most confident samples and balanced nearest-prototype labels;
# M-step: cross-entropy on an augmented view). The head with the lowest loss predicts.
#   python tools/train.py configs/gdui/spice-self_resnet18-w16_fashion-mnist-pool.py
#   python tools/gdui/export_clusters.py configs/gdui/spice-self_resnet18-w16_fashion-mnist-pool.py \
#       work_dirs/spice-self_resnet18-w16_fashion-mnist-pool/iter_150.pth
# The second command writes P (N x K), the features and the cluster labels to
# work_dirs/spice-self_resnet18-w16_fashion-mnist-pool/pseudo_labels/.
_base_ = [
    '../_base_/datasets/fashion-mnist_pool_gdui.py',
    '../_base_/default_runtime.py',
]

moco_checkpoint = 'work_dirs/mocov2_resnet18-w16_fashion-mnist-pool/iter_600.pth'
model = dict(
    type='ClusterModel',
    stage='self',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16,
                  norm_cfg=dict(type='BN'),
                  init_cfg=dict(type='Pretrained', checkpoint=moco_checkpoint,
                                prefix='backbone.')),
    head=dict(type='ClusterHead', num_clusters={{_base_.num_clusters}}, in_channels=128,
              num_heads=5),
    # M = ceil(0.5 * B / K) = 25 samples per cluster and batch for prototypes and labels.
    prototype_labeler=dict(type='PrototypeLabeler', ratio=0.5))

# Large batches: every cluster needs enough confident samples per batch for its prototype.
train_dataloader = dict(
    batch_size=500,
    num_workers=0,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset={{_base_.em_dataset}})
# Clustering quality on the pool itself (its labels are used for scoring only).
val_dataloader = {{_base_.pool_dataloader}}
test_dataloader = val_dataloader
val_evaluator = dict(type='ClusteringMetric')
test_evaluator = val_evaluator

# ~2 s per iteration of 500 images on one shared CPU core (two frozen forward passes).
max_iters = 150
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_iters))
