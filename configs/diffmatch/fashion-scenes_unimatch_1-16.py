# The discriminative (UniMatch-style) baseline in the mini world: the MobileNetV2 DeepLabv3+ of
# fashion-scenes_diffmatch_1-16.py with mmseg's classifier, pseudo-labels of the same network
# above confidence 0.8, CutMix and feature dropout; same data, batches and schedule.
_base_ = [
    '../_base_/datasets/fashion-scenes_semi.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_unimatch.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(decode_head=dict(num_classes={{_base_.num_classes}})))
custom_hooks = [dict(
    type='PseudoLabelStatsHook', interval=100,
    reference_counts='{{$CDMX_FASHION_SCENES:data/fashion_scenes}}/class_pixel_counts.json')]
