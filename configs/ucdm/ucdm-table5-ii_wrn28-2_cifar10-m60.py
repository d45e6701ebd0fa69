# Table 5, variant II at paper scale (CIFAR-10, mismatch 60%): random positives, UCDM's
# negatives, read from the caches of rows IV and I (generate those two). Paper: known 82.9,
# balance 72.8.
#   python tools/train.py configs/ucdm/ucdm-table5-ii_wrn28-2_cifar10-m60.py
_base_ = ['./ucdm_wrn28-2_cifar10-m60.py']

generation = None  # the pairs are read from the caches of rows I and IV
train_dataloader = dict(dataset=dict(pairs=dict(
    cache_dir='work_dirs/ucdm_cache/cifar-10_m60_random',
    negative_cache_dir={{_base_.cache_dir}},
    generators=dict(positive={{_base_.random_positive}}, negative={{_base_.ucdm_negative}}))))
