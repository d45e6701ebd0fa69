# The testbed's full-label oracle (the first gate: >= 70 mIoU; docs/notes/diffmatch_testbed.md):
# the pretrained extractor with mmseg's DeepLabv3+ classifier on all 8,000 training scenes
# labelled, 8 per iteration, `oracle_iters` iterations.
_base_ = [
    '../_base_/datasets/fashion-scenes_testbed-full.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_testbed.py',
    '../_base_/schedules/adamw-poly_testbed.py',
    '../_base_/default_runtime.py',
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_cfg = dict(max_iters={{_base_.oracle_iters}}, val_interval={{_base_.oracle_iters}})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end={{_base_.warmup_iters}}),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin={{_base_.warmup_iters}},
         end={{_base_.oracle_iters}}),
]
