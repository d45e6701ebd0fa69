"""ReliableSamplesDataset on the Fashion-MNIST fixture."""
import json

import pytest

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def write(path, **content):
    base = dict(num_samples=200, num_clusters=10, indices=[1, 5], labels=[3, 0])
    base.update(content)
    path.write_text(json.dumps(base))
    return str(path)


def build(root, reliable_file):
    return DATASETS.build(dict(type='ReliableSamplesDataset', reliable_file=reliable_file,
                               dataset=dict(type='FashionMNIST', data_root=root,
                                            subset='test')))


def test_every_pool_sample_is_kept_with_its_reliable_label_or_minus_one(fashion_mnist_root,
                                                                        tmp_path):
    dataset = build(fashion_mnist_root, write(tmp_path / 'r.json'))
    assert len(dataset) == 200 and dataset.num_reliable == 2
    info = dataset.get_data_info(5)
    assert info['pseudo_label'] == 0 and info['img'].shape == (28, 28, 3)
    assert dataset.get_data_info(1)['pseudo_label'] == 3
    assert dataset.get_data_info(0)['pseudo_label'] == -1
    assert dataset.metainfo['classes'][0] == 'T-shirt/top'


@pytest.mark.parametrize('content,message', [(dict(num_samples=100), 'computed on 100'),
                                             (dict(labels=[3, 10]), 'out of range'),
                                             (dict(indices='x'), 'not a reliable-samples')])
def test_bad_files_are_refused(fashion_mnist_root, tmp_path, content, message):
    with pytest.raises(CdmxError, match=message):
        build(fashion_mnist_root, write(tmp_path / 'r.json', **content))
    with pytest.raises(CdmxError, match='select_reliable'):
        build(fashion_mnist_root, str(tmp_path / 'absent.json'))
