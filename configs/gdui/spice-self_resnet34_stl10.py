# GDUI pseudo-label generation, stage 2 (§3.2, SPICE-self) in the paper setting: ten K-way heads
# (hidden layer of 512) trained by EM on the frozen MoCo-v2 ResNet-34 features of STL-10's
# 13,000 images; the head with the lowest loss predicts.
#   python tools/train.py configs/gdui/spice-self_resnet34_stl10.py
#   python tools/gdui/export_clusters.py configs/gdui/spice-self_resnet34_stl10.py \
#       work_dirs/spice-self_resnet34_stl10/iter_2600.pth --device cuda
_base_ = [
    '../_base_/datasets/stl10_gdui.py',
    '../_base_/default_runtime.py',
]

moco_checkpoint = 'work_dirs/mocov2_resnet34_stl10/iter_25000.pth'
model = dict(
    type='ClusterModel',
    stage='self',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='mmpretrain.ResNet', depth=34, norm_cfg=dict(type='BN'),
                  init_cfg=dict(type='Pretrained', checkpoint=moco_checkpoint,
                                prefix='backbone.')),
    head=dict(type='ClusterHead', num_clusters={{_base_.num_clusters}}, in_channels=512,
              num_heads=10, hidden_channels=512),
    prototype_labeler=dict(type='PrototypeLabeler', ratio=0.5))

train_dataloader = dict(
    batch_size=500,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset={{_base_.em_dataset}})
val_dataloader = {{_base_.pool_dataloader}}
test_dataloader = val_dataloader
val_evaluator = dict(type='ClusteringMetric')
test_evaluator = val_evaluator

# 100 epochs of 26 iterations.
max_iters = 2600
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_iters))
