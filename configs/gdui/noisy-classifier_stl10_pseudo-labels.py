# GDUI's noisy-image classifier (§3.5) in the paper setting: SPICE's feature model (ResNet-34),
# its cluster head and a classification head, trained on noisy 96x96 x_t of the 13,000 STL-10
# images with the matched pseudo-labels (labels JSON: CDMX_GDUI_LABELS or labels_file=...).
#   python tools/train.py configs/gdui/noisy-classifier_stl10_pseudo-labels.py
_base_ = ['./unet_stl10.py']

labels_file = '{{$CDMX_GDUI_LABELS:work_dirs/gdui_stl10/labels.json}}'

model = dict(
    _delete_=True,
    type='NoisyClassifier',
    backbone=dict(type='mmpretrain.ResNet', depth=34, norm_cfg=dict(type='BN')),
    feat_channels=512,
    cluster_head=dict(type='ClusterHead', num_clusters=10, in_channels=512, num_heads=1,
                      hidden_channels=512),
    cls_head=dict(type='ClosedSetHead', num_classes=10, in_channels=10),
    noise_scheduler={{_base_.noise_scheduler}},
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5]))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PseudoLabelledDataset',
        dataset={{_base_.pool}},
        labels_file=labels_file,
        pipeline={{_base_.train_pipeline}}))

# Schedule chosen here (guided diffusion's classifier: AdamW 3e-4); the paper gives none.
max_iters = 50000
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=3e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters)
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=10000))
