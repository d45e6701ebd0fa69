"""UCDMPairDataset: the three branches of Algorithm 2 over a cache and the real pool, pseudo-label
updates, the length seen by a sampler built earlier, and one loss step of the classifier."""
import os

import numpy as np
import pytest
import torch
from mmengine.dataset import InfiniteSampler, pseudo_collate
from torch.utils.data import DataLoader

from cdmx.generators import cache
from cdmx.registry import DATASETS, MODELS
from cdmx.utils.errors import CdmxError

CLASSES = ['T-shirt/top', 'Sandal']
K = len(CLASSES)
PIPELINE = [dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
            dict(type='mmpretrain.PackInputs')]


def real_pool(root: str) -> dict:
    """Six real images (three known-class, three unknown), sizes 28x28x3."""
    return dict(type='MismatchDataset',
                dataset=dict(type='FashionMNIST', data_root=root, subset='test', channels=3),
                split=dict(known=CLASSES, unknown=['Bag', 'Coat'], new=[], known_count=3),
                part='train', mismatch=0.5)


def write_cache(folder: str, seed_ids: list, size: int = 28) -> np.ndarray:
    """A complete cache of random pairs for ``seed_ids`` in two shards; (S, K, 2, R, R, 3)."""
    array = np.random.default_rng(1).integers(0, 256, (len(seed_ids), K, 2, size, size, 3),
                                              dtype=np.uint8)
    shards, cut = [], [seed_ids[:4], seed_ids[4:]]
    for j, ids in enumerate(cut):
        name = cache.shard_name(j) + '.npy'
        rows = array[:4] if j == 0 else array[4:]
        shards.append(dict(file=name, seed_ids=ids,
                           sha256=cache.save_npy_atomic(os.path.join(folder, name), rows)))
    cache.save_json_atomic(os.path.join(folder, cache.MANIFEST),
                           dict(format=cache.FORMAT, version=cache.VERSION, complete=True,
                                classes=CLASSES, resolution=size, shards=shards))
    return array


@pytest.fixture
def world(tmp_path, fashion_mnist_root):
    """(dataset, cached array, seed ids, real images by id)."""
    pool = DATASETS.build(real_pool(fashion_mnist_root))
    ids = [pool.get_data_info(i)['sample_idx'] for i in range(len(pool))]
    reals = {i: pool.get_data_info(n)['img'] for n, i in enumerate(ids)}
    array = write_cache(str(tmp_path), ids)
    dataset = DATASETS.build(dict(type='UCDMPairDataset', real=pool, pipeline=PIPELINE, seed=3,
                                  pairs=dict(type='GeneratedPairs', cache_dir=str(tmp_path))))
    return dataset, array, ids, reals


def tiny_classifier():
    """A WRN-10-1 UCDMClassifier for K classes, normalising Fashion-MNIST's grey levels."""
    return MODELS.build(dict(
        type='UCDMClassifier', backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        closed_head=dict(type='ClosedSetHead', num_classes=K, in_channels=64),
        open_head=dict(type='OpenSetHead', num_classes=K, in_channels=64),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[73.0] * 3,
                               std=[90.0] * 3, to_rgb=False)))


def unpad(item) -> np.ndarray:
    """(2, 3, 32, 32) packed pair -> (2, 28, 28, 3) images (the padding of 2 removed)."""
    return item['inputs'][:, :, 2:30, 2:30].permute(0, 2, 3, 1).numpy()


def test_generated_branch_is_every_pair_of_the_cache(world):
    dataset, array, ids, _ = world
    assert len(dataset) == len(ids) * K == 12
    for idx in range(len(dataset)):
        item = dataset[idx]
        s, k = divmod(idx, K)
        assert item['inputs'].shape == (2, 3, 32, 32) and item['inputs'].dtype == torch.uint8
        assert item['data_samples'].metainfo['branch'] == 'generated'
        assert int(item['data_samples'].gt_label) == k
        assert item['data_samples'].metainfo['seed_id'] == ids[s]
        np.testing.assert_array_equal(unpad(item), array[s, k])


def test_pseudo_labels_move_images_out_of_d(world):
    dataset, array, ids, reals = world
    dataset.set_pseudo_labels([ids[1], ids[4]], [1, K])
    assert len(dataset) == 4 * K + 2
    assert dataset.unlabeled_ids == [i for i in ids if i not in (ids[1], ids[4])]
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [i['branch'] for i in infos] == ['generated'] * 8 + ['pseudo_known', 'pseudo_unknown']
    assert {i['seed_id'] for i in infos[:8]} == set(dataset.unlabeled_ids)
    known, unknown = dataset[8], dataset[9]
    # Pseudo-known: the real image as x+, its cached negative for the pseudo-label as x-.
    assert int(known['data_samples'].gt_label) == 1
    np.testing.assert_array_equal(unpad(known)[0], reals[ids[1]])
    np.testing.assert_array_equal(unpad(known)[1], array[1, 1, 1])
    # Pseudo-unknown: its own cached positive of a drawn class k as x+, the real image as x-.
    k = int(unknown['data_samples'].gt_label)
    assert unknown['data_samples'].metainfo['branch'] == 'pseudo_unknown'
    np.testing.assert_array_equal(unpad(unknown)[0], array[4, k, 0])
    np.testing.assert_array_equal(unpad(unknown)[1], reals[ids[4]])
    # A later round adds to the earlier one.
    dataset.set_pseudo_labels([ids[0]], [0])
    assert len(dataset) == 3 * K + 3 and dataset.pseudo_labels == {ids[1]: 1, ids[4]: K,
                                                                   ids[0]: 0}


