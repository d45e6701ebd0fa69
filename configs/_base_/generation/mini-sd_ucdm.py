# UCDM's generation stage in the mini world: the paper's settings (20 DDIM steps, guidance 7.5,
# eta 1.0 / 0.2) on cdmx's mini Stable Diffusion (tools/pretrain_foundation.py
# configs/foundation/mini_sd.py writes it to work_dirs/foundation/mini_sd; CDMX_MINI_SD points
# elsewhere). The mini SD works at 32x32: the 28x28 seeds are padded ('pad' policy, never
# resampled) and the results cropped back, so the cache holds 28x28 images like the real pool.
# The prompt is the mini SD's own caption template, 'A photo of a {}.' with a period (the paper's
# Table 16 has none; configs/foundation/mini_sd.py trained the stand-in on this caption).
# The four pipelines of Table 5 are named here, so that variant configs and their training sets
# (GeneratedPairs(generators=...), which refuses a cache made by other pipelines) say the same:
mini_prompt = 'A photo of a {}.'
ucdm_positive = dict(type='PositiveGenerator', prompt_template=mini_prompt,
                     num_inference_steps=20, guidance_scale=7.5, eta=1.0)
ucdm_negative = dict(type='NegativeGenerator', prompt_template=mini_prompt,
                     num_inference_steps=20, eta=0.2)
random_positive = dict(type='RandomPositiveGenerator', prompt_template=mini_prompt,
                       num_inference_steps=20, guidance_scale=7.5, eta=1.0)
random_negative = dict(type='RandomNegativeGenerator', prompt_template=mini_prompt,
                       num_inference_steps=20, eta=0.2)
generation = dict(
    backend=dict(
        type='StableDiffusionBackend',
        pretrained='{{$CDMX_MINI_SD:work_dirs/foundation/mini_sd}}',
        resize_policy='pad'),
    positive=ucdm_positive,
    negative=ucdm_negative,
    classes=None,
    resolution=28,
    shard_size=64,
    batch_size=64,
    seed=0,
    num_threads=2)
