"""PseudoLabelledDataset: a dataset's labels replaced by those of a labels JSON file."""
import json

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from cdmx.datasets import FASHION_MNIST_CLASSES, FashionMNIST, PseudoLabelledDataset
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def write_labels(path, labels, class_names=FASHION_MNIST_CLASSES, **extra) -> str:
    with open(path, 'w') as f:
        json.dump(dict(class_names=list(class_names), labels=[int(v) for v in labels], **extra), f)
    return str(path)


@pytest.fixture
def pool(fashion_mnist_root):
    return FashionMNIST(data_root=fashion_mnist_root, subset='test', channels=1)


def test_labels_replace_gt_label_and_keep_the_true_one(pool, tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, len(pool))
    dataset = PseudoLabelledDataset(pool, write_labels(tmp_path / 'l.json', labels,
                                                       cluster_to_class=list(range(10))))
    assert len(dataset) == len(pool)
    assert dataset.metainfo['classes'] == FASHION_MNIST_CLASSES
    assert np.array_equal(dataset.get_gt_labels(), labels)
    info = dataset.get_data_info(7)
    assert info['gt_label'] == labels[7] and info['true_label'] == pool.get_data_info(7)[
        'gt_label']
    assert np.array_equal(info['img'], pool.get_data_info(7)['img'])
    assert dataset.get_cat_ids(7) == [labels[7]]


def test_file_class_order_is_mapped_to_the_datasets(pool, tmp_path):
    reversed_names = list(FASHION_MNIST_CLASSES)[::-1]
    labels = np.arange(len(pool)) % 10
    dataset = PseudoLabelledDataset(pool, write_labels(tmp_path / 'l.json', labels,
                                                       reversed_names))
    # File label j names reversed_names[j] = dataset class 9 - j.
    assert np.array_equal(dataset.get_gt_labels(), 9 - labels)


def test_unlabelled_samples_are_left_out(pool, tmp_path):
    labels = np.arange(len(pool)) % 10
    labels[[0, 5, 9]] = -1
    dataset = PseudoLabelledDataset(pool, write_labels(tmp_path / 'l.json', labels))
    assert len(dataset) == len(pool) - 3
    assert dataset.metainfo['num_unlabelled'] == 3
    assert dataset.get_data_info(0)['source_idx'] == 1


def test_a_dataset_without_classes_takes_the_files(tmp_path):

    class Unnamed(BaseDataset):

        def load_data_list(self):
            return [dict(img=np.full((2, 2), i, np.uint8)) for i in range(4)]

    dataset = PseudoLabelledDataset(Unnamed(), write_labels(tmp_path / 'l.json', [1, 0, 1, 0],
                                                            ['cat', 'dog']))
    assert dataset.metainfo['classes'] == ('cat', 'dog')
    assert dataset.get_data_info(2)['true_label'] == -1


def test_builds_from_a_config(fashion_mnist_root, tmp_path):
    path = write_labels(tmp_path / 'l.json', np.zeros(200, int))
    dataset = DATASETS.build(dict(
        type='PseudoLabelledDataset', labels_file=path,
        dataset=dict(type='FashionMNIST', data_root=fashion_mnist_root, subset='test'),
        pipeline=[dict(type='mmpretrain.PackInputs')]))
    assert int(dataset[3]['data_samples'].gt_label) == 0


@pytest.mark.parametrize('content, match', [
    (dict(class_names=list(FASHION_MNIST_CLASSES), labels=[0] * 199), '199 labels but the '
     'dataset has 200'),
    (dict(class_names=['a'] * 10, labels=[0] * 200), 'distinct'),
    (dict(class_names=list(FASHION_MNIST_CLASSES[:9]) + ['Hat'], labels=[0] * 200),
     "dataset's class names"),
    (dict(class_names=list(FASHION_MNIST_CLASSES), labels=[10] * 200), 'label 10'),
    (dict(class_names=list(FASHION_MNIST_CLASSES), labels=[0.5] * 200), 'integers'),
    (dict(labels=[0] * 200), 'class_names'),
])
def test_bad_files_are_refused(pool, tmp_path, content, match):
    path = tmp_path / 'l.json'
    path.write_text(json.dumps(content))
    with pytest.raises(CdmxError, match=match):
        PseudoLabelledDataset(pool, str(path))


def test_missing_or_broken_file(pool, tmp_path):
    with pytest.raises(CdmxError, match='does not exist'):
        PseudoLabelledDataset(pool, str(tmp_path / 'none.json'))
    (tmp_path / 'bad.json').write_text('{"labels": [')
    with pytest.raises(CdmxError, match='not valid JSON'):
        PseudoLabelledDataset(pool, str(tmp_path / 'bad.json'))
