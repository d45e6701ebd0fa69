# Supervised-only MobileNetV2 DeepLabv3+ on the 250 labelled mini-world scenes (1/16), 4 per
# iteration (the labelled share of the semi-supervised batches), same schedule and evaluation
# as fashion-scenes_diffmatch_1-16.py.
_base_ = [
    '../_base_/datasets/fashion-scenes_semi.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_extractor.py',
    '../_base_/schedules/adamw-poly_mini.py',
    '../_base_/default_runtime.py',
]
model = dict(decode_head=dict(num_classes={{_base_.num_classes}}))
train_dataloader = dict(
    _delete_=True,
    batch_size={{_base_.labelled_per_batch}},
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SplitListDataset',
        dataset={{_base_.source}},
        split_file='splits/fashion_scenes/1_16/labeled.txt',
        with_labels=True,
        num_classes={{_base_.num_classes}},
        pipeline={{_base_.sup_only_pipeline}}))
