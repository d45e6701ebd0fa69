# Beyond the paper (an extra row, never a default): UCDM with negatives whose reverse process is
# steered away from the class, eps_u - 3 (eps_c - eps_u) instead of Eq. 8's eps_u
# (NegativeGenerator(steer=3)); positives, classifier and schedule are UCDM's. Does stronger
# erasure lift labelling precision and balance? Its cache holds its own positives too (the same
# bytes as UCDM's: every image's noise depends only on seed, class and kind).
#   python tools/generate.py configs/ucdm/ucdm-steered-s3_wrn28-2_fashion-mnist-mini.py
#   python tools/train.py configs/ucdm/ucdm-steered-s3_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

steered_negative = dict(type='NegativeGenerator', prompt_template={{_base_.mini_prompt}},
                        num_inference_steps=20, eta=0.2, steer=3.0)
cache_dir = 'work_dirs/ucdm_cache/fashion-mnist-mini_m60_steered-s3'
generation = dict(negative=steered_negative, cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir)))
