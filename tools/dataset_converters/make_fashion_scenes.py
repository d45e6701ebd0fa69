"""Write the mini world of DiffMatch: long-tailed Fashion-MNIST scenes in mmseg's layout.

    python tools/dataset_converters/make_fashion_scenes.py [--fashion-mnist DIR]
        [--external-size 10000] [--out data/fashion_scenes] [--num-train 4000]
        [--num-val 800] [--size 64] [--max-items 4] [--imbalance 25] [--threshold 40]
        [--seed 0] [--split-seed 0] [--fractions 1/16 1/8 1/4 1/2] [--min-ratio 100]
        [--overwrite]

Training scenes are drawn from Fashion-MNIST's ``train_pool`` subset, validation scenes from its
``test`` split (never the external pool); see :mod:`cdmx.datasets.fashion_scenes` for how a
scene is made. Output (deterministic for the seeds)::

    OUT/img_dir/{train,val}/scene_00000.png   RGB scenes
    OUT/ann_dir/{train,val}/scene_00000.png   label maps, 0 background, 1-10 the item classes
    OUT/splits/fashion_scenes/<1_16 ...>/{labeled,unlabeled}.txt   UniMatch-format splits of
                                              the training scenes
    OUT/class_pixel_counts.json               training pixel counts per class (head/tail mIoU)
    OUT/fashion_scenes.json                   settings, counts and head:tail ratios per split
    OUT/class_pixel_frequency.png, OUT/preview.png

Every class must have pixels in both splits, and the head:tail pixel ratio between the item
classes (background excluded) must reach ``--min-ratio`` (100) on the training scenes, else the
tool stops with an error.
"""
import argparse
import json
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from tqdm import tqdm

from cdmx.datasets import FashionMNIST
from cdmx.datasets.fashion_scenes import (FASHION_SCENES_CLASSES, FASHION_SCENES_PALETTE,
                                          LONG_TAIL_ORDER, SceneComposer, pixel_statistics,
                                          prepare_scene_output, save_scene_preview)
from cdmx.datasets.semi_splits import list_pools, make_splits, write_split
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

SUBSETS = {'train': 'train_pool', 'val': 'test'}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Write the long-tailed Fashion-MNIST scenes.')
    parser.add_argument('--fashion-mnist', default=os.environ.get(
        'CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist'),
        help='folder of the Fashion-MNIST idx files (env CDMX_FASHION_MNIST)')
    parser.add_argument('--external-size', type=int, default=10000,
                        help="size of Fashion-MNIST's external pool, which the scenes never use")
    parser.add_argument('--out', default='data/fashion_scenes', help='output folder')
    parser.add_argument('--num-train', type=int, default=4000)
    parser.add_argument('--num-val', type=int, default=800)
    parser.add_argument('--size', type=int, default=64, help='scene side in pixels')
    parser.add_argument('--max-items', type=int, default=4)
    parser.add_argument('--imbalance', type=float, default=25.0,
                        help='item-count ratio of the head class to the tail class')
    parser.add_argument('--min-ratio', type=float, default=100.0,
                        help='smallest accepted head:tail pixel ratio of the item classes')
    parser.add_argument('--threshold', type=int, default=40,
                        help='grey level (0-255) above which an item pixel is labelled')
    parser.add_argument('--seed', type=int, default=0, help='seed of the scenes')
    parser.add_argument('--split-seed', type=int, default=0, help='seed of the labelled splits')
    parser.add_argument('--fractions', nargs='+', default=['1/16', '1/8', '1/4', '1/2'])
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the scenes of an existing output folder')
    return parser.parse_args()


def write_split_scenes(args, split: str, seed: int) -> dict:
    """Write the scenes of ``split``; return their statistics and a few previews."""
    dataset = FashionMNIST(args.fashion_mnist, subset=SUBSETS[split], channels=1,
                           external_size=args.external_size)
    images = np.stack([dataset.get_data_info(i)['img'][..., 0] for i in range(len(dataset))])
    composer = SceneComposer(images, dataset.get_gt_labels(), size=args.size,
                             max_items=args.max_items, imbalance=args.imbalance,
                             threshold=args.threshold)
    num = args.num_train if split == 'train' else args.num_val
    img_dir, ann_dir = (os.path.join(args.out, d, split) for d in ('img_dir', 'ann_dir'))
    os.makedirs(img_dir), os.makedirs(ann_dir)
    labels, item_counts, previews = [], np.zeros(10, np.int64), []
    scenes = composer.scenes(num, seed)
    for i, (image, label, classes) in enumerate(tqdm(scenes, total=num, desc=f'{split} scenes')):
        Image.fromarray(image).save(os.path.join(img_dir, f'scene_{i:05d}.png'))
        Image.fromarray(label).save(os.path.join(ann_dir, f'scene_{i:05d}.png'))
        labels.append(label)
        item_counts += np.bincount(classes, minlength=10)
        if len(previews) < 8:
            previews.append((image, label))
    stats = pixel_statistics(labels, len(FASHION_SCENES_CLASSES))
    stats.update(num_scenes=num, source_subset=SUBSETS[split],
                 item_counts=[0] + item_counts.tolist())
    return stats, previews


