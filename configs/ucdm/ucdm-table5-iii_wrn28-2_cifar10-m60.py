# Table 5, variant III at paper scale (CIFAR-10, mismatch 60%): UCDM's positives, random
# negatives, read from the caches of rows I and IV (generate those two). Paper: known 90.0,
# balance 79.3.
#   python tools/train.py configs/ucdm/ucdm-table5-iii_wrn28-2_cifar10-m60.py
_base_ = ['./ucdm_wrn28-2_cifar10-m60.py']

generation = None  # the pairs are read from the caches of rows I and IV
train_dataloader = dict(dataset=dict(pairs=dict(
    negative_cache_dir='work_dirs/ucdm_cache/cifar-10_m60_random',
    generators=dict(positive={{_base_.ucdm_positive}}, negative={{_base_.random_negative}}))))
