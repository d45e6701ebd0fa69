"""Datasets of cdmx: the Fashion-MNIST mini world, paper-scale datasets and UCDM's mismatch split."""
from .base_dataset import LazyImageDataset
from .cifar import CIFAR10, CIFAR100, CifarUnpickler, load_cifar_batch
from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST, external_split, read_idx
from .generated_pairs import GeneratedPairs
from .ucdm_pairs import UCDMPairDataset
from .ucdm_batch_sampler import UCDMBatchSampler
from .kind_batch_sampler import KindBatchSampler
from .mismatch import (SPLITS_DIR, MismatchDataset, available_splits, build_mismatch_indices,
                       load_split, resolve_classes, unknown_count)
from .pseudo_labelled import PseudoLabelledDataset, read_labels_file
from .reliable_samples import ReliableSamplesDataset, read_reliable_file
from .stl10 import STL10
from .tiny_imagenet import TinyImageNet

__all__ = [
    'LazyImageDataset', 'CIFAR10', 'CIFAR100', 'CifarUnpickler', 'load_cifar_batch',
    'FASHION_MNIST_CLASSES', 'FashionMNIST', 'external_split', 'read_idx', 'GeneratedPairs',
    'SPLITS_DIR', 'MismatchDataset', 'available_splits', 'build_mismatch_indices', 'load_split',
    'resolve_classes', 'unknown_count', 'STL10', 'TinyImageNet', 'UCDMPairDataset',
    'UCDMBatchSampler', 'KindBatchSampler', 'PseudoLabelledDataset', 'read_labels_file'
]
__all__ += ['ReliableSamplesDataset', 'read_reliable_file']
# DiffMatch: the mini world's scenes, UniMatch-format splits, semi-supervised batching.
from . import transforms  # noqa: F401,E402
from .coco_object import COCO_OBJECT_CLASSES, COCOObjectDataset  # noqa: E402
from .collate import multi_branch_collate  # noqa: E402
from .fashion_scenes import FASHION_SCENES_CLASSES, FashionScenesDataset  # noqa: E402
from .fashion_testbed import TESTBED_CLASSES, FashionTestbedDataset  # noqa: E402
from .samplers import SemiSupervisedSampler  # noqa: E402
from .split_list import SplitListDataset, read_split_file  # noqa: E402

__all__ += [
    'COCO_OBJECT_CLASSES', 'COCOObjectDataset', 'multi_branch_collate', 'FASHION_SCENES_CLASSES',
    'FashionScenesDataset', 'SemiSupervisedSampler', 'SplitListDataset', 'read_split_file',
    'TESTBED_CLASSES', 'FashionTestbedDataset'
]
