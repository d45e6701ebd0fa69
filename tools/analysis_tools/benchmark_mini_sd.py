"""Time the mini Stable Diffusion's denoiser training step at several text context lengths, side
by side in one run.

    python tools/analysis_tools/benchmark_mini_sd.py [--config configs/foundation/mini_sd.py]
        [--context-lengths 77 16] [--batch-size 128] [--steps 5] [--rounds 3]

A step is what ``cdmx.models.foundation.sd_training.train_denoiser`` does per batch: the K + 1
prompts through the text encoder, the UNet on ``batch_size`` latents with the prompts' hidden
states as cross-attention context, the loss, backward and an AdamW step. Only the tokenizer's
context length ``L`` (``recipe.tokenizer.model_max_length``) differs between the sides: every
prompt is padded to ``L``, so the cross-attention keys and the text encoder's sequence are ``L``
long. The sides alternate for ``--rounds`` rounds of ``--steps`` timed steps each (after one
untimed warm-up step per side), so a change of machine load hits both; the tool prints each
side's median seconds per step and images per second, and the ratio to the first side.
"""
import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cdmx.generators.prompts import format_prompts
from cdmx.models.foundation.clip_tokenizer import save_clip_tokenizer
from cdmx.models.foundation.sd_components import build_text_encoder, build_unet, build_vae
from cdmx.registry import DATASETS
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Mini SD denoiser step time per context length.')
    parser.add_argument('--config', default='configs/foundation/mini_sd.py')
    parser.add_argument('--context-lengths', nargs='+', type=int, default=[77, 16])
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--steps', type=int, default=5, help='timed steps per side and round')
    parser.add_argument('--rounds', type=int, default=3)
    return parser.parse_args()


def make_side(recipe: dict, length: int, classes: tuple, batch_size: int):
    """A closure running one training step at context length ``length``."""
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = save_clip_tokenizer(tmp, model_max_length=length)
    prompts = format_prompts(recipe['prompt_template'], list(classes)) + ['']
    longest = max(len(tokenizer(p).input_ids) for p in prompts)
    if longest > length:
        raise CdmxError(f'context length {length} truncates the prompts (the longest has '
                        f'{longest} tokens with BOS and EOS); give {longest} or more.')
    torch.manual_seed(0)
    text_encoder = build_text_encoder(recipe['text_encoder'], tokenizer)
    unet = build_unet(recipe['unet'], build_vae(recipe['autoencoder']), text_encoder,
                      recipe['image_size'])
    ids = tokenizer(prompts, padding='max_length', max_length=length,
                    return_tensors='pt').input_ids
    params = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    size = recipe['image_size'] // 2**(len(recipe['autoencoder']['block_out_channels']) - 1)
    channels = recipe['autoencoder']['latent_channels']
    x = torch.randn(batch_size, channels, size, size)
    t = torch.randint(1000, (batch_size, ))
    labels = torch.randint(len(prompts), (batch_size, ))

    def step() -> None:
        hidden = text_encoder(ids).last_hidden_state
        loss = F.mse_loss(unet(x, t, encoder_hidden_states=hidden[labels]).sample, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    args = parse_args()
    if min(args.context_lengths) < 1 or args.batch_size < 1 or args.steps < 1 or args.rounds < 1:
        raise CdmxError('context lengths, --batch-size, --steps and --rounds must be positive.')
    recipe = Config.fromfile(args.config).recipe
    init_default_scope('cdmx')
    classes = DATASETS.get(recipe['data']['type']).METAINFO['classes']  # no images needed
    sides = {length: make_side(recipe, length, classes, args.batch_size)
             for length in args.context_lengths}
    times = {length: [] for length in sides}
    for step in sides.values():
        step()  # warm-up
    for _ in range(args.rounds):
        for length, step in sides.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[length].append((time.perf_counter() - start) / args.steps)
    first = statistics.median(times[args.context_lengths[0]])
    print(f'{torch.get_num_threads()} threads, batch {args.batch_size}, '
          f'{args.rounds} x {args.steps} steps per side')
    print('| context length | s / step (median) | img/s | speed vs first |')
    print('|---:|---:|---:|---:|')
    for length in sides:
        median = statistics.median(times[length])
        print(f'| {length} | {median:.3f} | {args.batch_size / median:.0f} | '
              f'{first / median:.2f}x |')


if __name__ == '__main__':
    run_cli(main)
