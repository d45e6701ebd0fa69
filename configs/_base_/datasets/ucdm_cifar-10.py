# UCDM's data on CIFAR-10 (split cifar-10_ucdm: known airplane, automobile; 6 unknown, 2 new;
# 10,000 known train images plus the mismatch proportion's unknown ones, Table 14; 2,000 test
# images per kind). Like configs/_base_/datasets/ucdm_fashion-mnist_mini.py: the pool is
# train_dataloader.dataset.real (the generation seeds and the images to label), no validation
# loop (no labels), OpenSetMetric's predictions CSV in the work dir. Method configs set
# `cache_dir` (pairs and generation) and `real.mismatch`.
_base_ = ['./cifar-10_ucdm.py']

unlabeled_pool = dict(
    type='MismatchDataset',
    dataset=dict(type='CIFAR10', data_root={{_base_.data_root}}, split='train'),
    split={{_base_.split}},
    part='train',
    mismatch=0.6,
    pipeline={{_base_.test_pipeline}})

# Augmentation of Table 17 and the official code: horizontal flips of the real images only,
# the generated ones enter as they are; then normalisation (data_preprocessor).
generated_pipeline = [dict(type='mmpretrain.PackInputs')]
real_pipeline = [
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
# Algorithm 2's steps (UCDMBatchSampler): B = batch_size seeds of D with all K of their pairs,
# plus B pseudo-known and B pseudo-unknown images; an epoch is one pass over the largest set.
# Dataloader workers copy the dataset when they start: persistent_workers=False makes every
# epoch copy the pseudo-labels of the rounds before it (UCDMPairDataset, "Workers").
train_dataloader = dict(
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='UCDMBatchSampler'),
    dataset=dict(
        _delete_=True,
        type='UCDMPairDataset',
        pairs=dict(type='GeneratedPairs', cache_dir=None),
        real=unlabeled_pool,
        pipeline=generated_pipeline,
        real_pipeline=real_pipeline))

test_dataloader = dict(
    _delete_=True,
    batch_size=256,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='CIFAR10', data_root={{_base_.data_root}}, split='test'),
        split={{_base_.split}},
        part='test',
        pipeline=[dict(type='mmpretrain.PackInputs',
                       meta_keys=('sample_idx', 'dataset_idx', 'kind', 'true_class'))]))
test_evaluator = dict(_delete_=True, type='OpenSetMetric', out_file='predictions.csv')
val_dataloader = None
val_evaluator = None
