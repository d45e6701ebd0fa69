# All 8,000 training scenes of the testbed labelled (the full-label oracle), in mmseg's plain
# format, 8 per iteration (as many scenes as a semi-supervised batch). Dev and val loaders as
# fashion-scenes_testbed.py.
_base_ = ['./fashion-scenes_testbed.py']
train_dataloader = dict(
    _delete_=True,
    batch_size={{_base_.batch_size}},
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='FashionTestbedDataset',
        data_root={{_base_.data_root}},
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline={{_base_.plain_pipeline}}))
