# UCDM on Tiny-ImageNet at mismatch 40% (Table 14); everything else as the 60% config.
_base_ = ['./ucdm_wrn28-2_tiny-imagenet-m60.py']

cache_dir = 'work_dirs/ucdm_cache/tiny-imagenet_m40'
generation = dict(cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir), real=dict(mismatch=0.4)))
