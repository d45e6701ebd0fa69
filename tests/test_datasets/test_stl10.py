"""STL-10 from binary files written here in the official column-major layout."""
import pickle

import numpy as np
import pytest

from cdmx.datasets import STL10
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

CLASSES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck']


def _write_split(root, split, images, labels):
    """Each image as 3 channel planes of 96x96 stored column-major (Fortran order)."""
    with open(root / f'{split}_X.bin', 'wb') as f:
        for img in images:
            for c in range(3):
                f.write(img[:, :, c].tobytes(order='F'))
    np.asarray(labels, dtype=np.uint8).tofile(root / f'{split}_y.bin')


@pytest.fixture(scope='module')
def stl_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('stl10_binary')
    (root / 'class_names.txt').write_text('\n'.join(CLASSES) + '\n')
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (('train', 3), ('test', 4)):
        images = rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
        labels = rng.integers(1, 11, size=n)
        _write_split(root, split, images, labels)
        data[split] = (images, labels)
    return root, data


def test_images_and_labels(stl_root):
    root, data = stl_root
    ds = STL10(str(root), split='test')
    assert len(ds) == 4 and ds.metainfo['classes'] == tuple(CLASSES)
    images, labels = data['test']
    for i in range(4):
        info = ds.get_data_info(i)
        assert info['img'].shape == (96, 96, 3) and info['img'].dtype == np.uint8
        np.testing.assert_array_equal(info['img'], images[i])
        assert info['gt_label'] == labels[i] - 1 and info['sample_idx'] == i


def test_merge_train_test(stl_root):
    root, data = stl_root
    ds = DATASETS.build(dict(type='STL10', data_root=str(root), merge_train_test=True))
    assert len(ds) == 7
    np.testing.assert_array_equal(ds.get_gt_labels(),
                                  np.concatenate([data['train'][1], data['test'][1]]) - 1)
    np.testing.assert_array_equal(ds.get_data_info(2)['img'], data['train'][0][2])
    np.testing.assert_array_equal(ds.get_data_info(3)['img'], data['test'][0][0])
    assert ds.get_data_info(3)['sample_idx'] == 3
    # Workers receive a pickled copy: the memory maps are reopened, not copied.
    ds.get_data_info(0)
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone.get_data_info(6)['img'], data['test'][0][3])


def test_bad_files(tmp_path, stl_root):
    with pytest.raises(CdmxError, match='class_names.txt does not exist'):
        STL10(str(tmp_path))
    (tmp_path / 'class_names.txt').write_text('\n'.join(CLASSES))
    with pytest.raises(CdmxError, match='train_X.bin does not exist'):
        STL10(str(tmp_path))
    images = np.zeros((2, 96, 96, 3), dtype=np.uint8)
    _write_split(tmp_path, 'train', images, [0, 3])
    with pytest.raises(CdmxError, match=r'range 0\.\.3 but must be 1\.\.10'):
        STL10(str(tmp_path))
    _write_split(tmp_path, 'train', images[:1], [1, 3])
    with pytest.raises(CdmxError, match='has 27648 bytes but 2 labels need 55296'):
        STL10(str(tmp_path))
    with pytest.raises(CdmxError, match='leave split'):
        STL10(str(stl_root[0]), split='test', merge_train_test=True)
    with pytest.raises(CdmxError, match='does not exist'):
        STL10(str(tmp_path / 'nowhere'))
