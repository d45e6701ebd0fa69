# DiffMatch on Cityscapes, the paper's setting: DeepLabv3+ ResNet-101 V1c extractor (256-d at
# 1/4), mask denoiser L = 4, analog bits b = 0.1, debiased loss tau = 0.1, DDIM steps 3; 1/16
# labelled split (186 images), crop 801, batch 8 over 8 GPUs (1 labelled + 1 unlabelled per
# GPU), SGD poly schedule of 240 epochs (83,760 iterations), lr 0.005 on every parameter
# (UniMatch's Cityscapes setting). With fewer GPUs the global batch shrinks: GlobalBatchHook logs
# it and the rule is in docs/diffmatch.md ("Batch and learning rate").
#   tools/dist_train.sh configs/diffmatch/cityscapes_r101.py 8
# Evaluation: sliding 801x801 windows with stride 534 over the 2048x1024 val images (UniMatch's
# protocol), mIoU, head-5 / tail-5 mIoU, ECE and the confusion matrix.
_base_ = [
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_diffmatch.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(
        decode_head=dict(num_classes={{_base_.num_classes}}),
        test_cfg=dict(mode='slide', crop_size={{_base_.crop_size}}, stride=(534, 534))))
# Pseudo-label counts per class against the ground truth over training (Figs. 1 and 8).
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=1000), dict(type='GlobalBatchHook')]
