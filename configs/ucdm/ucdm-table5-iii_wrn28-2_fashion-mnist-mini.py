# Table 5, variant III in the mini world: UCDM's positives, random negatives (unconditional
# samples from noise). It reads the positives of UCDM's cache and the negatives of variant IV's,
# so it needs no generation of its own: generate ucdm_wrn28-2_fashion-mnist-mini.py and
# ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py.
#   python tools/train.py configs/ucdm/ucdm-table5-iii_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

generation = None  # the pairs are read from the caches of rows I and IV
train_dataloader = dict(dataset=dict(pairs=dict(
    negative_cache_dir='work_dirs/ucdm_cache/fashion-mnist-mini_m60_random',
    generators=dict(positive={{_base_.ucdm_positive}}, negative={{_base_.random_negative}}))))
