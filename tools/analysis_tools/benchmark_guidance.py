"""Benchmark GDUI's classifier-guided sampling against unguided sampling, in one run.

    python tools/analysis_tools/benchmark_guidance.py SAMPLE_CONFIG
        [--unet-checkpoint CKPT] [--classifier-checkpoint CKPT] [--batch-size 16]
        [--steps 20] [--scale S] [--repeats 1] [--seed 0] [--device cpu]

SAMPLE_CONFIG is a guided sampling config (``configs/gdui/sample_*.py``: ``unet_config``,
``classifier_config``, ``generator``). Both sides run the config's sampler (method, steps) on
the same batch of the same noise, at equal steps: unguided with guidance scale 0 (the UNet
alone) and guided with the scale given (one classifier forward and input gradient per step on
top). Without checkpoints the models keep their initial weights, which cost the same time.
Model loading and one warm-up step of each side are outside the timings; each side's time is
the best of ``--repeats`` runs. Printed: both times, the time per step and the ratio
guided / unguided (goal <= 1.5x).
"""
import argparse
import time

import torch
from mmengine.config import DictAction

from cdmx.generators import load_trained_model
from cdmx.registry import GENERATORS
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError

GOAL = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Guided vs unguided sampling cost.')
    parser.add_argument('config', help='guided sampling config (configs/gdui/sample_*.py)')
    parser.add_argument('--unet-checkpoint', help='UNet weights (default: initial weights)')
    parser.add_argument('--classifier-checkpoint',
                        help='classifier weights (default: initial weights)')
    parser.add_argument('--batch-size', type=int, default=16, help='images per run')
    parser.add_argument('--steps', type=int, default=20, help='reverse steps of both sides')
    parser.add_argument('--scale', type=float, help="guided side's scale (default: config's)")
    parser.add_argument('--repeats', type=int, default=1, help='runs per side (best is kept)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the noise')
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. generator.method=ddim')
    return parser.parse_args()


def timed_run(sampler, unet, classifier, class_ids, seed: int, device: str) -> float:
    """Seconds of one sampler call (CUDA synchronised around it)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    sampler(unet, classifier, class_ids, generator=generator)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('classifier_config') is None or 'unet_config' not in cfg:
        raise CdmxError(f'{args.config} is not a guided sampling config; pass one with '
                        'unet_config and classifier_config (configs/gdui/sample_*.py).')
    for name in ('batch_size', 'steps', 'repeats'):
        if getattr(args, name) < 1:
            raise CdmxError(f'--{name.replace("_", "-")} is {getattr(args, name)}; pass a '
                            'positive integer.')
    base = dict(cfg.generator, num_inference_steps=args.steps, progress=False)
    scale = base.get('scale', 1.0) if args.scale is None else args.scale
    if scale <= 0:
        raise CdmxError(f'the guided side needs a scale > 0 but got {scale}; pass --scale.')
    unguided = GENERATORS.build(dict(base, scale=0.0))
    guided = GENERATORS.build(dict(base, scale=scale))
    unet = load_trained_model(cfg.unet_config, args.unet_checkpoint, args.device)
    classifier = load_trained_model(cfg.classifier_config, args.classifier_checkpoint,
                                    args.device)
    class_ids = [i % classifier.num_classes for i in range(args.batch_size)]
    for sampler in (unguided, guided):  # warm-up: one step each
        warm = GENERATORS.build(dict(base, scale=sampler.scale, num_inference_steps=1))
        timed_run(warm, unet, classifier, class_ids[:2], args.seed, args.device)
    times = {}
    for name, sampler in (('unguided', unguided), ('guided', guided)):
        times[name] = min(timed_run(sampler, unet, classifier, class_ids, args.seed, args.device)
                          for _ in range(args.repeats))
    print(f'{args.batch_size} images, {args.steps} {guided.method.upper()} steps, '
          f'{torch.get_num_threads()} threads, device {args.device}')
    for name in ('unguided', 'guided'):
        label = f'{name} (scale {scale:g})' if name == 'guided' else f'{name} (scale 0)'
        print(f'{label}: {times[name]:.3f} s, {1000 * times[name] / args.steps:.1f} ms/step')
    ratio = times['guided'] / times['unguided']
    verdict = 'meets' if ratio <= GOAL else 'misses'
    print(f'ratio guided/unguided: {ratio:.2f}x ({verdict} the goal <= {GOAL}x)')


if __name__ == '__main__':
    run_cli(main)
