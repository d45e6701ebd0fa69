"""GeneratedPairs reads a cache in the documented format (written here by hand, no diffusion)."""
import os

import numpy as np
import pytest

from cdmx.generators import cache
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

CLASSES = ['Coat', 'Bag', 'Sandal']
SEED_IDS = [[11, 4], [90]]


def write_cache(folder: str, complete: bool = True) -> list:
    """Two shards (2 and 1 seeds) of random 6x6 pairs for 3 classes; returns the arrays."""
    rng = np.random.default_rng(0)
    arrays, shards = [], []
    for j, ids in enumerate(SEED_IDS):
        array = rng.integers(0, 256, (len(ids), len(CLASSES), 2, 6, 6, 3), dtype=np.uint8)
        name = cache.shard_name(j) + '.npy'
        digest = cache.save_npy_atomic(os.path.join(folder, name), array)
        arrays.append(array)
        shards.append(dict(file=name, seed_ids=ids, sha256=digest))
    cache.save_json_atomic(os.path.join(folder, cache.MANIFEST),
                           dict(format=cache.FORMAT, version=cache.VERSION, complete=complete,
                                classes=CLASSES, resolution=6, shards=shards))
    return arrays


def build(folder, **kwargs):
    return DATASETS.build(dict(type='GeneratedPairs', cache_dir=str(folder), **kwargs))


def test_items_are_the_stored_pairs(tmp_path):
    arrays = write_cache(str(tmp_path))
    dataset = build(tmp_path, classes=CLASSES, resolution=6)
    assert len(dataset) == 3 * 3 and dataset.metainfo['classes'] == tuple(CLASSES)
    item = dataset.get_data_info(4)  # shard 0, second seed (id 4), class 1
    assert (item['seed_id'], item['gt_label']) == (4, 1)
    np.testing.assert_array_equal(item['positive'], arrays[0][1, 1, 0])
    np.testing.assert_array_equal(item['negative'], arrays[0][1, 1, 1])
    last = dataset.get_data_info(8)
    assert (last['seed_id'], last['gt_label']) == (90, 2)
    np.testing.assert_array_equal(last['negative'], arrays[1][0, 2, 1])
    assert dataset.get_gt_labels().tolist() == [0, 1, 2] * 3


@pytest.mark.parametrize('kwargs, message', [
    (dict(classes=['Coat', 'Bag']), 'holds classes'),
    (dict(resolution=32), 'holds 6 px images'),
])
def test_mismatching_request_is_refused(tmp_path, kwargs, message):
    write_cache(str(tmp_path))
    with pytest.raises(CdmxError, match=message):
        build(tmp_path, **kwargs)


def test_incomplete_missing_or_corrupt_cache_is_refused(tmp_path):
    with pytest.raises(CdmxError, match='run tools/generate.py'):
        build(tmp_path)
    write_cache(str(tmp_path), complete=False)
    with pytest.raises(CdmxError, match='is incomplete'):
        build(tmp_path)
    write_cache(str(tmp_path))
    path = tmp_path / 'shard_00001.npy'
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CdmxError, match='does not match its checksum'):
        build(tmp_path)
    assert len(build(tmp_path, verify_checksums=False)) == 9
    os.remove(path)
    with pytest.raises(CdmxError, match='is missing'):
        build(tmp_path)
