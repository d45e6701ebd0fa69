"""Seeded labelled / unlabelled splits of segmentation datasets, written in UniMatch's format.

For a labelled fraction ``f`` the labelled list holds ``ceil(f * N_pool)`` samples of the
labelled pool, the first ones of one seeded permutation (``numpy.random.default_rng(seed)``),
so the labelled set of a smaller fraction is a subset of that of a larger one; the unlabelled
list is the unlabelled pool less the labelled images. The counts match the splits the
semi-supervised literature uses (Cityscapes 1/16 = 186 of 2,975; PASCAL VOC classic 1/16 = 92
of 1,464; blender 1/16 = 662 of 10,582; COCO 1/512 = 232 of 118,287), not their exact images.

Layouts (``data_root`` is the dataset folder):

- ``cityscapes``: ``leftImg8bit/train/<city>/*_leftImg8bit.png`` with
  ``gtFine/train/<city>/*_gtFine_labelTrainIds.png`` (mmseg's converter writes them).
- ``voc_classic``: labelled pool the 1,464 finely annotated images of
  ``ImageSets/Segmentation/train.txt``; unlabelled pool the 10,582 of the blender set.
- ``voc_blender``: both pools the union of ``ImageSets/Segmentation/train.txt`` and
  ``aug.txt`` less ``val.txt`` (10,582 with SBD, mmseg's ``voc_aug`` converter); the label of
  an image is ``SegmentationClass/<id>.png`` where it exists (fine), else
  ``SegmentationClassAug/<id>.png`` (SBD).
- ``coco``: ``train2017/*.jpg`` with ``masks/<id>.png`` (UniMatch's 81-class masks).
- ``fashion_scenes``: ``img_dir/train/*.png`` with ``ann_dir/train/*.png`` (the mini world).
"""
import glob
import math
import os
from fractions import Fraction
from typing import Dict, List, Sequence, Tuple

import numpy as np

from cdmx.utils.errors import CdmxError

Pair = Tuple[str, str]

DEFAULT_FRACTIONS = {
    'cityscapes': ('1/16', '1/8', '1/4', '1/2'),
    'voc_classic': ('1/16', '1/8', '1/4', '1/2', '1'),
    'voc_blender': ('1/16', '1/8', '1/4', '1/2'),
    'coco': ('1/512', '1/256', '1/128', '1/64', '1/32'),
    'fashion_scenes': ('1/16', '1/8', '1/4', '1/2'),
}
LAYOUTS = tuple(DEFAULT_FRACTIONS)


def _relative(root: str, paths: Sequence[str]) -> List[str]:
    return sorted(os.path.relpath(p, root) for p in paths)


def _read_ids(root: str, name: str) -> List[str]:
    path = os.path.join(root, 'ImageSets', 'Segmentation', name)
    if not os.path.isfile(path):
        raise CdmxError(f'{path} does not exist; point data_root at VOCdevkit/VOC2012 (with '
                        "SBD's aug.txt written by mmseg's voc_aug converter for the blender set).")
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _voc_pair(root: str, image_id: str) -> Pair:
    fine = os.path.join('SegmentationClass', image_id + '.png')
    label = fine if os.path.isfile(os.path.join(root, fine)) else \
        os.path.join('SegmentationClassAug', image_id + '.png')
    return os.path.join('JPEGImages', image_id + '.jpg'), label


def _matched(root: str, images: List[str], to_label) -> List[Pair]:
    pairs = [(img, to_label(img)) for img in images]
    missing = [label for _, label in pairs if not os.path.isfile(os.path.join(root, label))]
    if missing:
        raise CdmxError(f'{len(missing)} images under {root} have no label map, e.g. '
                        f'{missing[0]}; convert the labels first (mmseg\'s dataset converters) '
                        'or point data_root at the dataset folder.')
    return pairs


