# UCDM with random-noise generation instead of the diffusion pipelines (Table 5, variant IV):
# every positive and negative is a Gaussian latent decoded by the mini SD's VAE
# (cdmx.generators.RandomNoiseGenerator); the classifier, losses, labelling and schedule are the
# UCDM config's. Measures what the pipelines contribute. `make demo` runs it beside UCDM.
#   python tools/generate.py configs/ucdm/ucdm-random-noise_wrn28-2_fashion-mnist-mini.py
#   python tools/train.py configs/ucdm/ucdm-random-noise_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

cache_dir = 'work_dirs/ucdm_cache/fashion-mnist-mini_m60_random-noise'
generation = dict(
    positive=dict(_delete_=True, type='RandomNoiseGenerator'),
    negative=dict(_delete_=True, type='RandomNoiseGenerator'),
    cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir)))