def test_pseudo_unknown_class_is_seeded_per_epoch(world):
    dataset, _, ids, _ = world
    dataset.set_pseudo_labels(ids, [K] * len(ids))
    assert len(dataset) == len(ids)

    def draws():
        return [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]

    per_epoch = []
    for epoch in range(4):
        dataset.set_epoch(epoch)
        per_epoch.append(draws())
        assert draws() == per_epoch[-1]  # deterministic within an epoch
    assert set(sum(per_epoch, [])) == set(range(K))
    assert len({tuple(d) for d in per_epoch}) > 1  # redrawn across epochs
    expected = [int(np.random.default_rng([3, 2, i]).integers(K)) for i in ids]
    assert per_epoch[2] == expected


def test_sampler_built_before_labelling_keeps_working(world):
    dataset, _, ids, _ = world
    loader = DataLoader(dataset, batch_size=4, sampler=InfiniteSampler(dataset, seed=0),
                        collate_fn=pseudo_collate)
    assert loader.sampler.size == 12
    dataset.set_pseudo_labels(ids[:5], [0, 1, K, K, 0])
    assert len(dataset) == K + 5
    seen, batches = [], iter(loader)
    for _ in range(6):  # 24 draws over the sampler's 12 indices: two passes
        batch = next(batches)
        assert all(pair.shape == (2, 3, 32, 32) for pair in batch['inputs'])
        seen += [(s.metainfo['branch'], s.metainfo['seed_id']) for s in batch['data_samples']]
    assert {b for b, _ in seen} == {'generated', 'pseudo_known', 'pseudo_unknown'}
    assert {s for b, s in seen if b == 'generated'} == {ids[5]}
    # Index i of the old length is item i % len(dataset).
    assert dataset[11]['data_samples'].metainfo == dataset[11 % 7]['data_samples'].metainfo


def test_batch_trains_the_ucdm_classifier(world):
    dataset, _, ids, _ = world
    dataset.set_pseudo_labels(ids[:2], [1, K])
    model = tiny_classifier()
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert {'loss_generated', 'loss_pseudo_known', 'loss_pseudo_unknown'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())


@pytest.mark.parametrize('pick, labels, message', [
    (lambda ids: [max(ids) + 1], [0], 'not a seed'), (lambda ids: ids[:1], [0, 1], 'ids and'),
    (lambda ids: ids[:1], [K + 1], 'outside'), (lambda ids: ids[:1] * 2, [0, 1], 'twice')])
def test_bad_pseudo_labels_are_refused(world, pick, labels, message):
    dataset, _, ids, _ = world
    with pytest.raises(CdmxError, match=message):
        dataset.set_pseudo_labels(pick(ids), labels)
    assert len(dataset) == len(ids) * K  # nothing changed


def test_relabelling_is_refused(world):
    dataset, _, ids, _ = world
    dataset.set_pseudo_labels(ids[:1], [0])
    with pytest.raises(CdmxError, match='earlier round'):
        dataset.set_pseudo_labels(ids[:1], [1])


def test_cache_of_another_pool_or_size_is_refused(tmp_path, fashion_mnist_root):
    pool = DATASETS.build(real_pool(fashion_mnist_root))
    ids = [pool.get_data_info(i)['sample_idx'] for i in range(len(pool))]
    for name, seed_ids, size, message in (('other', [i + 1000 for i in ids], 28, 'other ids'),
                                          ('small', ids, 12, 'resolution')):
        folder = tmp_path / name
        folder.mkdir()
        write_cache(str(folder), seed_ids, size)
        with pytest.raises(CdmxError, match=message):
            DATASETS.build(dict(type='UCDMPairDataset', real=pool, pipeline=PIPELINE,
                                pairs=dict(type='GeneratedPairs', cache_dir=str(folder))))


def test_true_labels_start_with_every_image_labelled(tmp_path, fashion_mnist_root):
    pool = DATASETS.build(real_pool(fashion_mnist_root))
    ids = [pool.get_data_info(i)['sample_idx'] for i in range(len(pool))]
    truth = {i: int(pool.get_data_info(n)['gt_label']) for n, i in enumerate(ids)}
    write_cache(str(tmp_path), ids)
    dataset = DATASETS.build(dict(type='UCDMPairDataset', real=pool, pipeline=PIPELINE,
                                  true_labels=True,
                                  pairs=dict(type='GeneratedPairs', cache_dir=str(tmp_path))))
    assert dataset.unlabeled_ids == [] and dataset.pseudo_labels == truth
    assert sorted(truth.values()) == [0, 0, 1, K, K, K]  # 3 known images, 3 unknown
    branches = [dataset.get_data_info(i)['branch'] for i in range(len(dataset))]
    assert branches == ['pseudo_known'] * 3 + ['pseudo_unknown'] * 3
    assert dataset.unlabeled_pool is pool


def test_cache_of_other_classes_is_refused(tmp_path, fashion_mnist_root):
    pool = real_pool(fashion_mnist_root)
    ids = [DATASETS.build(pool).get_data_info(i)['sample_idx'] for i in range(6)]
    write_cache(str(tmp_path), ids)
    pool['split'] = dict(pool['split'], known=['Sandal', 'T-shirt/top'])
    with pytest.raises(CdmxError, match='regenerate the cache from this pool'):
        DATASETS.build(dict(type='UCDMPairDataset', real=pool, pipeline=PIPELINE,
                            pairs=dict(type='GeneratedPairs', cache_dir=str(tmp_path))))
