"""UCDM's mismatch split: the count rule, the seeded draws, the shipped split files."""
import json
import math
import os

import numpy as np
import pytest

from cdmx.datasets import (SPLITS_DIR, FashionMNIST, MismatchDataset, available_splits,
                           build_mismatch_indices, load_split, unknown_count)
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

REAL_ROOT = os.environ.get('CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist')
# 10 classes x 300 samples, shuffled.
LABELS = np.random.default_rng(5).permutation(np.repeat(np.arange(10), 300))
KNOWN, UNKNOWN, NEW = [0, 5], [2, 3, 4, 6, 7, 8], [1, 9]


@pytest.mark.parametrize('p', [0, 0.2, 0.4, 0.6, 0.75])
@pytest.mark.parametrize('known', [1000, 10000, 333])
def test_unknown_count_gives_proportion_p(known, p):
    n = unknown_count(known, p)
    # The official implementation's form of the same rule.
    assert n == math.ceil(round(known / (1 - p), 9)) - known
    # p is the share of unknown images in the mixture, up to the rounding of one image.
    assert p <= n / (known + n) < p + 1 / (known + n)


def test_split_files_are_consistent():
    names = available_splits()
    assert {'fashion-mnist_mini', 'cifar-10_ucdm', 'cifar-100_ucdm',
            'tiny-imagenet_ucdm'} <= set(names)
    shapes = {'fashion-mnist_mini': (2, 6, 2), 'cifar-10_ucdm': (2, 6, 2),
              'cifar-100_ucdm': (20, 60, 20), 'tiny-imagenet_ucdm': (20, 80, 100)}
    for name, shape in shapes.items():
        spec = load_split(name)
        assert (len(spec['known']), len(spec['unknown']), len(spec['new'])) == shape
        with open(os.path.join(SPLITS_DIR, name + '.json')) as f:
            raw = json.load(f)
        for p, n in raw['unknown_counts'].items():
            assert unknown_count(spec['known_count'], float(p)) == n, (name, p)
        assert raw['source']


def test_cifar_splits_name_the_official_ids():
    from mmpretrain.datasets.categories import CIFAR10_CATEGORIES, CIFAR100_CATEGORIES
    for name, classes in (('cifar-10_ucdm', CIFAR10_CATEGORIES),
                          ('cifar-100_ucdm', CIFAR100_CATEGORIES)):
        with open(os.path.join(SPLITS_DIR, name + '.json')) as f:
            raw = json.load(f)
        for kind in ('known', 'unknown', 'new'):
            assert raw[kind] == [classes[i] for i in raw['official_ids'][kind]]


@pytest.mark.parametrize('p', [0.0, 0.2, 0.6, 0.75])
def test_train_mixture_counts_and_kinds(p):
    idx, kinds = build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'train', p, seed=0,
                                        known_count=200)
    assert len(idx) == len(set(idx.tolist())) == len(kinds)
    assert list(idx) == sorted(idx)
    kinds = np.array(kinds)
    assert (kinds == 'known').sum() == 200
    assert (kinds == 'unknown').sum() == unknown_count(200, p)
    assert np.isin(LABELS[idx[kinds == 'known']], KNOWN).all()
    assert np.isin(LABELS[idx[kinds == 'unknown']], UNKNOWN).all()
    assert 'new' not in kinds


def test_draws_are_seeded_nested_and_independent_of_p():
    def draw(part, p=0.0, seed=0):
        return build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, part, p, seed, known_count=200,
                                      test_counts=dict(known=50, unknown=60, new=70))[0]

    np.testing.assert_array_equal(draw('train', 0.6), draw('train', 0.6))
    assert set(draw('train', 0.6)) != set(draw('train', 0.6, seed=1))
    assert set(draw('train', 0.2)) < set(draw('train', 0.6)) < set(draw('train', 0.75))
    assert set(draw('train_known')) == set(draw('train', 0.0))
    np.testing.assert_array_equal(draw('test', 0.0), draw('test', 0.75))
    assert len(draw('test')) == 180
    assert set(draw('test_known')) == set(np.flatnonzero(np.isin(LABELS, KNOWN)))


def test_all_known_images_when_count_is_none():
    idx, _ = build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'train', 0.4)
    assert len(idx) == 600 + unknown_count(600, 0.4)


def test_not_enough_samples():
    with pytest.raises(CdmxError, match='needs 5400 images but the dataset has only 1800'):
        build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'train', 0.9, known_count=600)
    with pytest.raises(CdmxError, match='needs 700 images but the dataset has only 600'):
        build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'train_known', known_count=700)
    with pytest.raises(CdmxError, match='new-class part of the test set needs 601'):
        build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'test',
                               test_counts=dict(known=1, unknown=1, new=601))


@pytest.mark.parametrize('p', [1.0, -0.1, 1.5, True, 'half'])
def test_bad_mismatch(p):
    with pytest.raises(CdmxError, match=r'outside \[0, 1\)'):
        build_mismatch_indices(LABELS, KNOWN, UNKNOWN, NEW, 'train', p)


