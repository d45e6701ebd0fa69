# The discriminative (UniMatch-style) baseline in the mini world: the settings of
# deeplabv3plus_r101-d8_unimatch.py (the same network labels the weak view, CutMix, feature
# dropout) on the MobileNetV2 extractor of deeplabv3plus_m-v2-d8_mini_extractor.py, with the
# mini world's pseudo-label rule of configs/diffmatch/fashion-scenes_diffmatch_1-16.py (burn-in
# 1,000 iterations, confidence 0.8).
_base_ = ['./deeplabv3plus_m-v2-d8_mini_extractor.py']
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    segmentor=dict(
        type='DiscriminativeSegmentor',
        backbone={{_base_.backbone}},
        decode_head={{_base_.decode_head}},
        logit_adjust=0.0,
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    teacher='identical',
    unsup_weight=1.0,
    confidence_threshold=0.8,
    cutmix_prob=0.5,
    feature_dropout=0.5,
    predict_on='teacher',
    burn_in_iters=1000)
