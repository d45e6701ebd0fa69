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
