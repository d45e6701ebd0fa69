"""Fashion-MNIST (Xiao et al., 2017) from its idx(.gz) files: the mini world of cdmx."""
import gzip
import os
import struct
import zlib

import numpy as np

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError
from .base_dataset import LazyImageDataset

FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                         'Sneaker', 'Bag', 'Ankle boot')

_IDX_UINT8 = 0x08


def read_idx(path: str, ndim: int) -> np.ndarray:
    """Read an idx file of unsigned bytes (gzipped when ``path`` ends in ``.gz``).

    Layout (LeCun's MNIST format): a big-endian uint32 magic number ``0x0000TTNN`` (two zero
    bytes, dtype code ``TT`` = 0x08 for uint8, number of dimensions ``NN``), then ``NN``
    big-endian uint32 sizes, then the ``prod(sizes)`` bytes of the array in C order.
    Written here (numpy, ~20 lines) because torchvision's reader asserts instead of explaining,
    does not open gzip and returns torch tensors.

    Args:
        path (str): The idx or idx.gz file.
        ndim (int): The number of dimensions expected (1 for labels, 3 for images).

    Returns:
        np.ndarray: uint8 array of the stored shape, e.g. ``(60000, 28, 28)``.

    Raises:
        CdmxError: The file is missing, not gzip, has the wrong magic number or is truncated.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'idx file {path} does not exist; point data_root at the Fashion-MNIST '
                        'folder (Debian package dataset-fashion-mnist installs it in '
                        '/usr/share/datasets/fashion-mnist).')
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise CdmxError(f'idx file {path} cannot be read ({err}); download it again.') from err
    expected_magic = (_IDX_UINT8 << 8) | ndim
    if len(raw) < 4 or struct.unpack('>I', raw[:4])[0] != expected_magic:
        found = f'0x{struct.unpack(">I", raw[:4])[0]:08x}' if len(raw) >= 4 else 'no header'
        raise CdmxError(f'idx file {path} has magic number {found}, expected '
                        f'0x{expected_magic:08x} (uint8, {ndim} dimensions); pass the right '
                        'Fashion-MNIST file or download it again.')
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CdmxError(f'idx file {path} ends inside its header; download it again.')
    shape = struct.unpack(f'>{ndim}I', raw[4:header])
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise CdmxError(f'idx file {path} holds {len(raw) - header} data bytes but its header '
                        f'announces shape {shape} ({size} bytes); download it again.')
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(data_root: str, stem: str) -> str:
    """``data_root/stem.gz`` if present, else ``data_root/stem`` (the two official forms)."""
    for name in (stem + '.gz', stem):
        path = os.path.join(data_root, name)
        if os.path.isfile(path):
            return path
    raise CdmxError(f'Fashion-MNIST file {os.path.join(data_root, stem)}(.gz) does not exist; '
                    'set data_root (in configs: the environment variable CDMX_FASHION_MNIST) to '
                    'the folder holding the four idx files (Debian package dataset-fashion-mnist '
                    'installs them in /usr/share/datasets/fashion-mnist).')


def external_split(num_train: int, external_size: int, split_seed: int):
    """Rows of the train file in the external pool and in the train pool.

    ``rng = numpy.random.default_rng(split_seed)`` (PCG64) draws ``rng.permutation(num_train)``;
    its first ``external_size`` entries are the external pool, the rest the train pool, both
    returned sorted. With the defaults (60,000 rows, 10,000 external, seed 0) the split is fixed.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(external_rows, train_pool_rows)``, int64.
    """
    if not 0 <= external_size < num_train:
        raise CdmxError(f'external_size={external_size} does not fit the {num_train} train '
                        f'images; choose 0 <= external_size < {num_train}.')
    perm = np.random.default_rng(split_seed).permutation(num_train)
    return np.sort(perm[:external_size]), np.sort(perm[external_size:])


@DATASETS.register_module()
class FashionMNIST(LazyImageDataset):
    """Fashion-MNIST with cdmx's fixed external / train-pool / test split.

    Subsets:

    - ``'external'``: ``external_size`` (10,000) train images reserved for pretraining the
      stand-in foundation models (mini Stable Diffusion, mini CLIP); never used by experiments.
    - ``'train_pool'``: the other 50,000 train images; their labels only build splits and score.
    - ``'test'``: the 10,000 images of the t10k files.

    The external pool is ``numpy.random.default_rng(split_seed).permutation(60000)[:10000]``
    with ``split_seed = 0`` (numpy's PCG64 generator), see :func:`external_split`.

    Each ``get_data_info`` returns ``{'img': uint8 (28, 28, channels), 'gt_label': int,
    'sample_idx': int}`` where ``sample_idx`` is the row in the idx file (train file for
    'external' and 'train_pool', t10k for 'test'); grey values are repeated over ``channels``.

    Args:
        data_root (str): Folder of ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
        subset (str): ``'external'``, ``'train_pool'`` or ``'test'``.
        external_size (int): Size of the external pool. Defaults to 10000.
        split_seed (int): Seed of the external / train-pool permutation. Defaults to 0.
        channels (int): Channels of the returned image (1 or 3). Defaults to 3.
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``indices``, ``lazy_init``...).
    """

    METAINFO = dict(classes=FASHION_MNIST_CLASSES)
    SUBSETS = ('external', 'train_pool', 'test')

    def __init__(self,
                 data_root: str = '/usr/share/datasets/fashion-mnist',
                 subset: str = 'train_pool',
                 external_size: int = 10000,
                 split_seed: int = 0,
                 channels: int = 3,
                 pipeline=(),
                 **kwargs):
        if subset not in self.SUBSETS:
            raise CdmxError(f"FashionMNIST subset '{subset}' is unknown; use one of "
                            f'{self.SUBSETS}.')
        if channels not in (1, 3):
            raise CdmxError(f'FashionMNIST channels={channels} is not supported; use 1 or 3.')
        if not os.path.isdir(data_root):
            raise CdmxError(f'Fashion-MNIST folder {data_root} does not exist; install the Debian '
                            'package dataset-fashion-mnist or set data_root (in configs: the '
                            'environment variable CDMX_FASHION_MNIST) to the folder of the idx '
                            'files.')
        self.subset = subset
        self.external_size = external_size
        self.split_seed = split_seed
        self.channels = channels
        self._images = None
        super().__init__(data_root=data_root, pipeline=list(pipeline), **kwargs)

    def load_data_list(self):
        prefix = 't10k' if self.subset == 'test' else 'train'
        images = read_idx(_find_idx(self.data_root, f'{prefix}-images-idx3-ubyte'), 3)
        labels = read_idx(_find_idx(self.data_root, f'{prefix}-labels-idx1-ubyte'), 1)
        if images.shape[0] != labels.shape[0]:
            raise CdmxError(f'Fashion-MNIST {prefix} files in {self.data_root} hold '
                            f'{images.shape[0]} images but {labels.shape[0]} labels; download '
                            'them again.')
        if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
            raise CdmxError(f'Fashion-MNIST {prefix} labels in {self.data_root} go up to '
                            f'{labels.max()} but there are 10 classes; download them again.')
        if self.subset == 'test':
            rows = np.arange(images.shape[0])
        else:
            external, pool = external_split(images.shape[0], self.external_size,
                                            self.split_seed)
            rows = external if self.subset == 'external' else pool
        self._images = images
        return [dict(row=int(r), gt_label=int(labels[r])) for r in rows]

    def load_img(self, info: dict) -> np.ndarray:
        img = self._images[info['sample_idx']][..., None]
        return np.repeat(img, self.channels, axis=2) if self.channels > 1 else img.copy()
