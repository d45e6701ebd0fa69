# The labelled mini-world scenes alone (1/16: 250), in mmseg's plain format, 4 per iteration
# (the labelled share of the semi-supervised batches of fashion-scenes_semi.py): the
# supervised-only runs. Validation and test as fashion-scenes_semi.py.
_base_ = ['./fashion-scenes_semi.py']
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
