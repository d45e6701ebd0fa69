"""DiffMatch's testbed scenes: the merged top class, rarity by counts alone, filled silhouettes,
determinism, the disjoint item pools of train / dev / val and the external pool, the written
dataset, and the extractor's pretraining view of one item."""
import importlib.util
import json
import os
import sys

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from cdmx.datasets import FashionMNIST, FashionTestbedDataset, TESTBED_CLASSES
from cdmx.datasets.fashion_testbed import (TESTBED_CLASS_OF, TESTBED_TAIL_ORDER,
                                           RenderFashionItem, TestbedSceneComposer,
                                           rank_probabilities, split_item_pool)
from cdmx.utils.errors import CdmxError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def square_items(value: int = 255, per_class: int = 5):
    """28x28 items that are all ``value`` (a full square), ``per_class`` per Fashion-MNIST
    class."""
    labels = np.repeat(np.arange(10), per_class)
    return np.full((labels.size, 28, 28), value, np.uint8), labels


def test_the_four_tops_are_one_class_and_the_others_keep_theirs():
    tops = [0, 2, 4, 6]  # T-shirt/top, Pullover, Coat, Shirt
    assert [TESTBED_CLASS_OF[k] for k in tops] == [1, 1, 1, 1]
    others = [TESTBED_CLASS_OF[k] for k in (1, 3, 5, 7, 8, 9)]
    assert others == [2, 3, 4, 5, 6, 7]  # one class each, all distinct
    assert TESTBED_CLASSES[1] == 'Top' and len(TESTBED_CLASSES) == 8
    assert sorted(TESTBED_TAIL_ORDER) == list(range(1, 8))
    # every drawn item is labelled with its Fashion-MNIST class's testbed class
    images, labels = square_items()
    composer = TestbedSceneComposer(images, labels, size=32)
    for _, label, classes, items in composer.scenes(50, seed=0):
        assert classes == [TESTBED_CLASS_OF[labels[i]] for i in items]
        assert set(np.unique(label)) <= {0, *classes}


def test_rank_probabilities_are_geometric():
    # imbalance 64 over 7 ranks: p_r proportional to 2^-r, sum 127/64
    assert np.allclose(rank_probabilities(64.0), 2.0 ** -np.arange(7) * 64 / 127)
    assert np.allclose(rank_probabilities(1.0), np.full(7, 1 / 7))


def test_rarity_is_a_matter_of_counts_not_size():
    """Item counts follow p_r; one item per scene (no occlusion) shows that a tail item has the
    pixels of a head item: the same size law for every class."""
    images, labels = square_items()
    composer = TestbedSceneComposer(images, labels, size=64, max_items=1, imbalance=8.0)
    counts, pixels = np.zeros(8), np.zeros(8)
    for _, label, classes, _ in composer.scenes(3000, seed=1):
        counts[classes[0]] += 1
        pixels[classes[0]] += (label > 0).sum()
    ranked = counts[list(TESTBED_TAIL_ORDER)]
    assert np.allclose(ranked / ranked.sum(), rank_probabilities(8.0), atol=0.015)
    per_item = pixels[list(TESTBED_TAIL_ORDER)] / ranked
    head, tail = per_item[0], per_item[-1]
    assert abs(tail / head - 1) < 0.1, per_item
    # side 28 * U(1.1, 1.6) on a 64 canvas, partly outside: far above the 28x28 of scale 1
    assert 900 < head < 64 * 64


