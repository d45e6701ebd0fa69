"""CIFAR-10/100 (Krizhevsky, 2009) from the official python batches, read without plain pickle.

mmpretrain's ``CIFAR10``/``CIFAR100`` give the class names, file lists and dataset plumbing, but
their loader calls ``pickle.loads`` on the batch files, which runs any code a tampered file
carries. The subclasses here replace that loader with :class:`CifarUnpickler`, which resolves only
the globals a CIFAR batch needs, and never download.
"""
import codecs
import os
import pickle

import numpy as np
from mmpretrain.datasets import CIFAR10 as _MMPretrainCIFAR10
from mmpretrain.datasets import CIFAR100 as _MMPretrainCIFAR100

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2 keeps it in numpy.core
    from numpy.core.multiarray import _reconstruct

_IMAGE_BYTES = 3 * 32 * 32


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds dicts, lists, strings, numbers and numpy arrays, nothing else.

    A CIFAR batch is a dict of ``data`` (a uint8 ndarray), label lists, file names and a batch
    label. Arrays pickle through ``numpy(._)core.multiarray._reconstruct``, ``numpy.ndarray``
    and ``numpy.dtype`` (and ``_codecs.encode`` for bytes written at protocol 2 by Python 3);
    any other global is refused before it is imported, so a tampered file cannot run code.
    """

    ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        ('_codecs', 'encode'): codecs.encode,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f'global {module}.{name} is not allowed') from None


def load_cifar_batch(path: str) -> dict:
    """Read one CIFAR python batch (or meta file) with :class:`CifarUnpickler`.

    Python-2 strings are decoded as latin-1, as the official files need.

    Raises:
        CdmxError: The file is missing, is not a pickled dict, or refers to a disallowed global.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'CIFAR file {path} does not exist; set data_root to the folder that '
                        'holds the extracted cifar-10-batches-py or cifar-100-python folder.')
    try:
        with open(path, 'rb') as f:
            entry = CifarUnpickler(f, encoding='latin1').load()
    except pickle.UnpicklingError as err:
        raise CdmxError(f'CIFAR file {path} is refused ({err}); replace it with the file of the '
                        'official python archive.') from err
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise CdmxError(f'CIFAR file {path} is not a readable CIFAR batch ({err}); replace it '
                        'with the file of the official python archive.') from err
    if not isinstance(entry, dict):
        raise CdmxError(f'CIFAR file {path} holds a {type(entry).__name__}, not a batch dict; '
                        'replace it with the file of the official python archive.')
    return entry


def _batch_images_labels(path: str):
    """``(images (N, 32, 32, 3) uint8, labels list[int])`` of one batch file."""
    entry = load_cifar_batch(path)
    data = entry.get('data')
    labels = entry.get('labels', entry.get('fine_labels'))
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != _IMAGE_BYTES or labels is None or len(labels) != len(data)):
        raise CdmxError(f'CIFAR file {path} lacks a uint8 (N, 3072) data array with N labels; '
                        'replace it with the file of the official python archive.')
    # Rows hold the 1024 red, then green, then blue values of a 32x32 image in row-major order.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), [int(y) for y in labels]


class _SafeCifarMixin:
    """Replaces mmpretrain's CIFAR loading (plain pickle, download) with the restricted one."""

    def __init__(self, data_root: str, split: str = 'train', pipeline=(), **kwargs):
        if split not in ('train', 'test'):
            raise CdmxError(f"{type(self).__name__} split '{split}' is unknown; use 'train' or "
                            "'test'.")
        folder = os.path.join(data_root, self.base_folder)
        if not os.path.isdir(folder):
            raise CdmxError(f'CIFAR folder {folder} does not exist; set data_root to the folder '
                            f'that holds the extracted {self.base_folder} of the official python '
                            'archive.')
        if kwargs.pop('download', False):
            raise CdmxError('cdmx does not download CIFAR; fetch the python archive from '
                            'https://www.cs.toronto.edu/~kriz/cifar.html, extract it under '
                            'data_root and drop download=True.')
        super().__init__(data_root=data_root, split=split, download=False,
                         pipeline=list(pipeline), **kwargs)

    def load_data_list(self):
        folder = os.path.join(self.data_prefix['root'], self.base_folder)
        files = self.train_list if self.split == 'train' else self.test_list
        data_list = []
        for file_name, _ in files:
            images, labels = _batch_images_labels(os.path.join(folder, file_name))
            num_classes = len(self.metainfo['classes'])
            if labels and not 0 <= min(labels) <= max(labels) < num_classes:
                raise CdmxError(f'CIFAR file {os.path.join(folder, file_name)} has labels outside '
                                f'0..{num_classes - 1}; replace it with the official file.')
            data_list += [dict(img=img, gt_label=y) for img, y in zip(images, labels)]
        return data_list


@DATASETS.register_module()
class CIFAR10(_SafeCifarMixin, _MMPretrainCIFAR10):
    """CIFAR-10 from ``<data_root>/cifar-10-batches-py/{data_batch_1..5,test_batch}``.

    Each ``get_data_info`` is ``{'img': uint8 (32, 32, 3) RGB, 'gt_label': int,
    'sample_idx': int}`` (position in the concatenated batches); classes are mmpretrain's
    ``CIFAR10_CATEGORIES`` (the order of ``batches.meta``).

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py``.
        split (str): ``'train'`` (50,000 images) or ``'test'`` (10,000).
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """


@DATASETS.register_module()
class CIFAR100(_SafeCifarMixin, _MMPretrainCIFAR100):
    """CIFAR-100 (fine labels) from ``<data_root>/cifar-100-python/{train,test}``.

    Same data_info as :class:`CIFAR10`; classes are mmpretrain's ``CIFAR100_CATEGORIES``
    (the order of ``fine_label_names`` in ``meta``).

    Args:
        data_root (str): Folder holding ``cifar-100-python``.
        split (str): ``'train'`` (50,000 images) or ``'test'`` (10,000).
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """
