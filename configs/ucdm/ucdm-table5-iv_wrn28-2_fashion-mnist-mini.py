# Table 5, variant IV in the mini world: both instances "from random noise" (§4.3, B.8-B.9): the
# positive a text-to-image sample of the class prompt from x_T ~ N(0, I), the negative an
# unconditional sample from x_T ~ N(0, I), with the pipelines' sampler settings; the classifier,
# losses, labelling and schedule are UCDM's (row I, ucdm_wrn28-2_fashion-mnist-mini.py).
# Its cache also serves rows II and III (their random half).
#   python tools/generate.py configs/ucdm/ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py
#   python tools/train.py configs/ucdm/ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

cache_dir = 'work_dirs/ucdm_cache/fashion-mnist-mini_m60_random'
# The random pipelines take the same keys as UCDM's, so merging replaces every value.
generation = dict(positive={{_base_.random_positive}}, negative={{_base_.random_negative}},
                  cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir)))
