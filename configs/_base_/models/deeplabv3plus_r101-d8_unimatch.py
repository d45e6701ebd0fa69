# The discriminative baseline in DiffMatch's framework (UniMatch-style, Yang et al. 2023): the
# same extractor with mmseg's DeepLabv3+ classifier, trained on labelled data and on
# confidence-thresholded (0.95) teacher pseudo-labels of the weak view, the strong view getting
# CutMix and feature dropout. Not UniMatch itself: one strong view and a mean teacher instead of
# UniMatch's two strong views and online predictions.
# A config adds model.data_preprocessor = MultiBranchSegDataPreProcessor around its dataset
# base's data_preprocessor, and sets num_classes in model.segmentor.decode_head.
_base_ = ['./deeplabv3plus_r101-d8_extractor.py']
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    segmentor=dict(
        type='mmseg.EncoderDecoder',
        backbone={{_base_.backbone}},
        decode_head={{_base_.decode_head}},
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    unsup_weight=1.0,
    confidence_threshold=0.95,
    cutmix_prob=0.5,
    feature_dropout=0.5,
    ema_momentum=0.01,
    predict_on='teacher')
