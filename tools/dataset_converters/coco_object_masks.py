"""Write COCO 2017's 81-class semantic masks in UniMatch's layout from the instance annotations.

    python tools/dataset_converters/coco_object_masks.py DATA_ROOT
        [--splits train2017 val2017] [--overwrite]

reads ``DATA_ROOT/annotations/instances_<split>.json`` and writes ``DATA_ROOT/masks/<image file
stem>.png`` for every image of each split (8-bit, one channel: 0 background, 1-80 the object
categories by ascending category id, 255 the pixels of crowd annotations; images without
annotations get all-background masks), the masks that ``COCOObjectDataset`` reads
(configs/_base_/datasets/coco_semi.py). Existing masks are only replaced with ``--overwrite``.
pycocotools is not needed (see cdmx/datasets/coco_masks.py for why it is not used).
"""
import argparse
import json
import os

import numpy as np
from PIL import Image
from tqdm import tqdm

from cdmx.datasets.coco_masks import IGNORE_INDEX, coco_category_labels, group_annotations, \
    semantic_mask
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

#: Classes named in the summary, most pixels first.
TOP_CLASSES = 6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='COCO instance annotations -> 81-class semantic masks (UniMatch layout).')
    parser.add_argument('data_root', help='the COCO folder (annotations/, train2017/, ...)')
    parser.add_argument('--splits', nargs='+', default=['train2017', 'val2017'],
                        help='splits whose annotations/instances_<split>.json to convert')
    parser.add_argument('--overwrite', action='store_true', help='replace existing masks')
    return parser.parse_args()


def load_annotations(data_root: str, split: str) -> dict:
    """``DATA_ROOT/annotations/instances_<split>.json``, read."""
    path = os.path.join(data_root, 'annotations', f'instances_{split}.json')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    missing = [key for key in ('images', 'annotations', 'categories') if key not in data]
    if missing:
        raise CdmxError(f'{path} has no {", ".join(missing)}; pass a COCO instances_<split>.json '
                        'annotation file.')
    return data


def convert_split(data_root: str, split: str, overwrite: bool) -> np.ndarray:
    """Write the masks of one split; return its pixels per value (256 counts)."""
    data = load_annotations(data_root, split)
    labels = coco_category_labels(data['categories'])
    grouped = group_annotations(data['images'], data['annotations'])
    out_dir = os.path.join(data_root, 'masks')
    targets = [os.path.join(out_dir, os.path.splitext(os.path.basename(image['file_name']))[0]
                            + '.png') for image in data['images']]
    if not overwrite:
        existing = [path for path in targets if os.path.exists(path)]
        if existing:
            raise CdmxError(f'{len(existing)} masks of {split} already exist in {out_dir} (e.g. '
                            f'{os.path.basename(existing[0])}); pass --overwrite to replace '
                            'them.')
    os.makedirs(out_dir, exist_ok=True)
    counts = np.zeros(256, np.int64)
    for image, path in tqdm(list(zip(data['images'], targets)), desc=split):
        mask = semantic_mask(image, grouped[image['id']], labels)
        counts += np.bincount(mask.ravel(), minlength=256)
        Image.fromarray(mask).save(path)  # (h, w) uint8 -> mode L
    empty = sum(not anns for anns in grouped.values())
    names = {0: 'background', IGNORE_INDEX: 'ignore'}
    names.update({labels[c['id']]: c['name'] for c in data['categories']})
    total = max(int(counts.sum()), 1)
    top = [v for v in np.argsort(-counts, kind='stable')[:TOP_CLASSES] if counts[v]]
    print(f'{split}: {len(targets)} masks written to {out_dir} ({empty} of them all background: '
          'images without annotations)')
    print('  most pixels: ' + ', '.join(f'{v} {names.get(int(v), v)} '
                                        f'{100 * counts[v] / total:.1f}%' for v in top))
    return counts


def main() -> None:
    args = parse_args()
    for split in args.splits:  # a missing file is reported before any split is converted
        annotations = os.path.join(args.data_root, 'annotations', f'instances_{split}.json')
        if not os.path.isfile(annotations):
            raise CdmxError(f'{annotations} does not exist; download and unpack COCO 2017\'s '
                            'annotations_trainval2017.zip into DATA_ROOT or choose --splits.')
    for split in args.splits:
        convert_split(args.data_root, split, args.overwrite)


if __name__ == '__main__':
    run_cli(main)
