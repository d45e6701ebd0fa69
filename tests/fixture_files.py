"""Small files in the real formats, written by the tests themselves (imported by conftest.py)."""
import gzip
import os
import struct

import numpy as np


def write_idx(path: str, array: np.ndarray, magic: int = None) -> None:
    """Write ``array`` (uint8) as an idx file, gzipped when ``path`` ends in ``.gz``.

    The idx header is two zero bytes, the dtype code (0x08 = uint8), the number of dimensions and
    one big-endian uint32 per dimension; ``magic`` overrides the first four bytes.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = struct.pack('>I', magic) + struct.pack(f'>{array.ndim}I', *array.shape)
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(header + array.tobytes())


def make_fashion_mnist(root: str, num_train: int = 600, num_test: int = 200, seed: int = 0) -> str:
    """A Fashion-MNIST folder of random 28x28 images whose class is drawn in its mean level.

    Labels are balanced over the 10 classes; each image is noise around ``25 * label`` so that a
    classifier can learn it in a few iterations.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    for prefix, n in (('train', num_train), ('t10k', num_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 30, size=(n, 28, 28)) + 25 * labels[:, None, None]
        write_idx(os.path.join(root, f'{prefix}-images-idx3-ubyte.gz'), images)
        write_idx(os.path.join(root, f'{prefix}-labels-idx1-ubyte.gz'), labels)
    return root


def make_cityscapes(root: str, cities=('aachen', 'jena'), per_city: int = 8, num_val: int = 2,
                    size=(32, 64), seed: int = 0) -> str:
    """A tiny Cityscapes folder in the real layout (mmseg's, after its converter).

    ``leftImg8bit/{train,val}/<city>/<city>_000000_0000NN_leftImg8bit.png`` (RGB) and
    ``gtFine/{train,val}/<city>/..._gtFine_labelTrainIds.png`` (train ids 0-18, 255 ignored),
    ``per_city`` training images per city and ``num_val`` validation images of ``frankfurt``,
    each ``size`` = (H, W). Each label is a few horizontal bands of random train ids (and a
    band of 255), and the image is the band's id times 13 in every channel plus noise.
    """
    from PIL import Image  # only the segmentation fixtures need it

    rng = np.random.default_rng(seed)
    height, width = size
    plan = [('train', city, i) for city in cities for i in range(per_city)]
    plan += [('val', 'frankfurt', i) for i in range(num_val)]
    for split, city, i in plan:
        stem = f'{city}_000000_{i:06d}'
        bands = rng.integers(0, 19, size=4).astype(np.uint8)
        bands[rng.integers(4)] = 255 if rng.random() < 0.5 else bands[0]
        label = np.repeat(bands, -(-height // 4))[:height, None].repeat(width, axis=1)
        image = (label.astype(np.int64) % 19 * 13)[..., None].repeat(3, axis=2)
        image = np.clip(image + rng.integers(0, 20, size=image.shape), 0, 255).astype(np.uint8)
        for folder, name, array in (('leftImg8bit', f'{stem}_leftImg8bit.png', image),
                                    ('gtFine', f'{stem}_gtFine_labelTrainIds.png', label)):
            path = os.path.join(root, folder, split, city)
            os.makedirs(path, exist_ok=True)
            Image.fromarray(array).save(os.path.join(path, name))
    return root


#: A tiny open_clip architecture (16-d embeddings, one-layer towers) for scorer and tool tests.
TINY_CLIP = dict(embed_dim=16,
                 vision_cfg=dict(image_size=32, patch_size=8, width=32, layers=1, head_width=16),
                 text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))


def write_tiny_clip(folder: str, name: str, config: dict = None) -> str:
    """Save a randomly initialised open_clip model as the mini CLIP is saved: the architecture
    in ``folder/model_configs/<name>.json``, the weights in ``folder/<name>.pt``; returns the
    weights path."""
    import json

    import open_clip
    import torch
    config_dir = os.path.join(folder, 'model_configs')
    os.makedirs(config_dir, exist_ok=True)
    with open(os.path.join(config_dir, f'{name}.json'), 'w') as f:
        json.dump(config or TINY_CLIP, f)
    open_clip.add_model_config(config_dir)
    torch.manual_seed(0)
    path = os.path.join(folder, f'{name}.pt')
    torch.save({'state_dict': open_clip.create_model(name).state_dict()}, path)
    return path