def plot_frequency(stats: dict, out_file: str) -> None:
    """Bars of the training pixel share per class on a log scale, head to tail."""
    order = [0] + [k + 1 for k in LONG_TAIL_ORDER]
    counts = np.array(stats['train']['pixel_counts'], np.float64)
    fig = Figure(figsize=(8, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.bar(range(len(order)), counts[order] / counts.sum(), color=[
        np.array(FASHION_SCENES_PALETTE[c]) / 255 for c in order], edgecolor='black')
    ax.set_yscale('log')
    ax.set_xticks(range(len(order)), [FASHION_SCENES_CLASSES[c] for c in order], rotation=40,
                  ha='right')
    ax.set_ylabel('share of training pixels')
    ratio = stats['train']['head_tail_ratio_items']
    ax.set_title(f'Fashion scenes: head:tail pixel ratio {ratio:.0f} (item classes)')
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)


def main() -> None:
    args = parse_args()
    prepare_scene_output(args.out, args.overwrite)
    stats, previews = {}, []
    for seed_offset, split in enumerate(('train', 'val')):
        stats[split], shown = write_split_scenes(args, split, args.seed * 2 + seed_offset)
        previews += shown
    for split in ('train', 'val'):
        absent = [FASHION_SCENES_CLASSES[c] for c, n in enumerate(stats[split]['pixel_counts'])
                  if n == 0]
        if absent:
            raise CdmxError(f'the {split} scenes have no pixel of {absent}; raise --num-{split} '
                            'or lower --imbalance.')
    ratio = stats['train']['head_tail_ratio_items']
    if ratio < args.min_ratio:
        raise CdmxError(f'the training scenes have a head:tail pixel ratio of {ratio:.1f} '
                        f'(< {args.min_ratio}); raise --imbalance or --num-train.')
    pool, unlabelled = list_pools(args.out, 'fashion_scenes')
    splits = make_splits(pool, unlabelled, args.fractions, args.split_seed)
    for name, (labelled, rest) in splits.items():
        write_split(os.path.join(args.out, 'splits', 'fashion_scenes', name), labelled, rest)
    with open(os.path.join(args.out, 'class_pixel_counts.json'), 'w') as f:
        json.dump(dict(classes=list(FASHION_SCENES_CLASSES), source='train scenes',
                       class_pixel_counts=stats['train']['pixel_counts']), f, indent=1)
    meta = dict(vars(args), classes=list(FASHION_SCENES_CLASSES),
                long_tail_order=[FASHION_SCENES_CLASSES[k + 1] for k in LONG_TAIL_ORDER],
                splits={n: dict(labelled=len(a), unlabelled=len(b)) for n, (a, b) in
                        splits.items()}, **stats)
    with open(os.path.join(args.out, 'fashion_scenes.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    plot_frequency(stats, os.path.join(args.out, 'class_pixel_frequency.png'))
    save_scene_preview(previews[:8], FASHION_SCENES_PALETTE, os.path.join(args.out, 'preview.png'))
    for split in ('train', 'val'):
        s = stats[split]
        print(f"{split}: {s['num_scenes']} scenes from Fashion-MNIST '{s['source_subset']}', "
              f"head:tail pixel ratio {s['head_tail_ratio_items']:.1f} (item classes), "
              f"{s['head_tail_ratio_all']:.1f} (with background)")
        print('  pixels per class: ' + ', '.join(
            f'{c} {n}' for c, n in zip(FASHION_SCENES_CLASSES, s['pixel_counts'])))
    for name, (labelled, rest) in splits.items():
        print(f'split {name}: {len(labelled)} labelled, {len(rest)} unlabelled')
    print(f'written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
