# UCDM on CIFAR-100 at mismatch 20% (Table 14); everything else as the 60% config.
_base_ = ['./ucdm_wrn28-2_cifar100-m60.py']

cache_dir = 'work_dirs/ucdm_cache/cifar-100_m20'
generation = dict(cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir), real=dict(mismatch=0.2)))
