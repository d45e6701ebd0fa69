# DiffMatch Table 5's Dis. Baseline in the mini world: the mini DiffMatch's extractor and
# deformable-attention layers with a cross-entropy classifier instead of the diffusion readout
# (deeplabv3plus_m-v2-d8_mini_dis-baseline.py), in the mini DiffMatch's loop; same data, batches
# and schedule as fashion-scenes_diffmatch_1-16.py.
_base_ = [
    '../_base_/datasets/fashion-scenes_semi.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_dis-baseline.py',
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
