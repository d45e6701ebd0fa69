# UCDM's generation stage in the mini world: the paper's settings (20 DDIM steps, guidance 7.5,
# eta 1.0 / 0.2) on cdmx's mini Stable Diffusion (tools/pretrain_foundation.py
# configs/foundation/mini_sd.py writes it to work_dirs/foundation/mini_sd; CDMX_MINI_SD points
# elsewhere). The mini SD works at 32x32: the 28x28 seeds are padded ('pad' policy, never
# resampled) and the results cropped back, so the cache holds 28x28 images like the real pool.
generation = dict(
    backend=dict(
        type='StableDiffusionBackend',
        pretrained='{{$CDMX_MINI_SD:work_dirs/foundation/mini_sd}}',
        resize_policy='pad'),
    positive=dict(type='PositiveGenerator', num_inference_steps=20, guidance_scale=7.5, eta=1.0),
    negative=dict(type='NegativeGenerator', num_inference_steps=20, eta=0.2),
    classes=None,
    resolution=28,
    shard_size=64,
    batch_size=64,
    seed=0,
    num_threads=2)
