# The mini Stable Diffusion: SD 2.0's recipe at Fashion-MNIST scale, trained on the external pool
# only (10,000 images that no experiment uses). `tools/pretrain_foundation.py` writes the
# StableDiffusionPipeline folder <work_dir>/mini_sd (and <work_dir>/mini_sd_autoencoder).
default_scope = 'cdmx'

_base_ = ['../_base_/datasets/fashion-mnist_external.py']

recipe = dict(
    type='MiniStableDiffusion',
    name='mini_sd',
    data={{_base_.external}},
    image_size=32,  # 28x28 centred on a black 32x32 canvas
    prompt_template='A photo of a {}.',
    # CLIP's BPE tokenizer with a 16-token context (SD: 77): the longest class prompt has 12
    # tokens with BOS and EOS, and the padding to 77 cost 20% of each denoiser step
    # (tools/analysis_tools/benchmark_mini_sd.py; docs/notes/foundation.md). Longer prompts are
    # truncated at 16 tokens.
    tokenizer=dict(model_max_length=16),
    # (3, 32, 32) <-> (4, 8, 8): two halvings, ~0.7M parameters.
    autoencoder=dict(
        in_channels=3,
        out_channels=3,
        down_block_types=('DownEncoderBlock2D', ) * 3,
        up_block_types=('UpDecoderBlock2D', ) * 3,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32),
    # ~0.4M parameters besides the 49,408 x 128 token embedding.
    text_encoder=dict(
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=128,
        hidden_act='gelu'),
    # ~5.9M parameters on the 8x8 latents; cross-attention in the two outer levels.
    unet=dict(
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
        block_out_channels=(64, 128, 128),
        layers_per_block=1,
        attention_head_dim=8,
        norm_num_groups=32),
    # Stable Diffusion 2-base's noise schedule and DDIM settings (epsilon prediction).
    scheduler=dict(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule='scaled_linear',
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type='epsilon'),
    # ~2.5 epochs of the 10,000 images, then ~13 epochs for the denoiser (3 + 15 minutes on 2
    # idle cores, docs/results.md).
    autoencoder_train=dict(steps=800, batch_size=32, lr=2e-3, kl_weight=1e-6),
    denoiser_train=dict(
        steps=1000,
        batch_size=128,
        lr=1e-3,
        weight_decay=1e-2,
        warmup_steps=100,
        prompt_dropout=0.1),
    seed=0)