@pytest.fixture(scope='module')
def pool(fashion_mnist_root):
    return FashionMNIST(fashion_mnist_root, subset='train_pool', external_size=100)


def test_mismatch_dataset_over_fashion_mnist(pool):
    ds = MismatchDataset(pool, 'fashion-mnist_mini', 'train', mismatch=0.6, known_count=60)
    assert ds.metainfo['classes'] == ('T-shirt/top', 'Sandal')
    assert ds.metainfo['counts'] == dict(known=60, unknown=90, new=0)
    assert len(ds) == 150
    labels = pool.get_gt_labels()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['true_class'] == labels[info['source_idx']]
        assert info['dataset_idx'] == i
        assert info['sample_idx'] == pool.get_data_info(info['source_idx'])['sample_idx']
        expected = {0: 0, 5: 1}.get(info['true_class'], 2)
        assert info['gt_label'] == expected
        assert info['kind'] == ('known' if expected < 2 else 'unknown')
    assert info['img'].shape == (28, 28, 3)
    np.testing.assert_array_equal(ds.get_gt_labels(),
                                  [ds.get_data_info(i)['gt_label'] for i in range(len(ds))])


def test_mismatch_dataset_test_part_from_config(fashion_mnist_root):
    ds = DATASETS.build(dict(
        type='MismatchDataset',
        dataset=dict(type='FashionMNIST', data_root=fashion_mnist_root, subset='test'),
        split='fashion-mnist_mini', part='test', test_counts=dict(known=30, unknown=40, new=20)))
    assert ds.metainfo['counts'] == dict(known=30, unknown=40, new=20)
    kinds = [ds.get_data_info(i)['kind'] for i in range(len(ds))]
    new_classes = {ds.get_data_info(i)['true_class'] for i in range(len(ds))
                   if kinds[i] == 'new'}
    assert new_classes <= {1, 9}
    assert {ds.get_data_info(i)['gt_label'] for i in range(len(ds)) if kinds[i] != 'known'} == {2}


def test_split_by_ids_equals_split_by_names(pool):
    by_name = MismatchDataset(pool, dict(known=['Sandal', 'T-shirt/top'], unknown=['Bag'],
                                         new=[]), 'train', mismatch=0.2, known_count=50)
    by_id = MismatchDataset(pool, dict(known=[5, 0], unknown=[8], new=[]), 'train',
                            mismatch=0.2, known_count=50)
    assert by_name.metainfo['classes'] == ('Sandal', 'T-shirt/top')
    assert [by_name.get_data_info(i)['source_idx'] for i in range(len(by_name))] == \
        [by_id.get_data_info(i)['source_idx'] for i in range(len(by_id))]
    assert by_id.get_data_info(0)['gt_label'] in (0, 1, 2)


def test_default_counts_too_large_for_tiny_pool(pool):
    with pytest.raises(CdmxError, match='needs 600 images but the dataset has only'):
        MismatchDataset(pool, 'fashion-mnist_mini', 'train')


@pytest.mark.parametrize('split, message', [
    (dict(known=['Sandal'], unknown=['Sandal', 'Bag'], new=[]), r"\['Sandal'\] in both known"),
    (dict(known=['Sandal'], unknown=[5], new=[]), "class 'Sandal' in both known and unknown"),
    (dict(known=['Sandal'], unknown=['Boot'], new=[]), "class 'Boot' in split 'custom' is not"),
    (dict(known=[0], unknown=[10], new=[]), 'class id 10 in .* is out of range'),
    (dict(known=[], unknown=[1], new=[]), 'has no known class'),
    (dict(known=[0, 0], unknown=[], new=[]), 'names a class twice'),
    ('fashion-mnist_nope', "split 'fashion-mnist_nope' has no file"),
])
def test_bad_splits(pool, split, message):
    with pytest.raises(CdmxError, match=message):
        MismatchDataset(pool, split, 'train', known_count=10)


def test_bad_part_and_mismatch(pool):
    with pytest.raises(CdmxError, match="part 'val' is unknown"):
        MismatchDataset(pool, 'fashion-mnist_mini', 'val')
    with pytest.raises(CdmxError, match=r'mismatch proportion 1.0 is outside \[0, 1\)'):
        MismatchDataset(pool, 'fashion-mnist_mini', 'train', mismatch=1.0)


@pytest.mark.skipif(not os.path.isdir(REAL_ROOT), reason='real Fashion-MNIST not installed')
def test_real_mini_world_counts():
    pool = FashionMNIST(REAL_ROOT, subset='train_pool')
    test = FashionMNIST(REAL_ROOT, subset='test')
    train = MismatchDataset(pool, 'fashion-mnist_mini', 'train', mismatch=0.6)
    assert train.metainfo['counts'] == dict(known=600, unknown=900, new=0)
    assert len(MismatchDataset(pool, 'fashion-mnist_mini', 'train_known')) == 600
    assert MismatchDataset(test, 'fashion-mnist_mini', 'test').metainfo['counts'] == \
        dict(known=1000, unknown=1000, new=1000)
    assert len(MismatchDataset(test, 'fashion-mnist_mini', 'test_known')) == 2000
