"""A tiny random StableDiffusionPipeline saved in the real folder format, for tests.

Every component is what a real SD folder holds, only small: a CLIPTokenizer read from a
vocab.json / merges.txt written here, a CLIPTextModel from a CLIPTextConfig, an AutoencoderKL
(16 px -> 8x8x4 latents), a UNet2DConditionModel with cross attention and an SD-like
DDIMScheduler (scaled_linear betas, leading spacing, steps_offset 1, no clipping).
"""
import json
import os
import string

import torch

TOKENIZER_LENGTH = 32
MERGES = ['p h', 'ph o', 't o</w>', 'pho to</w>']


def write_tiny_vocab(folder: str) -> None:
    """vocab.json (every lowercase letter, digit and punctuation mark, bare and word-final, the
    merged tokens of ``MERGES`` and CLIP's two specials) and merges.txt."""
    symbols = string.ascii_lowercase + string.digits + string.punctuation
    tokens = list(symbols) + [s + '</w>' for s in symbols]
    tokens += [m.replace(' ', '') for m in MERGES] + ['<|startoftext|>', '<|endoftext|>']
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump({tok: i for i, tok in enumerate(tokens)}, f)
    with open(os.path.join(folder, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + '\n'.join(MERGES) + '\n')


def save_tiny_sd(path: str, seed: int = 0) -> str:
    """Save a tiny random StableDiffusionPipeline to ``path`` with ``save_pretrained``."""
    from diffusers import (AutoencoderKL, DDIMScheduler, StableDiffusionPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    vocab_dir = os.path.join(path + '_vocab')
    write_tiny_vocab(vocab_dir)
    tokenizer = CLIPTokenizer(os.path.join(vocab_dir, 'vocab.json'),
                              os.path.join(vocab_dir, 'merges.txt'),
                              model_max_length=TOKENIZER_LENGTH)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37,
                       num_attention_heads=4, num_hidden_layers=2,
                       max_position_embeddings=TOKENIZER_LENGTH,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id))
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=('DownEncoderBlock2D', ) * 2,
                        up_block_types=('UpDecoderBlock2D', ) * 2,
                        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
                        sample_size=16)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                layers_per_block=1, block_out_channels=(16, 32),
                                down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
                                up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
                                cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(path)
    return path
