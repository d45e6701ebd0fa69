"""Whole small image datasets as tensors, the form the foundation recipes train on."""
from typing import Tuple

import numpy as np
import torch

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def pad_to(images: np.ndarray, size: int) -> np.ndarray:
    """Centre ``(N, h, w, C)`` images on a black ``(N, size, size, C)`` canvas.

    Fashion-MNIST's 28x28 images become 32x32 with 2 zero pixels on each side, a size the
    autoencoder's two halvings (32 -> 16 -> 8) divide.
    """
    n, h, w, c = images.shape
    if h > size or w > size:
        raise CdmxError(f'images of {h}x{w} pixels do not fit image_size={size}; set image_size '
                        f'to at least {max(h, w)}.')
    top, left = (size - h) // 2, (size - w) // 2
    canvas = np.zeros((n, size, size, c), dtype=images.dtype)
    canvas[:, top:top + h, left:left + w] = images
    return canvas


def load_image_tensors(dataset_cfg: dict, image_size: int) -> Tuple[torch.Tensor, torch.Tensor,
                                                                    tuple]:
    """Build a cdmx dataset from its config and return all its images and labels.

    Args:
        dataset_cfg (dict): A ``DATASETS`` config whose ``get_data_info(i)`` gives ``'img'``
            (uint8, ``(h, w, 3)``) and ``'gt_label'``, e.g. ``FashionMNIST(subset='external')``.
        image_size (int): Side of the square canvas the images are centred on.

    Returns:
        tuple: ``images`` float32 ``(N, 3, image_size, image_size)`` in ``[0, 1]``, ``labels``
        int64 ``(N,)``, and the dataset's class names.
    """
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) == 0:
        raise CdmxError(f'dataset {dataset_cfg} is empty; point it at a folder with images.')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    images = np.stack([info['img'] for info in infos])
    if images.ndim != 4 or images.shape[-1] != 3:
        raise CdmxError(f'dataset {dataset_cfg.get("type")} gives images of shape '
                        f'{images.shape[1:]}, not (h, w, 3); set channels=3.')
    images = torch.from_numpy(pad_to(images, image_size)).permute(0, 3, 1, 2).float() / 255.0
    labels = torch.tensor([int(info['gt_label']) for info in infos], dtype=torch.long)
    return images.contiguous(), labels, tuple(dataset.metainfo['classes'])
