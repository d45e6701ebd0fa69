# DiffMatch in the mini world: long-tailed Fashion-MNIST scenes (64x64, 11 classes), 1/16 of the
# 4,000 training scenes labelled (250), 4 labelled + 4 unlabelled scenes per iteration on CPUs;
# MobileNetV2 DeepLabv3+ extractor, denoiser L = 4, b = 0.1, tau = 0.1, 3 DDIM steps (the
# segmentor: deeplabv3plus_m-v2-d8_mini_diffmatch.py) in the teacher-student loop: the same
# network labels the weak view (Sec. 3.1), no CutMix (Sec. 4.1), feature dropout 0.5.
# The four mini runs and their table: bash tools/diffmatch_mini.sh
_base_ = [
    '../_base_/datasets/fashion-scenes_semi.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_diffmatch.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
# Pseudo-labels: both semi-supervised mini runs share one rule, a 1,000-iteration burn-in on
# the labelled branch and pixels whose posterior reaches 0.8 (for one-hot analog bits the
# normalised channel posterior, MaskDenoiser). Measured without them (threshold 0, no burn-in,
# analog bits): a fresh teacher labels a quarter of the pixels Sneaker, later the undecided bits
# of every item decode as code 0001 (T-shirt/top) and the student collapses to background +
# T-shirt. At 0.95 the one-hot teacher passed 1-2% of the unlabelled pixels after its burn-in
# (iterations 500-700); the discriminative baseline measured the same at 0.8 and 0.95 (22.6).
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor={{_base_.model}},
    teacher='identical',
    unsup_weight=1.0,
    confidence_threshold=0.8,
    cutmix_prob=0.0,
    feature_dropout=0.5,
    prior_momentum=0.99,
    predict_on='teacher',
    burn_in_iters=1000)
# Pseudo-label counts per class over training against the ground-truth pixel counts of the
# training scenes (Figs. 1 and 8): <work_dir>/pseudo_label_stats.{json,png}.
custom_hooks = [dict(
    type='PseudoLabelStatsHook', interval=100,
    reference_counts='{{$CDMX_FASHION_SCENES:data/fashion_scenes}}/class_pixel_counts.json')]
