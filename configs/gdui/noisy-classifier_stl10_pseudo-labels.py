# GDUI's noisy-image classifier (§3.5) in the paper setting, built as §3.5 says: "the feature
# model F and the clustering head C from the clustering stage, along with an additional
# classification head C_clf" — SPICE's ResNet-34 and its chosen cluster head (hidden layer of
# 512) start from the joint stage's checkpoint, C_clf is two FC layers (§4.2) — trained on noisy
# 96x96 x_t of the 13,000 STL-10 images with the matched pseudo-labels (labels JSON:
# CDMX_GDUI_LABELS or labels_file=...). The timestep enters every residual block (ADM's noisy
# classifier; NoisyClassifier), and feature_input gives F the clustering stage's normalisation.
#   python tools/train.py configs/gdui/noisy-classifier_stl10_pseudo-labels.py
# needs work_dirs/spice-joint_resnet34_stl10/last_checkpoint. BN keeps PyTorch's momentum 0.1:
# 0.9^50000 of the initial (clean-image) statistics is left, i.e. none.
_base_ = ['./unet_stl10.py']

labels_file = '{{$CDMX_GDUI_LABELS:work_dirs/gdui_stl10/labels.json}}'
clustering_checkpoint = 'work_dirs/spice-joint_resnet34_stl10/last_checkpoint'

model = dict(
    _delete_=True,
    type='NoisyClassifier',
    backbone=dict(type='mmpretrain.ResNet', depth=34, norm_cfg=dict(type='BN')),
    feat_channels=512,
    timestep_channels=64,
    cluster_head=dict(type='ClusterHead', num_clusters=10, in_channels=512, num_heads=1,
                      hidden_channels=512),
    # C_clf: 10 cluster logits -> 512 -> 10 classes (hidden width: C's; the paper gives none).
    cls_head=dict(type='mmpretrain.StackedLinearClsHead', num_classes=10, in_channels=10,
                  mid_channels=[512], loss=dict(type='mmpretrain.CrossEntropyLoss')),
    # The clustering stage's data_preprocessor (configs/_base_/datasets/stl10_gdui.py).
    feature_input=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    clustering_checkpoint=clustering_checkpoint,
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
