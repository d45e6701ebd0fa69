"""Fashion-MNIST: the idx reader and the fixed external / train-pool / test split."""
import gzip
import os

import numpy as np
import pytest
from fixture_files import make_fashion_mnist, write_idx

from cdmx.datasets import FASHION_MNIST_CLASSES, FashionMNIST, read_idx
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

REAL_ROOT = os.environ.get('CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist')


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_round_trip(tmp_path, suffix):
    array = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = str(tmp_path / f'images-idx3-ubyte{suffix}')
    write_idx(path, array)
    out = read_idx(path, 3)
    assert out.dtype == np.uint8 and out.shape == (5, 4, 3)
    np.testing.assert_array_equal(out, array)


def test_read_idx_wrong_magic(tmp_path):
    path = str(tmp_path / 'labels-idx1-ubyte.gz')
    write_idx(path, np.arange(10), magic=0x00000803)  # image magic on a 1-d file
    with pytest.raises(CdmxError, match='magic number 0x00000803, expected 0x00000801') as err:
        read_idx(path, 1)
    assert path in str(err.value)


def test_read_idx_truncated(tmp_path):
    path = str(tmp_path / 'images-idx3-ubyte')
    write_idx(path, np.zeros((4, 28, 28)))
    with open(path, 'r+b') as f:
        f.truncate(16 + 3 * 28 * 28 + 5)
    with pytest.raises(CdmxError, match='announces shape .4, 28, 28.*download it again'):
        read_idx(path, 3)


def test_read_idx_cut_gzip(tmp_path):
    path = str(tmp_path / 'images-idx3-ubyte.gz')
    write_idx(path, np.random.default_rng(0).integers(0, 256, (50, 28, 28)))
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CdmxError, match='cannot be read'):
        read_idx(path, 3)


def test_read_idx_missing_file(tmp_path):
    path = str(tmp_path / 'nothing-idx3-ubyte.gz')
    with pytest.raises(CdmxError, match='does not exist') as err:
        read_idx(path, 3)
    assert path in str(err.value) and 'data_root' in str(err.value)


def test_subsets_disjoint_and_complete(fashion_mnist_root):
    ext = FashionMNIST(fashion_mnist_root, subset='external', external_size=100)
    pool = FashionMNIST(fashion_mnist_root, subset='train_pool', external_size=100)
    test = FashionMNIST(fashion_mnist_root, subset='test', external_size=100)
    assert (len(ext), len(pool), len(test)) == (100, 500, 200)
    ext_rows = {ext.get_data_info(i)['sample_idx'] for i in range(len(ext))}
    pool_rows = {pool.get_data_info(i)['sample_idx'] for i in range(len(pool))}
    assert not ext_rows & pool_rows
    assert ext_rows | pool_rows == set(range(600))
    assert ext.metainfo['classes'] == FASHION_MNIST_CLASSES
    assert {test.get_data_info(i)['sample_idx'] for i in range(200)} == set(range(200))


def test_split_is_seeded(fashion_mnist_root):
    def rows(seed):
        ds = FashionMNIST(fashion_mnist_root, subset='external', external_size=100,
                          split_seed=seed)
        return [ds.get_data_info(i)['sample_idx'] for i in range(len(ds))]

    assert rows(0) == rows(0)
    assert rows(0) != rows(1)


def test_data_info_matches_idx_files(fashion_mnist_root):
    images = read_idx(os.path.join(fashion_mnist_root, 'train-images-idx3-ubyte.gz'), 3)
    labels = read_idx(os.path.join(fashion_mnist_root, 'train-labels-idx1-ubyte.gz'), 1)
    pool = FashionMNIST(fashion_mnist_root, subset='train_pool', external_size=100)
    for i in (0, 7, len(pool) - 1):
        info = pool.get_data_info(i)
        row = info['sample_idx']
        assert info['img'].shape == (28, 28, 3) and info['img'].dtype == np.uint8
        for c in range(3):
            np.testing.assert_array_equal(info['img'][..., c], images[row])
        assert info['gt_label'] == labels[row]
    np.testing.assert_array_equal(pool.get_gt_labels(),
                                  [labels[pool.get_data_info(i)['sample_idx']]
                                   for i in range(len(pool))])
    grey = FashionMNIST(fashion_mnist_root, subset='test', channels=1)
    assert grey.get_data_info(3)['img'].shape == (28, 28, 1)


def test_build_from_registry_with_pipeline(fashion_mnist_root):
    ds = DATASETS.build(dict(type='FashionMNIST', data_root=fashion_mnist_root, subset='test',
                             pipeline=[dict(type='mmpretrain.PackInputs')]))
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 28, 28)
    assert out['data_samples'].gt_label.item() == ds.get_data_info(0)['gt_label']


def test_bad_arguments(fashion_mnist_root, tmp_path):
    with pytest.raises(CdmxError, match='external_size=10000 does not fit the 600'):
        FashionMNIST(fashion_mnist_root, subset='train_pool')
    with pytest.raises(CdmxError, match="subset 'val' is unknown"):
        FashionMNIST(fashion_mnist_root, subset='val')
    with pytest.raises(CdmxError, match='does not exist'):
        FashionMNIST(str(tmp_path / 'absent'))
    root = make_fashion_mnist(str(tmp_path / 'fm'), num_train=20, num_test=10)
    os.remove(os.path.join(root, 't10k-labels-idx1-ubyte.gz'))
    with pytest.raises(CdmxError, match='t10k-labels-idx1-ubyte'):
        FashionMNIST(root, subset='test')


def test_uncompressed_files_are_read(tmp_path):
    root = make_fashion_mnist(str(tmp_path / 'fm'), num_train=30, num_test=10)
    for name in os.listdir(root):
        with gzip.open(os.path.join(root, name)) as f:
            raw = f.read()
        with open(os.path.join(root, name[:-3]), 'wb') as f:
            f.write(raw)
        os.remove(os.path.join(root, name))
    assert len(FashionMNIST(root, subset='train_pool', external_size=10)) == 20


@pytest.mark.skipif(not os.path.isdir(REAL_ROOT), reason='real Fashion-MNIST not installed')
def test_real_fashion_mnist_split():
    sizes = {s: len(FashionMNIST(REAL_ROOT, subset=s)) for s in FashionMNIST.SUBSETS}
    assert sizes == {'external': 10000, 'train_pool': 50000, 'test': 10000}
    ext = FashionMNIST(REAL_ROOT, subset='external')
    counts = np.bincount(ext.get_gt_labels(), minlength=10)
    # A uniform random draw of 10,000 of 60,000 balanced images: about 1,000 per class.
    assert counts.min() > 850 and counts.max() < 1150
