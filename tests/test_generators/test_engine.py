"""GenerationEngine on a tiny random SD: layout, determinism, kill-and-resume, changed inputs."""
import json
import os
import shutil

import numpy as np
import pytest

from cdmx.generators import GenerationEngine, NegativeGenerator, pair_generator
from cdmx.generators.cache import shard_name
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

CLASSES = ['T-shirt/top', 'Sandal']


class SimulatedKill(Exception):
    """Raised from inside a generator to stop a run mid-shard."""


def seed_dataset(root: str, channels: int = 3) -> dict:
    """Six Fashion-MNIST seeds: three of the two known classes, three unknown."""
    return dict(type='MismatchDataset',
                dataset=dict(type='FashionMNIST', data_root=root, subset='test',
                             channels=channels),
                split=dict(known=CLASSES, unknown=['Bag', 'Coat'], new=[], known_count=3),
                part='train', mismatch=0.5)


def make_engine(cache_dir, root, sd_path, **overrides) -> GenerationEngine:
    kwargs = dict(
        dataset=seed_dataset(root),
        backend=dict(type='StableDiffusionBackend', pretrained=sd_path),
        positive=dict(type='PositiveGenerator', num_inference_steps=2),
        negative=dict(type='NegativeGenerator', num_inference_steps=2),
        resolution=12, shard_size=2, batch_size=3, seed=0, num_threads=1, progress=False)
    kwargs.update(overrides)
    return GenerationEngine(str(cache_dir), **kwargs)


def shard_bytes(cache_dir) -> dict:
    return {name: open(os.path.join(cache_dir, name), 'rb').read()
            for name in sorted(os.listdir(cache_dir)) if name.endswith('.npy')}


@pytest.fixture(scope='module')
def reference(tmp_path_factory, fashion_mnist_root, tiny_sd_path) -> str:
    """An uninterrupted run: 6 seeds x 2 classes in 3 shards of 2 seeds."""
    cache_dir = tmp_path_factory.mktemp('reference')
    make_engine(cache_dir, fashion_mnist_root, tiny_sd_path).run()
    return str(cache_dir)


def test_layout_and_manifest(reference, fashion_mnist_root):
    with open(os.path.join(reference, 'manifest.json')) as f:
        manifest = json.load(f)
    assert manifest['complete'] and manifest['classes'] == CLASSES
    dataset = DATASETS.build(seed_dataset(fashion_mnist_root))
    ids = [dataset.get_data_info(i)['sample_idx'] for i in range(len(dataset))]
    assert [i for s in manifest['shards'] for i in s['seed_ids']] == ids and len(ids) == 6
    arrays = [np.load(os.path.join(reference, s['file']), allow_pickle=False)
              for s in manifest['shards']]
    assert all(a.shape == (2, 2, 2, 12, 12, 3) and a.dtype == np.uint8 for a in arrays)
    stacked = np.concatenate(arrays)
    # Positives differ from negatives and between classes; every image is a real picture.
    assert not np.array_equal(stacked[:, :, 0], stacked[:, :, 1])
    assert not np.array_equal(stacked[:, 0], stacked[:, 1])
    assert stacked.std() > 1
    assert not [n for n in os.listdir(reference) if n.endswith('.tmp')]


def test_pair_generators_are_distinct_and_reproducible():
    draw = [pair_generator(0, *key).initial_seed() for key in
            [(7, 0, 0), (7, 0, 1), (7, 1, 0), (8, 0, 0)]]
    assert len(set(draw)) == 4
    assert pair_generator(0, 7, 0, 0).initial_seed() == draw[0]
    assert pair_generator(1, 7, 0, 0).initial_seed() != draw[0]


