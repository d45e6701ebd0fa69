# UCDM's data in the mini world (split fashion-mnist_mini: known T-shirt/top and Sandal, unknown
# Pullover, Dress, Coat, Shirt, Sneaker, Bag; new Trouser and Ankle boot):
# - the unlabeled pool D = MismatchDataset part 'train' at mismatch proportion `mismatch` (the
#   seeds of the generation stage and the images the labelling rounds sort);
# - training items = UCDMPairDataset over the generated cache of those seeds and the pool;
# - test = MismatchDataset part 'test' (1,000 known, 1,000 unknown, 1,000 new images) scored by
#   OpenSetMetric, whose predictions CSV goes to the run's work dir.
# UCDM is unsupervised: there is no labelled validation set, so no validation loop; evaluate with
# tools/test.py. The pool is defined once, as train_dataloader.dataset.real: tools/generate.py
# takes it as the seed set and the labelling hook as the images to label. Method configs set
# `cache_dir` in two places (train_dataloader.dataset.pairs and generation).
_base_ = ['./fashion-mnist_mini.py']

mismatch = 0.6
cache_dir = 'work_dirs/ucdm_cache/fashion-mnist-mini_m60'

# The pool's raw uint8 images are what the generation engine and UCDMPairDataset read; its
# pipeline serves the labelling rounds (PackInputs keeps sample_idx, the seed id).
unlabeled_pool = dict(
    type='MismatchDataset',
    dataset=dict(type='FashionMNIST', data_root={{_base_.data_root}}, subset='train_pool'),
    split={{_base_.split}},
    part='train',
    mismatch=mismatch,
    pipeline={{_base_.test_pipeline}})

# Augmentation as the paper's (Table 17): flips of the real images only; every image is padded
# 28 -> 32 (the deterministic RandomCrop of the test pipeline).
generated_pipeline = {{_base_.test_pipeline}}
real_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
# Algorithm 2's steps (UCDMBatchSampler) with B = 16: 16 seeds of D with both classes' pairs
# (32 generated pairs, the 32 pairs a step had before Algorithm 2 was followed), 16 pseudo-known
# and 16 pseudo-unknown pairs; the paper's B is 32 (Table 17), halved for CPU time.
train_dataloader = dict(
    batch_size=16,
    batch_sampler=dict(type='UCDMBatchSampler'),
    dataset=dict(
        _delete_=True,
        type='UCDMPairDataset',
        pairs=dict(type='GeneratedPairs', cache_dir=cache_dir),
        real=unlabeled_pool,
        pipeline=generated_pipeline,
        real_pipeline=real_pipeline))
# The dataloader of the labelling rounds and BN re-estimation; its dataset is
# train_dataloader.dataset.real.
labelling_pool = dict(batch_size=250, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False))

test_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.PackInputs',
         meta_keys=('sample_idx', 'dataset_idx', 'kind', 'true_class')),
]
test_dataloader = dict(
    _delete_=True,
    batch_size=250,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MismatchDataset',
        dataset=dict(type='FashionMNIST', data_root={{_base_.data_root}}, subset='test'),
        split={{_base_.split}},
        part='test',
        pipeline=test_pipeline))
test_evaluator = dict(_delete_=True, type='OpenSetMetric', out_file='predictions.csv')
val_dataloader = None
val_evaluator = None
