# DiffMatch Table 5's Dis. Baseline on the testbed: the mini DiffMatch's extractor and
# deformable-attention layers with a cross-entropy classifier (deeplabv3plus_m-v2-d8_mini_
# dis-baseline.py) in the DiffMatch loop (deeplabv3plus_m-v2-d8_mini_testbed-diffmatch.py: same
# network labels the weak view, confidence 0.8, no CutMix, feature dropout 0.5), from the seed's
# supervised checkpoint (the deformable layers and the classifier after them are new: they learn
# in the labelled burn-in). It differs from DiffMatch without adjustment in the readout alone.
_base_ = [
    '../_base_/datasets/fashion-scenes_testbed.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_dis-baseline.py',
    '../_base_/schedules/adamw-poly_testbed-readout.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(
        backbone=dict(init_cfg=None),  # the start checkpoint holds the extractor
        # the testbed DiffMatch's denoiser layers (fashion-scenes_testbed-diffmatch.py: 128-d)
        decode_head=dict(num_classes={{_base_.num_classes}},
                         readout=dict(embed_dims=128, num_heads=4, feedforward_channels=256)),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.start_checkpoint}})),
    confidence_threshold=0.8,
    cutmix_prob=0.0,
    burn_in_iters={{_base_.burn_in_iters}})
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=50)]
