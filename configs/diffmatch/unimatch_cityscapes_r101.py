# The discriminative baseline (UniMatch-style, confidence 0.95) on Cityscapes in the setting of
# cityscapes_r101.py: same extractor, data, schedule and evaluation; mmseg's DeepLabv3+
# classifier instead of the mask denoiser.
_base_ = [
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_unimatch.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(
        decode_head=dict(num_classes={{_base_.num_classes}}),
        test_cfg=dict(mode='slide', crop_size={{_base_.crop_size}}, stride=(534, 534))))
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=1000), dict(type='GlobalBatchHook')]
