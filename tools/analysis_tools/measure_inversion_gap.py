"""Measure UCDM's inversion gaps delta_t and delta~_t (Table 6) per step for any SD backend.

    python tools/analysis_tools/measure_inversion_gap.py SOURCE [--images DIR | --data-root DIR]
        [--num-images 8] [--classes C1 C2 ...] [--steps 20] [--prompt-template 'A photo of a {}.']
        [--device cpu] [--torch-dtype float32] [--resize-policy bicubic|pad]
        [--seed 0] [--out gaps.json]

SOURCE is a StableDiffusionPipeline folder (e.g. work_dirs/foundation/mini_sd) or a config file
with a top-level ``backend`` dict. Seeds are ``--num-images`` random images of the Fashion-MNIST
test split (classes: its 10 names), or the first images of ``--images`` (then ``--classes`` is
required).

At each inversion step to timestep t (see cdmx.diffusion.inversion_gap):
``delta_t = 1 - cos(eps(x_t, t, {}), eps(x_s, t, {}))`` along the unconditional inversion of
every seed, and ``delta~_t``, the same with the class prompt, along the conditional inversion of
every (seed, class) pair (UCDM's negatives). The table gives mean and standard deviation; below
it, the relative latent error ``|x^_0 - x_0| / |x_0|`` of the eta = 0 round trip (unconditional
inversion, then unconditional reverse).
"""
import argparse
import json
import os

import torch

from cdmx.diffusion import DDIMSampler, inversion_gap
from cdmx.generators import DDIMInverter
from cdmx.generators.prompts import format_prompts
from cdmx.generators.tool_args import (add_backend_and_seed_arguments,
                                       load_backend_and_seeds)
from cdmx.utils.cli import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='UCDM inversion gaps (Table 6) per step.')
    add_backend_and_seed_arguments(parser, '--num-images', 8)
    parser.add_argument('--seed', type=int, default=0, help='seed of the image choice')
    parser.add_argument('--out', help='also write the numbers to this JSON file')
    return parser.parse_args()


@torch.no_grad()
def measure(backend, seeds: torch.Tensor, classes: list, steps: int, template: str) -> dict:
    """Gaps per step and the round-trip error for ``seeds`` ``(N, 3, H, W)`` and ``classes``."""
    latents = backend.encode(seeds)
    n, k = latents.shape[0], len(classes)
    plain = DDIMInverter(backend, steps, conditional=False)
    timesteps, delta = inversion_gap(plain.inversion, plain.noise_predictor(n), latents)
    sampler = DDIMSampler(backend.scheduler_config, steps)
    eps_fn = plain.noise_predictor(n)
    recon = sampler.sample(plain.inversion.invert(latents, eps_fn), eps_fn)
    round_trip = ((recon - latents).flatten(1).norm(dim=1) / latents.flatten(1).norm(dim=1))

    conditional = DDIMInverter(backend, steps, conditional=True)
    pairs = latents.repeat_interleave(k, dim=0)  # seed-major: (seed 0, class 0..K-1), ...
    prompts = backend.encode_prompts(format_prompts(template, classes * n))
    _, delta_c = inversion_gap(conditional.inversion,
                               conditional.noise_predictor(n * k, prompts), pairs)
    return dict(timesteps=timesteps, delta=delta.tolist(), delta_tilde=delta_c.tolist(),
                round_trip_error=round_trip.tolist())


def format_table(result: dict) -> str:
    """The per-step table and the round-trip line as text."""
    delta, delta_c = torch.tensor(result['delta']), torch.tensor(result['delta_tilde'])
    lines = [f'{"step":>4}  {"t":>4}  {"delta_t (mean +- std)":>24}  '
             f'{"delta~_t (mean +- std)":>24}']
    for i, t in enumerate(result['timesteps']):
        lines.append(f'{i + 1:>4}  {t:>4}  {delta[i].mean():>14.6f} +- {delta[i].std():<8.6f}'
                     f'  {delta_c[i].mean():>14.6f} +- {delta_c[i].std():<8.6f}')
    err = torch.tensor(result['round_trip_error'])
    lines.append(f'eta=0 round trip (unconditional inversion + reverse): relative latent error '
                 f'{err.mean():.6f} +- {err.std():.6f} over {err.numel()} seeds')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    backend, seeds, _, classes = load_backend_and_seeds(args)
    result = measure(backend, seeds, classes, args.steps, args.prompt_template)
    result.update(source=args.source, classes=classes, steps=args.steps)
    print(format_table(result))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    run_cli(main)
