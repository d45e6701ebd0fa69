# Table 5, variant II in the mini world: random positives (text-to-image from noise), UCDM's
# negatives (conditional inversion + unconditional reverse). It reads the positives of variant
# IV's cache and the negatives of UCDM's, so it needs no generation of its own: generate
# ucdm_wrn28-2_fashion-mnist-mini.py and ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py.
#   python tools/train.py configs/ucdm/ucdm-table5-ii_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

generation = None  # the pairs are read from the caches of rows I and IV
train_dataloader = dict(dataset=dict(pairs=dict(
    cache_dir='work_dirs/ucdm_cache/fashion-mnist-mini_m60_random',
    negative_cache_dir={{_base_.cache_dir}},
    generators=dict(positive={{_base_.random_positive}}, negative={{_base_.ucdm_negative}}))))
