"""UCDMBatchSampler: Algorithm 2's steps (B seeds of D with all K pairs, B pseudo-known, B
pseudo-unknown), epochs over the largest set, ranks, labelling between steps, bad input; and
UCDMPairDataset's branch groups and real-only augmentation."""
import math
from collections import Counter

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler, pseudo_collate
from test_ucdm_pairs import CLASSES, PIPELINE, real_pool, tiny_classifier, unpad, write_cache

from cdmx.registry import DATASETS, DATA_SAMPLERS
from cdmx.utils.errors import CdmxError

K = len(CLASSES)


@pytest.fixture
def pool(fashion_mnist_root):
    """Twenty real images (ten known-class, ten unknown) and their seed ids."""
    cfg = real_pool(fashion_mnist_root)
    cfg['split'] = dict(cfg['split'], known_count=10)
    dataset = DATASETS.build(cfg)
    return dataset, [dataset.get_data_info(i)['sample_idx'] for i in range(len(dataset))]


def pairs_dataset(folder, pool, **kwargs):
    return DATASETS.build(dict(type='UCDMPairDataset', real=pool, pipeline=PIPELINE, seed=3,
                               pairs=dict(type='GeneratedPairs', cache_dir=str(folder)),
                               **kwargs))


@pytest.fixture
def dataset(tmp_path, pool):
    real, ids = pool
    write_cache(str(tmp_path), ids)
    return pairs_dataset(tmp_path, real)


def batch_sampler(dataset, batch_size, infinite=False, rank=0, world_size=1, **kwargs):
    sampler = (InfiniteSampler if infinite else DefaultSampler)(dataset, seed=5)
    sampler.rank, sampler.world_size = rank, world_size
    return DATA_SAMPLERS.build(dict(type='UCDMBatchSampler', sampler=sampler,
                                    batch_size=batch_size, **kwargs))


def describe(dataset, batch):
    """(branch, seed id, class) of every item of a batch."""
    infos = [dataset.get_data_info(i) for i in batch]
    return [(i['branch'], i['seed_id'], i['gt_label']) for i in infos]


def test_a_step_is_b_seeds_with_all_classes_and_b_of_each_pseudo_set(dataset, pool):
    _, ids = pool
    dataset.set_pseudo_labels(ids[:5] + ids[10:16], [0, 1, 0, 1, 0] + [K] * 6)
    sampler = batch_sampler(dataset, batch_size=3)
    for batch in sampler:
        items = describe(dataset, batch)
        branches = Counter(b for b, _, _ in items)
        assert branches == {'generated': 3 * K, 'pseudo_known': 3, 'pseudo_unknown': 3}
        generated = [(s, k) for b, s, k in items if b == 'generated']
        # Every seed of D comes with the pairs of all K classes.
        assert sorted(Counter(s for s, _ in generated).values()) == [K] * 3
        assert {k for _, k in generated} == set(range(K))


def test_an_epoch_is_one_pass_over_the_largest_set(dataset, pool):
    _, ids = pool
    dataset.set_pseudo_labels(ids[:2], [0, 1])  # D: 18 seeds, known: 2, unknown: none
    sampler = batch_sampler(dataset, batch_size=4)
    assert len(sampler) == math.ceil(18 / 4) == 5
    batches = list(sampler)
    assert len(batches) == 5
    items = [item for batch in batches for item in describe(dataset, batch)]
    seeds = Counter(s for b, s, _ in items if b == 'generated')
    assert set(seeds) == set(ids[2:]) and set(seeds.values()) <= {K, 2 * K}
    assert sum(seeds.values()) == 5 * 4 * K  # 20 seed draws: 18 once, 2 wrap around
    known = Counter(s for b, s, _ in items if b == 'pseudo_known')
    assert set(known.values()) == {10}  # the small set is redrawn: 20 draws of 2 images
    assert not any(b == 'pseudo_unknown' for b, _, _ in items)


def test_orders_follow_seed_and_epoch(dataset):
    sampler = batch_sampler(dataset, batch_size=4)
    first = list(sampler)
    assert list(sampler) == first  # same epoch, same order
    sampler.sampler.set_epoch(1)
    assert list(sampler) != first
    assert dataset.epoch == 1  # the dataset redraws its pseudo-unknown classes per epoch


def test_ranks_take_disjoint_blocks(dataset):
    runs = [list(batch_sampler(dataset, batch_size=2, rank=r, world_size=2)) for r in (0, 1)]
    assert len(runs[0]) == len(runs[1]) == math.ceil(20 / 4)
    seen = [{s for batch in run for _, s, _ in describe(dataset, batch)} for run in runs]
    assert seen[0].isdisjoint(seen[1]) and len(seen[0] | seen[1]) == 20


