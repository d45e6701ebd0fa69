# The testbed's labelled scenes alone (1/16: 500), in mmseg's plain format, 4 per iteration (the
# labelled share of the semi-supervised batches of fashion-scenes_testbed.py): the supervised
# stage that every arm starts from. Dev and val loaders as fashion-scenes_testbed.py.
_base_ = ['./fashion-scenes_testbed.py']
train_dataloader = dict(
    _delete_=True,
    batch_size={{_base_.labelled_per_batch}},
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SplitListDataset',
        dataset={{_base_.source}},
        split_file={{_base_.labelled_dataset.split_file}},
        with_labels=True,
        num_classes={{_base_.num_classes}},
        pipeline={{_base_.plain_pipeline}}))
