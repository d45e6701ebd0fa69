# DiffMatch's segmentor (extractor + mask denoiser, Eqs. 4-6 and 9-11, tau = 0.1) trained on the
# 250 labelled mini-world scenes alone: what the semi-supervised loop adds to DiffMatch, next to
# fashion-scenes_sup-only_1-16.py (the same extractor with mmseg's classifier).
_base_ = [
    '../_base_/datasets/fashion-scenes_labelled.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_diffmatch.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
