"""Datasets of cdmx: the Fashion-MNIST mini world, paper-scale datasets and UCDM's mismatch split."""
from .base_dataset import LazyImageDataset
from .cifar import CIFAR10, CIFAR100, CifarUnpickler, load_cifar_batch
from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST, external_split, read_idx
from .generated_pairs import GeneratedPairs
from .ucdm_pairs import UCDMPairDataset
from .mismatch import (SPLITS_DIR, MismatchDataset, available_splits, build_mismatch_indices,
                       load_split, resolve_classes, unknown_count)
from .stl10 import STL10
from .tiny_imagenet import TinyImageNet

__all__ = [
    'LazyImageDataset', 'CIFAR10', 'CIFAR100', 'CifarUnpickler', 'load_cifar_batch',
    'FASHION_MNIST_CLASSES', 'FashionMNIST', 'external_split', 'read_idx', 'GeneratedPairs',
    'SPLITS_DIR', 'MismatchDataset', 'available_splits', 'build_mismatch_indices', 'load_split',
    'resolve_classes', 'unknown_count', 'STL10', 'TinyImageNet', 'UCDMPairDataset'
]