def test_kill_and_resume_gives_the_same_bytes(reference, tmp_path, fashion_mnist_root,
                                              tiny_sd_path, monkeypatch):
    original = NegativeGenerator.generate_latents
    calls, kill_at = [], [3]  # shard 0 (two batches) is written, shard 1 is half made

    def dies_on_third_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == kill_at[0]:
            raise SimulatedKill
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NegativeGenerator, 'generate_latents', dies_on_third_batch)
    with pytest.raises(SimulatedKill):
        make_engine(tmp_path, fashion_mnist_root, tiny_sd_path).run()
    assert sorted(shard_bytes(tmp_path)) == ['shard_00000.npy']
    with open(os.path.join(tmp_path, 'manifest.json')) as f:
        assert not json.load(f)['complete']
    # A kill during a write leaves a truncated .tmp; one between the .npy and its record leaves
    # a shard without record.
    (tmp_path / 'shard_00001.npy.tmp').write_bytes(b'\x93NUMPY truncated')
    shutil.copy(os.path.join(reference, 'shard_00002.npy'), tmp_path / 'shard_00002.npy')
    with open(tmp_path / 'shard_00002.npy', 'r+b') as f:
        f.truncate(100)
    stamp = os.stat(tmp_path / 'shard_00000.npy').st_mtime_ns

    calls.clear()
    kill_at[0] = None
    make_engine(tmp_path, fashion_mnist_root, tiny_sd_path).run()
    assert len(calls) == 4  # shards 1 and 2 only, two batches each
    assert os.stat(tmp_path / 'shard_00000.npy').st_mtime_ns == stamp
    assert shard_bytes(tmp_path) == shard_bytes(reference)
    for name in ('manifest.json', 'shard_00001.json'):
        assert (tmp_path / name).read_bytes() == open(os.path.join(reference, name), 'rb').read()
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_corrupt_shard_is_regenerated(reference, tmp_path, fashion_mnist_root, tiny_sd_path):
    cache_dir = tmp_path / 'cache'
    shutil.copytree(reference, cache_dir)
    path = cache_dir / (shard_name(1) + '.npy')
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    make_engine(cache_dir, fashion_mnist_root, tiny_sd_path).run()
    assert shard_bytes(cache_dir) == shard_bytes(reference)


def test_changed_inputs_are_refused(reference, tmp_path, fashion_mnist_root, tiny_sd_path):
    cache_dir = tmp_path / 'cache'
    shutil.copytree(reference, cache_dir)
    with pytest.raises(CdmxError, match='the class list changed.*--force-regenerate'):
        make_engine(cache_dir, fashion_mnist_root, tiny_sd_path, classes=['Sandal', 'Bag']).run()
    with pytest.raises(CdmxError, match='the resolution changed'):
        make_engine(cache_dir, fashion_mnist_root, tiny_sd_path, resolution=16).run()
    with pytest.raises(CdmxError, match='the seed dataset changed'):
        dataset = seed_dataset(fashion_mnist_root)
        dataset['mismatch'] = 0.25
        make_engine(cache_dir, fashion_mnist_root, tiny_sd_path, dataset=dataset).run()
    with pytest.raises(CdmxError, match='the generator settings changed'):
        make_engine(cache_dir, fashion_mnist_root, tiny_sd_path,
                    negative=dict(type='NegativeGenerator', num_inference_steps=2,
                                  eta=0.0)).run()
    assert shard_bytes(cache_dir) == shard_bytes(reference)  # nothing was touched
    # force deletes the old cache's files (no other file) and generates the new one.
    (cache_dir / 'notes.txt').write_text('kept')
    manifest = make_engine(cache_dir, fashion_mnist_root, tiny_sd_path, classes=['Bag'],
                           force=True).run()
    assert manifest['classes'] == ['Bag'] and len(manifest['shards']) == 3
    assert np.load(cache_dir / 'shard_00000.npy').shape[1] == 1
    assert (cache_dir / 'notes.txt').read_text() == 'kept'


def test_changed_backend_files_are_refused(tmp_path, fashion_mnist_root, tiny_sd_path):
    sd_copy = str(tmp_path / 'sd')
    shutil.copytree(tiny_sd_path, sd_copy)
    cache_dir = tmp_path / 'cache'
    make_engine(cache_dir, fashion_mnist_root, sd_copy, shard_size=6, batch_size=12).run()
    config = os.path.join(sd_copy, 'scheduler', 'scheduler_config.json')
    with open(config) as f:
        scheduler = json.load(f)
    scheduler['steps_offset'] = 0
    with open(config, 'w') as f:
        json.dump(scheduler, f)
    with pytest.raises(CdmxError, match=r'the backend \(its config'):
        make_engine(cache_dir, fashion_mnist_root, sd_copy, shard_size=6, batch_size=12).run()


@pytest.mark.parametrize('overrides, message', [
    (dict(classes=['Bag', 'Bag']), 'repeats Bag'),
    (dict(shard_size=0), 'shard_size is 0; set an integer >= 1'),
    (dict(seed=-1), 'seed is -1'),
    (dict(positive=dict(num_inference_steps=2)), 'generation positive'),
])
def test_bad_settings(overrides, message, tmp_path, fashion_mnist_root, tiny_sd_path):
    with pytest.raises(CdmxError, match=message):
        make_engine(tmp_path, fashion_mnist_root, tiny_sd_path, **overrides)


def test_grey_seeds_are_refused(tmp_path, fashion_mnist_root, tiny_sd_path):
    engine = make_engine(tmp_path, fashion_mnist_root, tiny_sd_path,
                         dataset=seed_dataset(fashion_mnist_root, channels=1))
    with pytest.raises(CdmxError, match=r'uint8 \(H, W, 3\)'):
        engine.run()
