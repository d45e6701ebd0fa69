"""CIFAR-10/100 from python batches written here in the official layout."""
import os
import pickle

import numpy as np
import pytest

from cdmx.datasets import CIFAR10, CIFAR100, MismatchDataset, load_cifar_batch
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def _python2_batch(images, labels):
    """A batch as the official files are: a protocol-0 pickle written by Python 2's cPickle.

    Written opcode by opcode: ``data`` is a uint8 ndarray rebuilt through
    ``numpy.core.multiarray._reconstruct`` from a Python-2 byte string (rows are the R, G, B
    planes of 1024 values), ``labels`` a list of ints.
    """
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    escaped = ''.join(f'\\x{b:02x}' for b in data.tobytes())
    lines = ["(dp1", "S'data'", "p2", "cnumpy.core.multiarray", "_reconstruct", "p3", "(cnumpy",
             "ndarray", "p4", "(I0", "tp5", "S'b'", "p6", "tp7", "Rp8", "(I1", f"(I{len(data)}",
             "I3072", "tp9", "cnumpy", "dtype", "p10", "(S'u1'", "p11", "I0", "I1", "tp12",
             "Rp13", "(I3", "S'|'", "p14", "NNNI-1", "I-1", "I0", "tp15", "bI00",
             f"S'{escaped}'", "p16", "tp17", "bsS'labels'", "p18", "(lp19", ""]
    return ('\n'.join(lines) + ''.join(f'I{int(y)}\na' for y in labels) + 's.').encode('latin1')


def _python3_batch(images, labels, label_key='labels'):
    """The same dict pickled by Python 3 at protocol 2 (numpy 2's ``numpy._core`` globals)."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return pickle.dumps({'batch_label': 'testing batch', label_key: [int(y) for y in labels],
                         'data': data}, protocol=2)


def _images(rng, n):
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def cifar10_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar10')
    folder = root / 'cifar-10-batches-py'
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        images, labels = _images(rng, 4), rng.integers(0, 10, 4)
        (folder / name).write_bytes(_python2_batch(images, labels))
        batches[name] = (images, labels)
    return str(root), batches


def test_cifar10_train_and_test(cifar10_root):
    root, batches = cifar10_root
    train = CIFAR10(root, split='train')
    test = CIFAR10(root, split='test')
    assert (len(train), len(test)) == (20, 4)
    assert train.metainfo['classes'][:2] == ('airplane', 'automobile')
    images = np.concatenate([batches[f'data_batch_{i}'][0] for i in range(1, 6)])
    labels = np.concatenate([batches[f'data_batch_{i}'][1] for i in range(1, 6)])
    for i in (0, 5, 19):
        info = train.get_data_info(i)
        assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8
        np.testing.assert_array_equal(info['img'], images[i])
        assert info['gt_label'] == labels[i] and info['sample_idx'] == i
    np.testing.assert_array_equal(test.get_data_info(3)['img'], batches['test_batch'][0][3])


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    rng = np.random.default_rng(1)
    images, labels = _images(rng, 6), [0, 99, 3, 15, 50, 97]
    (folder / 'train').write_bytes(_python3_batch(images, labels, label_key='fine_labels'))
    ds = DATASETS.build(dict(type='CIFAR100', data_root=str(tmp_path), split='train'))
    assert isinstance(ds, CIFAR100) and len(ds.metainfo['classes']) == 100
    assert [ds.get_data_info(i)['gt_label'] for i in range(6)] == labels
    np.testing.assert_array_equal(ds.get_data_info(1)['img'], images[1])


def test_mismatch_over_cifar10(cifar10_root):
    train = CIFAR10(cifar10_root[0], split='train')
    num_known = int(np.isin(train.get_gt_labels(), [0, 1]).sum())
    ds = MismatchDataset(train, 'cifar-10_ucdm', 'train_known', known_count=num_known)
    assert ds.metainfo['classes'] == ('airplane', 'automobile')
    assert len(ds) == num_known
    assert all(train.get_data_info(ds.get_data_info(i)['source_idx'])['gt_label'] in (0, 1)
               for i in range(len(ds)))
    with pytest.raises(CdmxError, match='needs 10000 images but the dataset has only'):
        MismatchDataset(train, 'cifar-10_ucdm', 'train_known')


class _Shell:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_restricted_unpickler_refuses_code(tmp_path):
    path = str(tmp_path / 'data_batch_1')
    with open(path, 'wb') as f:
        pickle.dump({'data': _Shell(), 'labels': [0]}, f, protocol=2)
    with pytest.raises(CdmxError, match=r'is refused \(global (posix|os)\.system is not allowed'):
        load_cifar_batch(path)


def test_missing_and_corrupt_files(tmp_path, cifar10_root):
    with pytest.raises(CdmxError, match='cifar-10-batches-py does not exist'):
        CIFAR10(str(tmp_path), split='train')
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    with pytest.raises(CdmxError, match='data_batch_1 does not exist'):
        CIFAR10(str(tmp_path), split='train')
    (folder / 'test_batch').write_bytes(b'not a pickle at all')
    with pytest.raises(CdmxError, match='test_batch'):
        CIFAR10(str(tmp_path), split='test')
    with pytest.raises(CdmxError, match='does not download'):
        CIFAR10(cifar10_root[0], split='train', download=True)
    with pytest.raises(CdmxError, match="split 'val' is unknown"):
        CIFAR10(cifar10_root[0], split='val')
