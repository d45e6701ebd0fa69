"""mmcv's pure-PyTorch deformable attention against cdmx's points-first path, side by side.

    python tools/analysis_tools/benchmark_deformable_attention.py [--batch-size 4]
        [--size 16] [--channels 256] [--heads 8] [--levels 3] [--points 2] [--runs 20]
        [--warmup 3] [--device cpu]

Both functions get the same random inputs: ``--batch-size`` maps of ``--size`` x ``--size``
queries (one per pixel, as in the mask denoiser), ``--levels`` average-pooled levels of values
(strides 1, 2, 4, ...), ``--heads`` heads of ``--channels / --heads`` channels and ``--points``
sampling points per head and level; the defaults are the mini DiffMatch's 256-d denoiser on a
64 x 64 scene. Printed per path: milliseconds per call for the forward pass without gradients
(sampling), the forward and backward pass (training), and the ratio mmcv / points-first (above
1: the points-first path is faster). The two paths alternate run by run, so that they share the
machine's state.
"""
import argparse
import math
import time

import torch
from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch

from cdmx.models.layers import deformable_attention_points_first
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

PATHS = (('mmcv pure PyTorch', multi_scale_deformable_attn_pytorch),
         ('cdmx points-first', deformable_attention_points_first))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Deformable attention paths side by side.')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--size', type=int, default=16, help='square query map (pixels)')
    parser.add_argument('--channels', type=int, default=256, help='embedding width D')
    parser.add_argument('--heads', type=int, default=8)
    parser.add_argument('--levels', type=int, default=3)
    parser.add_argument('--points', type=int, default=2, help='points per head and level')
    parser.add_argument('--runs', type=int, default=20, help='timed runs per path and mode')
    parser.add_argument('--warmup', type=int, default=3, help='untimed runs before timing')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def make_inputs(args: argparse.Namespace, device: torch.device) -> tuple:
    """Random values, level shapes, locations (some outside the map) and softmax weights."""
    shapes = torch.tensor([[math.ceil(args.size / 2 ** level)] * 2
                           for level in range(args.levels)], device=device)
    keys = int((shapes[:, 0] * shapes[:, 1]).sum())
    n, queries, heads = args.batch_size, args.size ** 2, args.heads
    value = torch.randn(n, keys, heads, args.channels // heads, device=device)
    locations = torch.rand(n, queries, heads, args.levels, args.points, 2, device=device)
    locations = locations * 1.2 - 0.1
    weights = torch.randn(n, queries, heads, args.levels * args.points, device=device)
    weights = weights.softmax(-1).view(n, queries, heads, args.levels, args.points)
    return value, shapes, locations, weights


def timed_call(function, inputs: tuple, backward: bool, device: torch.device) -> float:
    """Seconds of one call (with its backward pass when ``backward``)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    if backward:
        leaves = [x.detach().requires_grad_(x.is_floating_point()) for x in inputs]
        function(*leaves).square().sum().backward()
    else:
        with torch.no_grad():
            function(*inputs)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    for name in ('batch_size', 'size', 'channels', 'heads', 'levels', 'points', 'runs'):
        if getattr(args, name) < 1:
            raise CdmxError(f'--{name.replace("_", "-")} is {getattr(args, name)}; give a '
                            'positive integer.')
    if args.warmup < 0:
        raise CdmxError(f'--warmup is {args.warmup}; give 0 or more warm-up runs.')
    if args.channels % args.heads:
        raise CdmxError(f'--channels {args.channels} is not divisible by --heads {args.heads}; '
                        'choose values that divide.')
    device = torch.device(args.device)
    inputs = make_inputs(args, device)
    print(f'batch {args.batch_size}, {args.size}x{args.size} queries, {args.levels} levels '
          f'{inputs[1][:, 0].tolist()}, {args.heads} heads x {args.channels // args.heads} '
          f'channels, {args.points} points, device {device}, {args.runs} timed runs after '
          f'{args.warmup} warm-up runs', flush=True)
    first, second = (function for _, function in PATHS)
    torch.testing.assert_close(second(*inputs), first(*inputs), rtol=1e-4, atol=1e-5,
                               msg='the two paths disagree')
    for mode, backward in (('forward, no gradients', False), ('forward + backward', True)):
        seconds = {name: 0.0 for name, _ in PATHS}
        for run in range(args.warmup + args.runs):
            for name, function in PATHS:  # alternating, run by run
                elapsed = timed_call(function, inputs, backward, device)
                if run >= args.warmup:
                    seconds[name] += elapsed / args.runs
        times = ', '.join(f'{name} {1000 * s:.3f} ms' for name, s in seconds.items())
        ratio = seconds[PATHS[0][0]] / seconds[PATHS[1][0]]
        print(f'{mode}: {times}; mmcv / points-first {ratio:.2f}x', flush=True)


if __name__ == '__main__':
    run_cli(main)