def list_pools(data_root: str, layout: str) -> Tuple[List[Pair], List[Pair]]:
    """The labelled pool and the unlabelled pool of a dataset folder, as relative pairs."""
    if layout not in LAYOUTS:
        raise CdmxError(f"layout '{layout}' is unknown; use one of {LAYOUTS}.")
    if not os.path.isdir(data_root):
        raise CdmxError(f'dataset folder {data_root} does not exist; give the folder that holds '
                        f'the {layout} data.')
    if layout == 'cityscapes':
        images = _relative(data_root, glob.glob(
            os.path.join(data_root, 'leftImg8bit', 'train', '*', '*_leftImg8bit.png')))
        pool = _matched(data_root, images, lambda p: p.replace('leftImg8bit', 'gtFine', 1)
                        .replace('_leftImg8bit.png', '_gtFine_labelTrainIds.png'))
        unlabelled = pool
    elif layout in ('voc_classic', 'voc_blender'):
        train = _read_ids(data_root, 'train.txt')
        val = set(_read_ids(data_root, 'val.txt'))
        aug = _read_ids(data_root, 'aug.txt')
        blender = sorted((set(train) | set(aug)) - val)
        unlabelled = _matched(data_root, [_voc_pair(data_root, i)[0] for i in blender],
                              lambda p: _voc_pair(data_root, os.path.basename(p)[:-4])[1])
        pool = _matched(data_root, [_voc_pair(data_root, i)[0] for i in sorted(train)],
                        lambda p: _voc_pair(data_root, os.path.basename(p)[:-4])[1]) \
            if layout == 'voc_classic' else unlabelled
    elif layout == 'coco':
        images = _relative(data_root, glob.glob(os.path.join(data_root, 'train2017', '*.jpg')))
        pool = _matched(data_root, images, lambda p: os.path.join(
            'masks', os.path.splitext(os.path.basename(p))[0] + '.png'))
        unlabelled = pool
    else:
        images = _relative(data_root, glob.glob(os.path.join(data_root, 'img_dir', 'train',
                                                             '*.png')))
        pool = _matched(data_root, images, lambda p: p.replace('img_dir', 'ann_dir', 1))
        unlabelled = pool
    if not pool:
        raise CdmxError(f'no {layout} training image found under {data_root}; point --data-root '
                        'at the dataset folder (see the layouts in cdmx/datasets/semi_splits.py).')
    return pool, unlabelled


def split_name(fraction: str) -> str:
    """UniMatch's folder name of a fraction: ``'1/16'`` -> ``'1_16'``, ``'1'`` -> ``'full'``."""
    value = parse_fraction(fraction)
    return 'full' if value == 1 else f'{value.numerator}_{value.denominator}'


def parse_fraction(fraction: str) -> Fraction:
    try:
        value = Fraction(fraction)
    except (ValueError, ZeroDivisionError) as err:
        raise CdmxError(f"labelled fraction '{fraction}' is not a number; write e.g. 1/16.") \
            from err
    if not 0 < value <= 1:
        raise CdmxError(f"labelled fraction '{fraction}' is not in (0, 1]; write e.g. 1/16.")
    return value


def make_splits(pool: Sequence[Pair], unlabelled_pool: Sequence[Pair],
                fractions: Sequence[str], seed: int) -> Dict[str, Tuple[List[Pair], List[Pair]]]:
    """``{split name: (labelled pairs, unlabelled pairs)}``, nested over fractions (see above)."""
    order = np.random.default_rng(seed).permutation(len(pool))
    splits = {}
    for fraction in fractions:
        count = math.ceil(parse_fraction(fraction) * len(pool))
        labelled = sorted(pool[i] for i in order[:count])
        taken = {img for img, _ in labelled}
        splits[split_name(fraction)] = (labelled, [p for p in unlabelled_pool
                                                   if p[0] not in taken])
    return splits


def write_split(folder: str, labelled: Sequence[Pair], unlabelled: Sequence[Pair]) -> None:
    """``folder/labeled.txt`` and ``folder/unlabeled.txt``, one ``image label`` line each."""
    os.makedirs(folder, exist_ok=True)
    for name, pairs in (('labeled.txt', labelled), ('unlabeled.txt', unlabelled)):
        with open(os.path.join(folder, name), 'w') as f:
            f.writelines(f'{img} {label}\n' for img, label in pairs)
