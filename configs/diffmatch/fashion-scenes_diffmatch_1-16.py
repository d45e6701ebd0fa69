# DiffMatch in the mini world: long-tailed Fashion-MNIST scenes (64x64, 11 classes), 1/16 of the
# 4,000 training scenes labelled (250), 4 labelled + 4 unlabelled scenes per iteration on CPUs;
# MobileNetV2 DeepLabv3+ extractor, denoiser L = 4, b = 0.1, tau = 0.1, 3 DDIM steps.
# The four mini runs and their table: bash tools/diffmatch_mini.sh
_base_ = [
    '../_base_/datasets/fashion-scenes_semi.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_diffmatch.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(decode_head=dict(num_classes={{_base_.num_classes}}),
                   auxiliary_head=dict(num_classes={{_base_.num_classes}})))
# Pseudo-label counts per class over training against the ground-truth pixel counts of the
# training scenes (Figs. 1 and 8): <work_dir>/pseudo_label_stats.{json,png}.
custom_hooks = [dict(
    type='PseudoLabelStatsHook', interval=100,
    reference_counts='{{$CDMX_FASHION_SCENES:data/fashion_scenes}}/class_pixel_counts.json')]
