# Supervised-only MobileNetV2 DeepLabv3+ on the 250 labelled mini-world scenes (1/16), 4 per
# iteration (the labelled share of the semi-supervised batches), same schedule and evaluation
# as fashion-scenes_diffmatch_1-16.py.
_base_ = [
    '../_base_/datasets/fashion-scenes_labelled.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_extractor.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
