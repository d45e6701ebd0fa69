"""STL-10 (Coates et al., 2011) from its binary files, with GDUI's merged train+test protocol."""
import os

import numpy as np

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError
from .base_dataset import LazyImageDataset

_SIDE = 96
_IMAGE_BYTES = 3 * _SIDE * _SIDE


@DATASETS.register_module()
class STL10(LazyImageDataset):
    """STL-10's labelled images read from ``stl10_binary``.

    Files: ``{train,test}_X.bin`` (uint8, ``N x 3 x 96 x 96`` with each 96x96 channel stored
    column-major), ``{train,test}_y.bin`` (one uint8 label per image, 1..10) and
    ``class_names.txt`` (one name per line). Images are memory-mapped and returned as
    ``(96, 96, 3)`` uint8 RGB: ``X.reshape(N, 3, 96, 96).transpose(0, 3, 2, 1)``.

    ``merge_train_test=True`` concatenates train (5,000) and test (8,000) into the 13,000 images
    of GDUI's clustering protocol; ``sample_idx`` is then the position in that concatenation
    (train rows first). Otherwise ``sample_idx`` is the row in the split's files.

    Args:
        data_root (str): The ``stl10_binary`` folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        merge_train_test (bool): Load train then test as one dataset. Defaults to False.
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    SPLITS = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train', merge_train_test: bool = False,
                 pipeline=(), **kwargs):
        if split not in self.SPLITS:
            raise CdmxError(f"STL10 split '{split}' is unknown; use 'train' or 'test'.")
        if merge_train_test and split != 'train':
            raise CdmxError("STL10 merge_train_test=True loads train and test together; leave "
                            "split at 'train'.")
        if not os.path.isdir(data_root):
            raise CdmxError(f'STL-10 folder {data_root} does not exist; set data_root to the '
                            'stl10_binary folder of the official archive.')
        self.split = split
        self.merge_train_test = merge_train_test
        self._files = []
        self._maps = {}
        names_file = os.path.join(data_root, 'class_names.txt')
        if not os.path.isfile(names_file):
            raise CdmxError(f'STL-10 file {names_file} does not exist; set data_root to the '
                            'stl10_binary folder of the official archive.')
        with open(names_file) as f:
            classes = tuple(line.strip() for line in f if line.strip())
        super().__init__(data_root=data_root, metainfo=dict(classes=classes),
                         pipeline=list(pipeline), **kwargs)

    def _split_files(self, split: str):
        x_path = os.path.join(self.data_root, f'{split}_X.bin')
        y_path = os.path.join(self.data_root, f'{split}_y.bin')
        for path in (x_path, y_path):
            if not os.path.isfile(path):
                raise CdmxError(f'STL-10 file {path} does not exist; set data_root to the '
                                'stl10_binary folder of the official archive.')
        labels = np.fromfile(y_path, dtype=np.uint8).astype(np.int64)
        num_classes = len(self.metainfo['classes'])
        if labels.size and (labels.min() < 1 or labels.max() > num_classes):
            raise CdmxError(f'STL-10 labels in {y_path} range {labels.min()}..{labels.max()} but '
                            f'must be 1..{num_classes}; download the file again.')
        size = os.path.getsize(x_path)
        if size != labels.size * _IMAGE_BYTES:
            raise CdmxError(f'STL-10 file {x_path} has {size} bytes but {labels.size} labels '
                            f'need {labels.size * _IMAGE_BYTES}; download it again.')
        return x_path, labels - 1

    def load_data_list(self):
        splits = self.SPLITS if self.merge_train_test else (self.split,)
        data_list, offset, self._files = [], 0, []
        for split in splits:
            x_path, labels = self._split_files(split)
            self._files.append(x_path)
            data_list += [dict(row=offset + i, gt_label=int(y), file=len(self._files) - 1,
                               file_row=i) for i, y in enumerate(labels)]
            offset += labels.size
        return data_list

    def _map(self, file: int) -> np.ndarray:
        """The ``(N, 3, 96, 96)`` memory map of one images file, opened once per process."""
        if file not in self._maps:
            path = self._files[file]
            n = os.path.getsize(path) // _IMAGE_BYTES
            self._maps[file] = np.memmap(path, dtype=np.uint8, mode='r',
                                         shape=(n, 3, _SIDE, _SIDE))
        return self._maps[file]

    def load_img(self, info: dict) -> np.ndarray:
        return np.ascontiguousarray(self._map(info['file'])[info['file_row']].transpose(2, 1, 0))

    def __getstate__(self):
        # Memory maps are reopened in each worker instead of being pickled as full arrays.
        state = self.__dict__.copy()
        state['_maps'] = {}
        return state
