# UCDM's generation stage at paper scale (Algorithm 1, Table 16): Stable Diffusion 2.0 from a
# user-supplied diffusers folder (CDMX_SD2, e.g. a local copy of stabilityai/stable-diffusion-2-
# base), 20 DDIM steps, prompt "A photo of a [CLASS]" (Table 16 and the official code; §3.3's
# text adds a period); positives with classifier-free guidance 7.5 and eta (sigma) 1.0,
# negatives by conditional DDIM inversion and an unconditional reverse with eta 0.2. Seeds are
# resized to SD's 512x512 (bicubic) and the results back to the classifier's 32x32.
# Run: python tools/generate.py CONFIG (several GPUs: torchrun ... tools/generate.py --launcher
# pytorch); a config's cache_dir is shared by every run that trains on the same seeds.
# Table 5's four pipelines are named (see configs/_base_/generation/mini-sd_ucdm.py).
ucdm_positive = dict(type='PositiveGenerator', num_inference_steps=20, guidance_scale=7.5,
                     eta=1.0)
ucdm_negative = dict(type='NegativeGenerator', num_inference_steps=20, eta=0.2)
random_positive = dict(type='RandomPositiveGenerator', num_inference_steps=20,
                       guidance_scale=7.5, eta=1.0)
random_negative = dict(type='RandomNegativeGenerator', num_inference_steps=20, eta=0.2)
generation = dict(
    backend=dict(
        type='StableDiffusionBackend',
        pretrained='{{$CDMX_SD2:data/stable-diffusion-2-base}}',
        device='cuda',
        torch_dtype='float16',
        resize_policy='bicubic'),
    positive=ucdm_positive,
    negative=ucdm_negative,
    classes=None,  # the seed dataset's known classes
    resolution=32,
    shard_size=256,
    batch_size=32,
    seed=0)
