"""Seed images for the generator tools: a folder of pictures or the Fashion-MNIST test split."""
import os
from typing import List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from cdmx.utils.errors import CdmxError
from .prompts import check_class_names

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


def _to_tensor(arrays: List[np.ndarray]) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` arrays -> float ``(N, 3, H, W)`` in ``[0, 1]``."""
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def folder_seeds(folder: str, num: int) -> torch.Tensor:
    """The first ``num`` images (sorted by name) of ``folder`` as ``(N, 3, H, W)`` in ``[0, 1]``.

    All images must share one size; they are converted to RGB.
    """
    if not os.path.isdir(folder):
        raise CdmxError(f'image folder {folder} does not exist; pass a folder of '
                        f'{"/".join(IMAGE_EXTENSIONS)} files.')
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))[:num]
    if not names:
        raise CdmxError(f'{folder} holds no {"/".join(IMAGE_EXTENSIONS)} image; pass a folder '
                        'of seed images.')
    arrays = [np.asarray(Image.open(os.path.join(folder, n)).convert('RGB')) for n in names]
    sizes = sorted({a.shape[:2] for a in arrays})
    if len(sizes) > 1:
        raise CdmxError(f'the images in {folder} have sizes {sizes}; resize them to one size.')
    return _to_tensor(arrays)


def fashion_mnist_seeds(data_root: str, num: int,
                        seed: int = 0) -> Tuple[torch.Tensor, List[str], List[str]]:
    """``num`` random images of the Fashion-MNIST test split (``numpy`` ``default_rng(seed)``).

    Returns:
        tuple: images ``(N, 3, 28, 28)`` in ``[0, 1]``, their class names, and the 10 class
        names of the dataset.
    """
    # Imported here: cdmx.datasets may come to read generated pairs and import this package.
    from cdmx.datasets import FashionMNIST

    dataset = FashionMNIST(data_root=data_root, subset='test', channels=3)
    classes = list(dataset.metainfo['classes'])
    rows = np.random.default_rng(seed).choice(len(dataset), size=min(num, len(dataset)),
                                              replace=False)
    infos = [dataset.get_data_info(int(i)) for i in rows]
    return (_to_tensor([info['img'] for info in infos]),
            [classes[info['gt_label']] for info in infos], classes)


def load_seeds(images: Optional[str], data_root: str, num: int, seed: int,
               classes: Optional[List[str]]
               ) -> Tuple[torch.Tensor, Optional[List[str]], List[str]]:
    """Seeds and the known classes to pair them with, as the tools' command lines give them.

    ``images`` (a folder) wins over ``data_root`` (Fashion-MNIST test split); ``classes``
    defaults to the dataset's classes and is required with a folder.

    Returns:
        tuple: seeds ``(N, 3, H, W)`` in ``[0, 1]``, their true class names (``None`` for a
        folder), and the known classes (checked: non-empty, no duplicates).
    """
    if num < 1:
        raise CdmxError(f'the number of seed images is {num}; ask for at least 1.')
    if images:
        if not classes:
            raise CdmxError('seed images from a folder come without class names; pass the '
                            'known classes with --classes.')
        return folder_seeds(images, num), None, check_class_names(classes)
    seeds, seed_names, dataset_classes = fashion_mnist_seeds(data_root, num, seed)
    return seeds, seed_names, check_class_names(classes or dataset_classes)