def test_labelling_between_steps_starts_a_new_epoch_over_the_new_sets(dataset, pool):
    _, ids = pool
    steps = iter(batch_sampler(dataset, batch_size=4, infinite=True))
    next(steps)
    dataset.set_pseudo_labels(ids[:4], [K] * 4)
    for _ in range(6):  # beyond one epoch: infinite
        items = describe(dataset, next(steps))
        assert Counter(b for b, _, _ in items) == {'generated': 4 * K, 'pseudo_unknown': 4}
        assert not {s for b, s, _ in items if b == 'generated'} & set(ids[:4])


def test_ablation_drops_a_set_from_the_steps(dataset, pool):
    _, ids = pool
    dataset.set_pseudo_labels(ids[:4] + ids[10:14], [0] * 4 + [K] * 4)
    sampler = batch_sampler(dataset, batch_size=4, branches=('generated', 'pseudo_known'))
    branches = {b for batch in sampler for b, _, _ in describe(dataset, batch)}
    assert branches == {'generated', 'pseudo_known'}


def test_true_labels_train_without_d(tmp_path, pool):
    real, ids = pool
    write_cache(str(tmp_path), ids)
    bound = pairs_dataset(tmp_path, real, true_labels=True)
    sampler = batch_sampler(bound, batch_size=5)
    assert len(sampler) == 2  # 10 known and 10 unknown images
    assert all(Counter(b for b, _, _ in describe(bound, batch))
               == {'pseudo_known': 5, 'pseudo_unknown': 5} for batch in sampler)


@pytest.mark.parametrize('kwargs, message', [
    (dict(batch_size=21), r'take 21 items of each set per step, but the sets hold'),
    (dict(batch_size=11, world_size=2), r'B = 11 on 2 rank\(s\)'),
    (dict(batch_size=0), 'give B >= 1'),
    (dict(batch_size=2, branches=('pseudo_known', )), "list 'generated'"),
])
def test_bad_batches_are_refused(dataset, kwargs, message):
    with pytest.raises(CdmxError, match=message):
        batch_sampler(dataset, **kwargs)
    assert len(dataset) == 20 * K  # nothing changed


def test_sets_that_all_ran_empty_are_refused(dataset, pool):
    _, ids = pool
    dataset.set_pseudo_labels(ids, [K] * len(ids))  # everything labelled "other"
    with pytest.raises(CdmxError, match='are all empty now'):
        batch_sampler(dataset, batch_size=2, branches=('generated', 'pseudo_known'))


def test_plain_datasets_are_refused(pool):
    with pytest.raises(CdmxError, match='needs a UCDMPairDataset'):
        batch_sampler(pool[0], batch_size=2)


def test_only_real_images_get_the_real_pipeline(tmp_path, pool):
    real, ids = pool
    array = write_cache(str(tmp_path), ids)
    flip = PIPELINE[:1] + [dict(type='mmpretrain.RandomFlip', prob=1.0,
                                direction='horizontal')] + PIPELINE[1:]
    dataset = pairs_dataset(tmp_path, real, real_pipeline=flip)
    dataset.set_pseudo_labels([ids[0], ids[12]], [0, K])
    reals = {i: real.get_data_info(n)['img'] for n, i in enumerate(ids)}
    groups = dataset.branch_groups()
    assert [len(g) for g in groups['generated']] == [K] * 18
    (known, ), (unknown, ) = groups['pseudo_known'], groups['pseudo_unknown']
    np.testing.assert_array_equal(unpad(dataset[groups['generated'][0][1]]), array[1, 1])
    item = unpad(dataset[known[0]])
    np.testing.assert_array_equal(item[0], reals[ids[0]][:, ::-1])  # the real x+ is flipped
    np.testing.assert_array_equal(item[1], array[0, 0, 1])  # its generated x- is not
    item = unpad(dataset[unknown[0]])
    np.testing.assert_array_equal(item[1], reals[ids[12]][:, ::-1])


def test_steps_train_the_classifier(dataset, pool):
    _, ids = pool
    dataset.set_pseudo_labels(ids[:3] + ids[10:13], [0, 1, 0, K, K, K])
    model = tiny_classifier()
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=batch_sampler(dataset, 3),
                                         collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 3 * K + 3 + 3
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert {'loss_generated', 'loss_pseudo_known', 'loss_pseudo_unknown'} <= set(losses)
