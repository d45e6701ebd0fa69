"""Tiny-ImageNet (200 classes of 64x64 images) from the folder layout of its official archive."""
import os
from typing import Optional

import mmcv
import numpy as np

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError
from .base_dataset import LazyImageDataset


def _missing(path: str) -> CdmxError:
    return CdmxError(f'Tiny-ImageNet path {path} does not exist; set data_root to the '
                     'tiny-imagenet-200 folder of the official archive (wnids.txt, words.txt, '
                     'train/, val/).')


def _read_lines(path: str):
    if not os.path.isfile(path):
        raise _missing(path)
    with open(path) as f:
        return [line.rstrip('\n') for line in f if line.strip()]


@DATASETS.register_module()
class TinyImageNet(LazyImageDataset):
    """Tiny-ImageNet's labelled splits, images decoded on access.

    Layout: ``wnids.txt`` (the 200 WordNet ids), ``words.txt`` (``wnid<TAB>synonym, synonym``
    for every WordNet synset), ``train/<wnid>/images/*.JPEG`` (500 per class) and
    ``val/images/*.JPEG`` with ``val/val_annotations.txt`` (``file<TAB>wnid<TAB>box``, 50 per
    class). The unlabeled ``test/`` folder is not a labelled split and is not read.

    Class id ``c`` is the ``c``-th wnid in sorted order (torchvision ``ImageFolder``'s order);
    ``metainfo['wnids']`` lists them and ``metainfo['classes']`` holds the first synonym of
    each in ``words.txt`` (e.g. ``n02124075`` -> ``'Egyptian cat'``). Images are returned as
    ``(64, 64, 3)`` uint8 RGB, or ``(size, size, 3)`` resized with pixel-area averaging when
    ``size`` is given (grey JPEGs are expanded to 3 channels); ``sample_idx`` is the
    position in the split's sorted file list (train: by wnid, then file name; val: by file name).

    Args:
        data_root (str): The ``tiny-imagenet-200`` folder.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        size (int, optional): Side the images are resized to when decoded (UCDM's Table 17: 32).
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    SPLITS = ('train', 'val')

    def __init__(self, data_root: str, split: str = 'train', size: Optional[int] = None,
                 pipeline=(), **kwargs):
        if split not in self.SPLITS:
            raise CdmxError(f"TinyImageNet split '{split}' is unknown; use 'train' or 'val' (the "
                            'test folder has no labels).')
        if not os.path.isdir(data_root):
            raise _missing(data_root)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise CdmxError(f'TinyImageNet size is {size!r}; give a positive side such as 32, '
                            'or None for the native 64.')
        self.split, self.size = split, size
        wnids = tuple(sorted(_read_lines(os.path.join(data_root, 'wnids.txt'))))
        words = {}
        for line in _read_lines(os.path.join(data_root, 'words.txt')):
            wnid, _, text = line.partition('\t')
            words[wnid] = text.split(',')[0].strip()
        absent = [w for w in wnids if w not in words]
        if absent:
            raise CdmxError(f'Tiny-ImageNet words.txt in {data_root} has no name for {absent[:5]}; '
                            'use the words.txt of the official archive.')
        super().__init__(data_root=data_root,
                         metainfo=dict(classes=tuple(words[w] for w in wnids), wnids=wnids),
                         pipeline=list(pipeline), **kwargs)

    def load_data_list(self):
        class_of = {w: i for i, w in enumerate(self.metainfo['wnids'])}
        items = []
        if self.split == 'train':
            for wnid in self.metainfo['wnids']:
                folder = os.path.join(self.data_root, 'train', wnid, 'images')
                if not os.path.isdir(folder):
                    raise _missing(folder)
                items += [(os.path.join(folder, name), class_of[wnid])
                          for name in sorted(os.listdir(folder)) if name.endswith('.JPEG')]
        else:
            ann_file = os.path.join(self.data_root, 'val', 'val_annotations.txt')
            for line in sorted(_read_lines(ann_file)):
                name, wnid = line.split('\t')[:2]
                if wnid not in class_of:
                    raise CdmxError(f"{ann_file} labels {name} with '{wnid}', which is not in "
                                    'wnids.txt; use the files of one official archive.')
                items.append((os.path.join(self.data_root, 'val', 'images', name),
                              class_of[wnid]))
        return [dict(row=i, img_path=path, gt_label=label)
                for i, (path, label) in enumerate(items)]

    def load_img(self, info: dict) -> np.ndarray:
        if not os.path.isfile(info['img_path']):
            raise _missing(info['img_path'])
        img = mmcv.imread(info['img_path'], flag='color', channel_order='rgb')
        if img is None:
            raise CdmxError(f"Tiny-ImageNet image {info['img_path']} cannot be decoded; replace it "
                            'with the file of the official archive.')
        if self.size is not None and img.shape[:2] != (self.size, self.size):
            img = mmcv.imresize(img, (self.size, self.size), interpolation='area')
        return img
