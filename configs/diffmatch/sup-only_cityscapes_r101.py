# Supervised-only DeepLabv3+ ResNet-101 on the 1/16 labelled Cityscapes split (186 images), in
# the setting of cityscapes_r101.py. Batch 2 per GPU (16 over 8 GPUs): as many images per
# iteration through the extractor as the semi-supervised runs, and BN never sees a batch of 1.
_base_ = [
    '../_base_/datasets/cityscapes_semi.py',
    '../_base_/models/deeplabv3plus_r101-d8_extractor.py',
    '../_base_/schedules/sgd-poly_cityscapes-240e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    decode_head=dict(num_classes={{_base_.num_classes}}),
    test_cfg=dict(mode='slide', crop_size={{_base_.crop_size}}, stride=(534, 534)))
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SplitListDataset',
        dataset={{_base_.source}},
        split_file='splits/cityscapes/1_16/labeled.txt',
        with_labels=True,
        num_classes={{_base_.num_classes}},
        pipeline={{_base_.sup_only_pipeline}}))
custom_hooks = [dict(type='GlobalBatchHook')]
