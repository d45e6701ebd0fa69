# The discriminative baseline in DiffMatch's framework (UniMatch-style, Yang et al. 2023): the
# same extractor with mmseg's DeepLabv3+ classifier, trained on labelled data and on
# confidence-thresholded (0.95) pseudo-labels of the weak view from the same network (UniMatch's
# online predictions, teacher='identical'), the strong view getting CutMix (p 0.5) and feature
# dropout. Not UniMatch itself: one strong view (UniMatch: two) and the dropout on the strong
# view's features (UniMatch: a separate feature-perturbed weak branch).
# A DiscriminativeSegmentor (mmseg's EncoderDecoder + the labelled class prior), so the post-hoc
# logit adjustment is an option: model.segmentor.logit_adjust = alpha (0 here: none).
# A config adds model.data_preprocessor = MultiBranchSegDataPreProcessor around its dataset
# base's data_preprocessor, and sets num_classes in model.segmentor.decode_head.
_base_ = ['./deeplabv3plus_r101-d8_extractor.py']
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
    confidence_threshold=0.95,
    cutmix_prob=0.5,
    feature_dropout=0.5,
    predict_on='teacher')
