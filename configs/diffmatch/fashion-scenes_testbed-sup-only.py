# Supervised-only on the testbed (the table's first row and the second gate: tail-3 mIoU in
# [15, 35]): the UniMatch arm (fashion-scenes_testbed-unimatch.py) without its unlabelled
# source, i.e. the seed's supervised checkpoint trained `arm_iters` more iterations on the
# labelled scenes, drawn in the same order as every arm draws them (SemiSupervisedSampler's
# labelled stream depends on the seed alone), and nothing else.
_base_ = ['./fashion-scenes_testbed-unimatch.py']
train_dataloader = dict(
    _delete_=True,
    batch_size={{_base_.labelled_per_batch}},
    num_workers=0,
    sampler=dict(type='SemiSupervisedSampler', batch_size={{_base_.labelled_per_batch}},
                 source_ratio=[1]),
    collate_fn=dict(type='cdmx.multi_branch_collate'),
    dataset=dict(type='ConcatDataset', datasets=[{{_base_.labelled_dataset}}]))
custom_hooks = []
