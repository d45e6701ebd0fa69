# DiffMatch on the testbed (docs/notes/diffmatch_testbed.md): the mini DiffMatch segmentor
# (deeplabv3plus_m-v2-d8_mini_diffmatch.py: denoiser L = 4, tau = 0.1, 3 DDIM steps, no
# sampling-time debias; here 128-d) in the DiffMatch loop
# (deeplabv3plus_m-v2-d8_mini_testbed-diffmatch.py), from the seed's supervised checkpoint: its
# extractor (backbone and ASPP head; the classifier is not DiffMatch's) is loaded, the denoiser
# and DDP's auxiliary head are new and learn in the labelled burn-in.
_base_ = [
    '../_base_/datasets/fashion-scenes_testbed.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_testbed-diffmatch.py',
    '../_base_/schedules/adamw-poly_testbed-readout.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(
        backbone=dict(init_cfg=None),  # the start checkpoint holds the extractor
        decode_head=dict(num_classes={{_base_.num_classes}}),
        # 128-d, 4 heads, FFN 256 (the mini world's 256-d costs 1.6x as much, and the table
        # already takes about an hour, tools/diffmatch_testbed.sh); Dis. Baseline's readout is
        # the same.
        denoiser=dict(embed_dims=128, num_heads=4, feedforward_channels=256),
        auxiliary_head=dict(num_classes={{_base_.num_classes}}),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.start_checkpoint}})),
    burn_in_iters={{_base_.burn_in_iters}})
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=50)]
