"""Write seeded labelled / unlabelled splits of a segmentation dataset in UniMatch's format.

    python tools/dataset_converters/make_semi_splits.py DATA_ROOT --layout LAYOUT
        [--fractions 1/16 1/8 ...] [--seed 0] [--out DATA_ROOT/splits/LAYOUT]
        [--count-pixels]

LAYOUT is cityscapes, voc_classic, voc_blender, coco or fashion_scenes (folders: see
cdmx/datasets/semi_splits.py). Default fractions: 1/16, 1/8, 1/4, 1/2 (voc_classic also 1 =
all 1,464; coco 1/512 ... 1/32). For each fraction the tool writes
``OUT/<1_16>/labeled.txt`` and ``unlabeled.txt`` (one ``image label`` line per sample, paths
relative to DATA_ROOT; UniMatch's ``splits/<dataset>/<split>/`` structure), which
``SplitListDataset(split_file='splits/cityscapes/1_16/labeled.txt')`` reads.
``--count-pixels`` also reads every training label map and writes ``OUT/class_pixel_counts.json``
(pixels per class of the training set), which ``HeadTailIoUMetric`` ranks head and tail by.
"""
import argparse
import json
import os

import numpy as np
from mmseg.datasets import CityscapesDataset, PascalVOCDataset
from PIL import Image
from tqdm import tqdm

from cdmx.datasets import COCO_OBJECT_CLASSES, FASHION_SCENES_CLASSES
from cdmx.datasets.semi_splits import DEFAULT_FRACTIONS, LAYOUTS, list_pools, make_splits, \
    write_split
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

CLASSES = {'cityscapes': CityscapesDataset.METAINFO['classes'],
           'voc_classic': PascalVOCDataset.METAINFO['classes'],
           'voc_blender': PascalVOCDataset.METAINFO['classes'],
           'coco': COCO_OBJECT_CLASSES, 'fashion_scenes': FASHION_SCENES_CLASSES}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Seeded semi-supervised splits (UniMatch format).')
    parser.add_argument('data_root', help='the dataset folder')
    parser.add_argument('--layout', required=True, choices=LAYOUTS)
    parser.add_argument('--fractions', nargs='+', help='labelled fractions, e.g. 1/16 1/8')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='output folder (default DATA_ROOT/splits/LAYOUT)')
    parser.add_argument('--count-pixels', action='store_true',
                        help='also write the training pixel count per class')
    parser.add_argument('--ignore-index', type=int, default=255)
    return parser.parse_args()


def count_pixels(data_root: str, pairs: list, classes: tuple, ignore_index: int) -> list:
    """Pixels per class over the label maps of ``pairs``; other values than the classes and
    ``ignore_index`` are bad input."""
    counts = np.zeros(len(classes), np.int64)
    for _, label in tqdm(pairs, desc='counting pixels'):
        values = np.bincount(np.asarray(Image.open(os.path.join(data_root, label))).ravel(),
                             minlength=256)
        bad = [int(v) for v in np.flatnonzero(values) if v >= len(classes) and v != ignore_index]
        if bad:
            raise CdmxError(f'label map {label} holds values {bad[:8]} outside the '
                            f'{len(classes)} classes and the ignore index {ignore_index}; '
                            'convert the labels to train ids first.')
        counts += values[:len(classes)]
    return counts.tolist()


def main() -> None:
    args = parse_args()
    out = args.out or os.path.join(args.data_root, 'splits', args.layout)
    pool, unlabelled = list_pools(args.data_root, args.layout)
    splits = make_splits(pool, unlabelled, args.fractions or DEFAULT_FRACTIONS[args.layout],
                         args.seed)
    print(f'{args.layout}: labelled pool {len(pool)}, unlabelled pool {len(unlabelled)}')
    for name, (labelled, rest) in splits.items():
        write_split(os.path.join(out, name), labelled, rest)
        print(f'  {name}: {len(labelled)} labelled, {len(rest)} unlabelled')
    if args.count_pixels:
        classes = CLASSES[args.layout]
        counts = count_pixels(args.data_root, unlabelled, classes, args.ignore_index)
        with open(os.path.join(out, 'class_pixel_counts.json'), 'w') as f:
            json.dump(dict(classes=list(classes), source=f'{len(unlabelled)} training label maps',
                           class_pixel_counts=counts), f, indent=1)
        print('  pixels per class: ' + ', '.join(f'{c} {n}' for c, n in zip(classes, counts)))
    print(f'written to {out}')


if __name__ == '__main__':
    run_cli(main)
