"""GenerationEngine: UCDM's generation stage (Algorithm 1) as a sharded, resumable cache.

The engine owns batching, sharding, resume, ranks and the manifest; the generators own the
diffusion (DESIGN.md). It only calls ``backend.encode`` / ``backend.decode`` and the generators'
``generate_latents``.
"""
import json
import os
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.utils import ProgressBar

from cdmx.registry import DATASETS, GENERATORS
from cdmx.utils.errors import CdmxError
from . import cache
from .prompts import check_class_names

#: Fields of the manifest that must equal the config's for a cache to be reused, and what to call
#: them in the error.
IDENTITY = {
    'classes': 'the class list',
    'resolution': 'the resolution',
    'dataset': 'the seed dataset',
    'backend': 'the backend (its config or its folder\'s config files)',
    'generators': 'the generator settings',
    'seed': 'the global seed',
    'shard_size': 'the shard size',
    'batch_size': 'the batch size',
}
#: Config keys that change where or how visibly a run works, not what it produces.
_RUNTIME_KEYS = ('device', 'progress')
KINDS = ('positive', 'negative')


def pair_generator(seed: int, seed_id: int, class_id: int, kind: int) -> torch.Generator:
    """The CPU ``torch.Generator`` of one generated image.

    Seeded with ``numpy.random.SeedSequence([seed, seed_id, class_id, kind])`` (well-mixed
    64-bit state from a tuple of integers), so an image's noise depends only on which image it
    is, not on the batch, shard, rank or run that makes it. CPU generators also keep the draws
    the same on any device (diffusers' ``randn_tensor`` moves CPU draws to the device).
    """
    state = np.random.SeedSequence([seed, seed_id, class_id, kind]).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def plain_config(cfg) -> object:
    """A config (dict, ConfigDict, tuples) as plain JSON values, without runtime-only keys."""
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    if isinstance(cfg, dict):
        return {k: plain_config(v) for k, v in cfg.items() if k not in _RUNTIME_KEYS}
    if isinstance(cfg, (list, tuple)):
        return [plain_config(v) for v in cfg]
    return json.loads(json.dumps(cfg))


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images ``(N, 3, H, W)`` in [0, 1] -> uint8 ``(N, H, W, 3)``, ``round(255 x)``."""
    pixels = (images.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


class GenerationEngine:
    """For every seed image and every known class, one positive and one negative (Algorithm 1).

    Seeds are split in dataset order into shards of ``shard_size`` seeds. Shard ``j`` is
    ``shard_XXXXX.npy``, uint8 of shape ``(S, K, 2, resolution, resolution, 3)``: seed ``s``,
    class ``k`` (position in ``classes``), axis 2 = (positive, negative). Within a shard each seed
    is encoded once (``z_0``, reused by both generators and all ``K`` classes), then the
    ``S x K`` (seed, class) pairs, seed-major, run in batches of ``batch_size`` pairs; each batch
    makes ``batch_size`` positives with one UNet call per step, then as many negatives.

    **Determinism.** Image (seed id, class id, kind) draws its noise from
    :func:`pair_generator` only, and a shard is always generated whole with the same batches, so
    a shard's bytes do not depend on kills, resumes or the number of ranks, given the same
    device, dtype and CPU thread count: CPU kernels sum in an order that depends on the number
    of threads, which moves a few pixels by one grey level. ``num_threads`` pins it (torchrun
    starts every process with ``OMP_NUM_THREADS=1``; pass ``num_threads=1`` to a one-process
    run to get the same bytes).

    **Resume.** A shard is complete when its record ``shard_XXXXX.json`` exists and matches the
    sha256 of its ``.npy`` (see :mod:`cdmx.generators.cache`); a re-run redoes only the others.
    ``manifest.json`` is written before any shard (``complete: false``) with the identity of the
    run; a later run whose identity differs (classes, resolution, dataset, backend, generator
    settings, seed, shard or batch size) stops with :class:`CdmxError` unless ``force`` is set,
    which first deletes the cache's files (manifest and shards, nothing else of the folder).
    When every shard is complete, the manifest is rewritten with ``complete: true`` and every
    shard's seed ids and sha256.

    **Ranks.** Under ``torch.distributed`` (mmengine's ``get_dist_info``), every rank lists the
    incomplete shards, then after a barrier takes every ``world_size``-th of them; rank 0 writes
    the manifest after a final barrier.

    Args:
        cache_dir (str): Folder of the cache (created).
        dataset (dict or Dataset): Seeds: a DATASETS config or a dataset whose
            ``get_data_info(i)`` gives ``img`` (uint8 ``(H, W, 3)``) and ``sample_idx`` (a stable
            integer id, unique in the dataset; recorded as the seed id).
        backend (dict): GENERATORS config of the backend shared by both generators.
        positive (dict): GENERATORS config of the positive generator (``backend`` is filled in).
        negative (dict): GENERATORS config of the negative generator (``backend`` is filled in).
        classes (list[str], optional): Known classes ``Y_known``; default: the dataset's
            ``metainfo['classes']``.
        resolution (int): Side of the stored images (the classifier's input size); images are
            decoded to ``(resolution, resolution)`` by the backend's resize policy.
        shard_size (int): Seeds per shard.
        batch_size (int): (seed, class) pairs per generator call.
        seed (int): Global seed of :func:`pair_generator`.
        num_threads (int, optional): Torch CPU threads during :meth:`run` (restored after);
            None keeps the process's setting.
        force (bool): Delete a cache made with another identity instead of refusing it.
        progress (bool): Show a progress bar (pairs/s and ETA) on rank 0.
    """

    def __init__(self,
                 cache_dir: str,
                 dataset: Union[dict, object],
                 backend: dict,
                 positive: dict,
                 negative: dict,
                 classes: Optional[Sequence[str]] = None,
                 resolution: int = 32,
                 shard_size: int = 64,
                 batch_size: int = 32,
                 seed: int = 0,
                 num_threads: Optional[int] = None,
                 force: bool = False,
                 progress: bool = True):
        for name, value, minimum in (('resolution', resolution, 1), ('shard_size', shard_size, 1),
                                     ('batch_size', batch_size, 1), ('seed', seed, 0),
                                     ('num_threads', 1 if num_threads is None else num_threads, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise CdmxError(f'generation {name} is {value!r}; set an integer >= {minimum}.')
        for name, cfg in (('backend', backend), ('positive', positive), ('negative', negative)):
            if not isinstance(cfg, dict) or 'type' not in cfg:
                raise CdmxError(f'generation {name} is {cfg!r}; set a GENERATORS config dict '
                                "with a type, e.g. dict(type='PositiveGenerator').")
        self.cache_dir = cache_dir
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        meta_classes = getattr(self.dataset, 'metainfo', {}).get('classes')
        if classes is None and not meta_classes:
            raise CdmxError(f'{type(self.dataset).__name__} has no metainfo classes; list the '
                            'known classes in generation.classes.')
        self.classes = check_class_names(list(classes if classes is not None else meta_classes))
        self.backend_cfg, self.positive_cfg, self.negative_cfg = backend, positive, negative
        self.resolution, self.shard_size, self.batch_size = resolution, shard_size, batch_size
        self.seed, self.num_threads, self.force, self.progress = seed, num_threads, force, progress
        self.seed_ids = self._read_seed_ids()

    # -- identity -----------------------------------------------------------------------------

    def _read_seed_ids(self) -> List[int]:
        """Every seed's ``sample_idx`` in dataset order; unique integers."""
        ids = [self.dataset.get_data_info(i).get('sample_idx') for i in range(len(self.dataset))]
        if not ids:
            raise CdmxError('the seed dataset is empty; point generation_dataset at the '
                            'unlabeled training pool.')
        if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids):
            raise CdmxError(f'{type(self.dataset).__name__} gives no integer sample_idx per '
                            'image; use a dataset whose get_data_info has a stable integer id.')
        ids = [int(i) for i in ids]
        if len(set(ids)) != len(ids):
            raise CdmxError(f'{type(self.dataset).__name__} repeats sample_idx values; seed ids '
                            'must be unique, so use a dataset without repeated images.')
        return ids

    def _backend_identity(self) -> dict:
        identity = dict(config=plain_config(self.backend_cfg))
        folder = self.backend_cfg.get('pretrained')
        if isinstance(folder, str) and os.path.isdir(folder):
            identity['config_files_sha256'] = cache.folder_fingerprint(folder)
        return identity

    def identity(self) -> dict:
        """What a cache must have been made from to be reused (the manifest's IDENTITY keys)."""
        ids = np.asarray(self.seed_ids, dtype='<i8')
        return dict(
            classes=list(self.classes),
            resolution=self.resolution,
            dataset=dict(type=type(self.dataset).__name__, num_seeds=len(ids),
                         seed_ids_sha256=cache.sha256_bytes(ids.tobytes())),
            backend=self._backend_identity(),
            generators=dict(positive=plain_config(self.positive_cfg),
                            negative=plain_config(self.negative_cfg)),
            seed=self.seed, shard_size=self.shard_size, batch_size=self.batch_size)

    def _check_manifest(self, identity: dict) -> bool:
        """True if a manifest of another identity must be deleted (``force``); raise otherwise."""
        manifest = cache.read_json(os.path.join(self.cache_dir, cache.MANIFEST))
        if manifest is None:
            return False
        if manifest.get('format') != cache.FORMAT or manifest.get('version') != cache.VERSION:
            changed = ['the cache format']
        else:
            changed = [what for key, what in IDENTITY.items() if manifest.get(key) != identity[key]]
        if not changed or self.force:
            return bool(changed)
        raise CdmxError(f'{", ".join(changed)} changed since the cache in {self.cache_dir} was '
                        'written; generate into a new --work-dir (or generation.cache_dir) or '
                        'pass --force-regenerate to delete the old cache.')

    # -- plan and run ------------------------------------------------------------------------

    def shards(self) -> List[List[int]]:
        """Dataset positions of each shard's seeds, in order."""
        n = len(self.seed_ids)
        return [list(range(i, min(i + self.shard_size, n))) for i in range(0, n, self.shard_size)]

    def _shard_ids(self, positions: List[int]) -> List[int]:
        return [self.seed_ids[p] for p in positions]

    def run(self) -> dict:
        """Generate every incomplete shard of this rank; return the manifest (all ranks)."""
        rank, world = get_dist_info()
        identity = self.identity()
        stale = self._check_manifest(identity)
        if rank == 0:
            if stale:
                cache.clear(self.cache_dir)
            os.makedirs(self.cache_dir, exist_ok=True)
            cache.save_json_atomic(os.path.join(self.cache_dir, cache.MANIFEST),
                                   self._manifest(identity, None))
        barrier()
        shards = self.shards()
        pending = [j for j, positions in enumerate(shards)
                   if cache.shard_record(self.cache_dir, j, self._shard_ids(positions)) is None]
        barrier()  # every rank has listed the pending shards before any is written
        mine = pending[rank::world]
        if mine:
            threads = torch.get_num_threads()
            torch.set_num_threads(self.num_threads or threads)
            try:
                self._generate(mine, shards, rank)
            finally:
                torch.set_num_threads(threads)
        barrier()
        records = [cache.shard_record(self.cache_dir, j, self._shard_ids(p))
                   for j, p in enumerate(shards)]
        missing = [cache.shard_name(j) for j, r in enumerate(records) if r is None]
        if missing:
            raise CdmxError(f'shards {", ".join(missing[:5])} of {self.cache_dir} are missing or '
                            'corrupt after generation; run the same command again to redo them.')
        manifest = self._manifest(identity, records)
        if rank == 0:
            cache.save_json_atomic(os.path.join(self.cache_dir, cache.MANIFEST), manifest)
        barrier()
        return manifest

    def _manifest(self, identity: dict, records: Optional[List[dict]]) -> dict:
        shards = None if records is None else [
            dict(file=cache.shard_name(j) + '.npy', seed_ids=r['seed_ids'], sha256=r['sha256'])
            for j, r in enumerate(records)]
        return dict(identity, format=cache.FORMAT, version=cache.VERSION,
                    complete=records is not None, channels=3, kinds=list(KINDS),
                    layout='uint8 (seeds, classes, kind, height, width, channels)',
                    num_shards=len(self.shards()), shards=shards)

    def _build_generators(self) -> Dict[str, object]:
        """The shared backend and both generators (built only when a shard is to be made)."""
        backend = GENERATORS.build(self.backend_cfg)
        shared = dict(backend=backend)
        return dict(backend=backend,
                    positive=GENERATORS.build(self.positive_cfg, default_args=shared),
                    negative=GENERATORS.build(self.negative_cfg, default_args=shared))

    def _generate(self, mine: List[int], shards: List[List[int]], rank: int) -> None:
        models = self._build_generators()
        num_pairs = sum(len(shards[j]) for j in mine) * len(self.classes)
        bar = ProgressBar(num_pairs) if self.progress and rank == 0 else None
        for j in mine:
            array = self._generate_shard(models, shards[j], bar)
            stem = os.path.join(self.cache_dir, cache.shard_name(j))
            digest = cache.save_npy_atomic(stem + '.npy', array)
            cache.save_json_atomic(stem + '.json',
                                   dict(seed_ids=self._shard_ids(shards[j]), sha256=digest))

    def _load_seeds(self, positions: List[int]) -> torch.Tensor:
        """Seed images ``(S, 3, H, W)`` in [0, 1] from the dataset's uint8 ``(H, W, 3)``."""
        images = [np.asarray(self.dataset.get_data_info(p)['img']) for p in positions]
        for image in images:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise CdmxError(f'a seed image is {image.dtype} of shape {image.shape}; the '
                                'generation dataset must give uint8 (H, W, 3) images (e.g. '
                                'FashionMNIST(channels=3)).')
            if image.shape != images[0].shape:
                raise CdmxError(f'seed images have sizes {images[0].shape} and {image.shape}; '
                                'resize the generation dataset to one size.')
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255

    @torch.no_grad()
    def _generate_shard(self, models: dict, positions: List[int],
                        bar: Optional[ProgressBar]) -> np.ndarray:
        """uint8 ``(S, K, 2, R, R, 3)`` for one shard's seeds."""
        backend, ids, size = models['backend'], self._shard_ids(positions), (self.resolution, ) * 2
        seeds = self._load_seeds(positions)
        latents = torch.cat([backend.encode(seeds[i:i + self.batch_size])
                             for i in range(0, len(seeds), self.batch_size)])
        num_classes = len(self.classes)
        out = np.empty((len(ids), num_classes, 2, *size, 3), dtype=np.uint8)
        pairs = [(s, k) for s in range(len(ids)) for k in range(num_classes)]
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start:start + self.batch_size]
            rows, cols = [s for s, _ in chunk], [k for _, k in chunk]
            names = [self.classes[k] for k in cols]
            for kind, name in enumerate(KINDS):
                generators = [pair_generator(self.seed, ids[s], k, kind) for s, k in chunk]
                result = models[name].generate_latents(latents[rows], names, generators)
                out[rows, cols, kind] = to_uint8(backend.decode(result, size=size))
            if bar is not None:
                bar.update(len(chunk))
        return out