def test_silhouettes_are_filled_and_image_and_label_agree():
    """A ring item (bright border, dark inside): the label covers the inside too, and the image
    shows the item's colour there (dark), not the background."""
    ring = np.zeros((28, 28), np.uint8)
    ring[:3], ring[-3:], ring[:, :3], ring[:, -3:] = 255, 255, 255, 255
    labels = np.arange(10)
    images = np.stack([ring] * 10)
    composer = TestbedSceneComposer(images, labels, size=96, max_items=1,
                                    scale_range=(1.0, 1.0))
    for image, label, classes, _ in composer.scenes(20, seed=2):
        ys, xs = np.nonzero(label)
        box = label[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert (box == classes[0]).all()  # one filled rectangle, clipped at the border
        inside = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(int)
        border, centre = inside[0, 0], inside[len(inside) // 2, inside.shape[1] // 2]
        # colour * (0.3 + 0.7 g / 255): 1.0 on the border, 0.3 inside, same colour
        assert np.allclose(centre, 0.3 * border, atol=2)


def test_scenes_are_deterministic():
    images, labels = square_items(200)
    composer = TestbedSceneComposer(images, labels, size=32)
    first, again = list(composer.scenes(6, seed=3)), list(composer.scenes(6, seed=3))
    other = list(composer.scenes(6, seed=4))
    for a, b in zip(first, again):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2:] == b[2:]
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_item_pool_split_is_disjoint_complete_and_seeded():
    rows = np.arange(100, 300)
    train, dev = split_item_pool(rows, 0.2, seed=0)
    assert len(dev) == 40 and len(train) == 160
    assert not set(train) & set(dev) and set(train) | set(dev) == set(rows)
    again = split_item_pool(rows, 0.2, seed=0)
    assert np.array_equal(again[1], dev)
    assert not np.array_equal(split_item_pool(rows, 0.2, seed=1)[1], dev)
    with pytest.raises(CdmxError, match='strictly between 0 and 1'):
        split_item_pool(rows, 1.0, seed=0)


def test_bad_settings_are_refused():
    images, labels = square_items()
    with pytest.raises(CdmxError, match='size=8'):
        TestbedSceneComposer(images, labels, size=8)
    with pytest.raises(CdmxError, match='scale_range'):
        TestbedSceneComposer(images, labels, scale_range=(1.6, 1.1))
    with pytest.raises(CdmxError, match=r'classes \[9\]'):
        TestbedSceneComposer(images[labels < 9], labels[labels < 9])


def test_render_item_draws_one_item_on_a_texture_deterministically():
    item = np.full((28, 28, 1), 255, np.uint8)
    render = RenderFashionItem(canvas=40)
    np.random.seed(0)
    out = render(dict(img=item.copy(), gt_label=3))
    np.random.seed(0)
    again = render(dict(img=item.copy(), gt_label=3))
    assert out['img'].shape == (40, 40, 3) and out['img'].dtype == np.uint8
    assert out['gt_label'] == 3 and out['img_shape'] == (40, 40)
    assert np.array_equal(out['img'], again['img'])
    with pytest.raises(CdmxError, match='28x28'):
        render(dict(img=np.zeros((32, 32, 3), np.uint8)))
    with pytest.raises(CdmxError, match='canvas=8'):
        RenderFashionItem(canvas=8)


def write_testbed(monkeypatch, fashion_mnist_root, out, *extra):
    spec = importlib.util.spec_from_file_location('make_fashion_testbed', os.path.join(
        REPO_ROOT, 'tools', 'dataset_converters', 'make_fashion_testbed.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [
        'tool', '--fashion-mnist', fashion_mnist_root, '--external-size', '100', '--out', out,
        '--num-train', '64', '--num-dev', '16', '--num-val', '16', '--imbalance', '2',
        '--threshold', '10', '--fractions', '1/4', *extra])
    tool.main()


@pytest.fixture(scope='module')
def testbed_root(fashion_mnist_root, tmp_path_factory):
    """The tool's output on the tiny Fashion-MNIST fixture (items are noise around 25 x class:
    threshold 10 shows every class)."""
    out = str(tmp_path_factory.mktemp('testbed'))
    with pytest.MonkeyPatch.context() as monkeypatch:
        write_testbed(monkeypatch, fashion_mnist_root, out)
    return out


def test_tool_keeps_train_dev_val_and_the_external_pool_apart(testbed_root,
                                                             fashion_mnist_root):
    with open(os.path.join(testbed_root, 'item_rows.json')) as f:
        rows = json.load(f)
    train, dev, val = (set(rows[s]['rows']) for s in ('train', 'dev', 'val'))
    assert rows['train']['file'] == rows['dev']['file'] == 'train'
    assert rows['val']['file'] == 't10k'
    assert train and dev and val and not train & dev
    external = FashionMNIST(fashion_mnist_root, subset='external', external_size=100)
    external_rows = {BaseDataset.get_data_info(external, i)['row'] for i in range(len(external))}
    assert len(external_rows) == 100 and not (train | dev) & external_rows
    with open(os.path.join(testbed_root, 'fashion_testbed.json')) as f:
        meta = json.load(f)
    assert meta['train']['item_pool_size'] + meta['dev']['item_pool_size'] == 500
    for split in ('train', 'dev', 'val'):
        assert len(meta[split]['pixel_counts']) == 8 and min(meta[split]['pixel_counts']) > 0
    assert meta['splits']['1_4']['labelled'] == 16 and meta['splits']['1_4']['unlabelled'] == 48
    with open(os.path.join(testbed_root, 'class_pixel_counts.json')) as f:
        counts = json.load(f)
    assert counts['classes'] == list(TESTBED_CLASSES)
    assert counts['class_pixel_counts'] == meta['train']['pixel_counts']
    with open(os.path.join(testbed_root, 'splits', 'fashion_testbed', '1_4', 'labeled.txt')) as f:
        first = f.readline().split()
    assert first[0].startswith('img_dir/train/') and first[1].startswith('ann_dir/train/')


def test_dataset_reads_the_written_scenes(testbed_root):
    for split in ('dev', 'val'):
        dataset = FashionTestbedDataset(data_root=testbed_root, data_prefix=dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'))
        assert len(dataset) == 16 and dataset.metainfo['classes'] == TESTBED_CLASSES
    assert len(dataset.metainfo['palette']) == 8


def test_tool_refuses_a_labelled_split_without_some_class(fashion_mnist_root, tmp_path,
                                                          monkeypatch):
    """4 labelled scenes cannot show all 7 item classes: their prior would be 0 (Eq. 10)."""
    with pytest.raises(CdmxError, match=r'labelled scenes of split 1_16 have no pixel of'):
        write_testbed(monkeypatch, fashion_mnist_root, str(tmp_path), '--fractions', '1/16')
