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

# Feature model WRN-10-1 (19 MFLOPs per image, 64-d features): small next to the UNet's 144, so
# that a guided step (UNet + classifier forward and input gradient) stays under 1.5x an
# unguided one. SPICE's cluster head (one MLP head) gives K = 10 cluster logits, the
# classification head maps them to the 10 classes.
model = dict(
    _delete_=True,
    type='NoisyClassifier',
    backbone=dict(type='WideResNet', depth=10, widen_factor=1, in_channels=1),
    feat_channels=64,
    cluster_head=dict(type='ClusterHead', num_clusters=10, in_channels=64, num_heads=1,
                      hidden_channels=64),
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
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root={{_base_.data_root}}, subset='test',
                 channels=1, pipeline=[dict(type='mmpretrain.PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# Measured: 0.074 s of CPU time per iteration of 64 images on one core (~2.5 minutes in all).
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
