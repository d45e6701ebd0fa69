"""Draw seed images with their positive and negative instance per class (UCDM Figs. 17-20).

    python tools/visualization/show_pairs.py SOURCE [--out pairs.png]
        [--images DIR | --data-root DIR] [--num-seeds 4] [--classes C1 C2 ...]
        [--steps 20] [--guidance-scale 7.5] [--positive-eta 1.0] [--negative-eta 0.2]
        [--strength 1.0] [--prompt-template 'A photo of a {}.'] [--cell-size 64]
        [--batch-size 64] [--device cpu] [--torch-dtype float32] [--resize-policy bicubic|pad]
        [--seed 0]

SOURCE is a StableDiffusionPipeline folder (e.g. work_dirs/foundation/mini_sd) or a config file
with a top-level ``backend`` dict. Seeds are random images of the Fashion-MNIST test split
(classes: its 10 names) or the first images of ``--images`` (then ``--classes`` is required).

The grid has a header row of class names and, per seed, two rows: ``pos`` (the seed, then its
positive for each class, Sec. 3.3) and ``neg`` (the seed, then its negative for each class,
Sec. 3.4); row labels name the seed's true class when the seeds come from Fashion-MNIST.
Pair (seed i, class k) draws its noise from ``torch.Generator().manual_seed(seed + i * K + k)``,
so a picture does not depend on ``--batch-size``.
"""
import argparse
import os
from typing import List, Optional

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from cdmx.generators import NegativeGenerator, PositiveGenerator
from cdmx.generators.tool_args import add_backend_and_seed_arguments, load_backend_and_seeds
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

#: Width of the row-label column and height of the header row, in pixels.
LABEL_WIDTH = 96
HEADER_HEIGHT = 24


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Seeds with positives and negatives per class.')
    add_backend_and_seed_arguments(parser, '--num-seeds', 4)
    parser.add_argument('--out', default='pairs.png', help='PNG file to write')
    parser.add_argument('--guidance-scale', type=float, default=7.5, help='gamma of positives')
    parser.add_argument('--positive-eta', type=float, default=1.0)
    parser.add_argument('--negative-eta', type=float, default=0.2)
    parser.add_argument('--strength', type=float, default=1.0, help='fraction of the grid run')
    parser.add_argument('--cell-size', type=int, default=64, help='side of one picture, pixels')
    parser.add_argument('--batch-size', type=int, default=64, help='pairs per generator call')
    parser.add_argument('--seed', type=int, default=0, help='seed of images and noise')
    return parser.parse_args()


def grid_size(num_seeds: int, num_classes: int, cell: int) -> tuple:
    """``(width, height)`` of the grid: a label column, the seed column and one per class;
    the header row and two rows per seed."""
    return LABEL_WIDTH + (num_classes + 1) * cell, HEADER_HEIGHT + 2 * num_seeds * cell


def _picture(image: torch.Tensor, cell: int) -> Image.Image:
    array = (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array).resize((cell, cell), Image.NEAREST)


def pair_grid(seeds: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
              classes: List[str], seed_names: Optional[List[str]] = None,
              cell: int = 64) -> Image.Image:
    """The picture: seeds ``(S, 3, H, W)``, positives, negatives ``(S, K, 3, H, W)``, in [0, 1]."""
    num_seeds, num_classes = positives.shape[:2]
    canvas = Image.new('RGB', grid_size(num_seeds, num_classes, cell), 'white')
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default()
    for k, name in enumerate(['seed'] + list(classes)):
        draw.text((LABEL_WIDTH + k * cell + 2, 4), name[:cell // 6], fill='black', font=font)
    for i in range(num_seeds):
        for r, (sign, row) in enumerate((('pos', positives[i]), ('neg', negatives[i]))):
            top = HEADER_HEIGHT + (2 * i + r) * cell
            label = f'{sign}: {seed_names[i]}' if seed_names else f'{sign}: seed {i}'
            draw.text((2, top + cell // 2 - 6), label[:LABEL_WIDTH // 6], fill='black',
                      font=font)
            canvas.paste(_picture(seeds[i], cell), (LABEL_WIDTH, top))
            for k in range(num_classes):
                canvas.paste(_picture(row[k], cell), (LABEL_WIDTH + (k + 1) * cell, top))
    return canvas


def generate_pairs(positive, negative, seeds: torch.Tensor, classes: List[str], seed: int,
                   batch_size: int) -> tuple:
    """Positives and negatives ``(S, K, 3, H, W)`` of every (seed, class) pair, in chunks."""
    if batch_size < 1:
        raise CdmxError(f'--batch-size is {batch_size}; pass at least 1.')
    num_seeds, num_classes = seeds.shape[0], len(classes)
    images = seeds.repeat_interleave(num_classes, dim=0)
    names = classes * num_seeds
    outputs = ([], [])
    for start in tqdm(range(0, len(names), batch_size), desc='pairs'):
        end = min(start + batch_size, len(names))
        chunk = slice(start, end)
        for gen, out in zip((positive, negative), outputs):
            generators = [torch.Generator().manual_seed(seed + j) for j in range(start, end)]
            out.append(gen(images[chunk], names[chunk], generator=generators))
    return tuple(torch.cat(out).unflatten(0, (num_seeds, num_classes)) for out in outputs)


def main() -> None:
    args = parse_args()
    if args.cell_size < 8:
        raise CdmxError(f'--cell-size is {args.cell_size}; pass at least 8 pixels.')
    backend, seeds, seed_names, classes = load_backend_and_seeds(args)
    common = dict(backend=backend, prompt_template=args.prompt_template,
                  num_inference_steps=args.steps, strength=args.strength)
    positive = PositiveGenerator(guidance_scale=args.guidance_scale, eta=args.positive_eta,
                                 **common)
    negative = NegativeGenerator(eta=args.negative_eta, **common)
    positives, negatives = generate_pairs(positive, negative, seeds, classes, args.seed,
                                          args.batch_size)
    grid = pair_grid(seeds, positives, negatives, classes, seed_names, args.cell_size)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    grid.save(args.out)
    print(f'wrote {args.out} ({grid.width}x{grid.height}): {seeds.shape[0]} seeds x '
          f'{len(classes)} classes')


if __name__ == '__main__':
    run_cli(main)
