# GDUI's noisy-image classifier (§3.5) in the mini world, trained on noisy x_t of the Fashion-MNIST
# train pool with the matched pseudo-labels of GDUI's clustering, matching and refinement: by
# default the "+LMR" labels that tools/gdui/match_labels.py writes for
# match_mini-clip-stable-marriage_fashion-mnist-pool.py (another labels JSON: environment
# variable CDMX_GDUI_LABELS or --cfg-options train_dataloader.dataset.labels_file=...; the
# Table 2 rows +PLG and +PLM are noisy-classifier_fashion-mnist-mini_pseudo-labels-{plg,plm}.py).
#   python tools/train.py configs/gdui/noisy-classifier_fashion-mnist-mini_pseudo-labels.py
# It shares the UNet config's noise schedule and pixel scaling (it inherits that config) and is
# tested at t = 0 on the 10,000 test images with their true labels (top-1 accuracy).
_base_ = ['./unet_fashion-mnist-mini.py']

labels_file = '{{$CDMX_GDUI_LABELS:work_dirs/match_mini-clip-stable-marriage_fashion-mnist-pool/labels_lmr.json}}'  # noqa: E501

# GDUI's classifier (§3.5): feature model F -> cluster head C -> classification head C_clf, with
# C and C_clf "two fully connected layers" each (§4.2). Here F is a fresh WRN-10-1 (19 MFLOPs per
# image, 64-d features): small next to the UNet's 144, so that a guided step (UNet + classifier
# forward and input gradient) stays under 1.5x an unguided one. The paper builds F and C from the
# clustering stage instead: noisy-classifier_fashion-mnist-mini_pseudo-labels_clustering-init.py.
# Every residual block gets the timestep embedding (ADM's noisy classifier; NoisyClassifier).
#
# BN momentum 0.01 instead of WRN's default 0.001 (FixMatch's, for 1M iterations): a running
# statistic keeps (1 - m)^max_iters of its initial value, 0.999^2000 = 13.5% but
# 0.99^2000 = 2e-9, and it averages over the last ~2/m = 200 iterations, where the cosine
# schedule's learning rate is below 3% of its peak, so the statistics are those of the final
# weights (tests/test_models/test_classifiers/test_noisy_classifier.py computes the residue
# from this file).
model = dict(
    _delete_=True,
    type='NoisyClassifier',
    backbone=dict(type='WideResNet', depth=10, widen_factor=1, in_channels=1,
                  norm_cfg=dict(type='BN', momentum=0.01)),
    feat_channels=64,
    timestep_channels=16,
    cluster_head=dict(type='ClusterHead', num_clusters=10, in_channels=64, num_heads=1,
                      hidden_channels=64),
    # C_clf: 10 cluster logits -> 64 -> 10 classes (mmpretrain's head; the noisy classifier
    # computes its own loss, mmpretrain's head only needs one named).
    cls_head=dict(type='mmpretrain.StackedLinearClsHead', num_classes=10, in_channels=10,
                  mid_channels=[64], loss=dict(type='mmpretrain.CrossEntropyLoss')),
    noise_scheduler={{_base_.noise_scheduler}},
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5]))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PseudoLabelledDataset',
        dataset={{_base_.pool}},
        labels_file=labels_file,
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root={{_base_.data_root}}, subset='test',
                 channels=1, pipeline=[dict(type='mmpretrain.PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# Measured: 0.085 s of CPU time per iteration of 64 images on one shared core (~3 minutes in
# all; the clustering-init variant: 0.20 s, ~7 minutes).
max_iters = 2000
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=max_iters))
