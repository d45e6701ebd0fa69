"""GeneratedPairs: the cache written by tools/generate.py as a dataset of (positive, negative)."""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from cdmx.generators import cache
from cdmx.generators.engine import KINDS, plain_config
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def expect_generation(cfg) -> None:
    """Let the training set's cache check the config's own generation settings.

    When ``cfg.train_dataloader.dataset.pairs`` is a ``GeneratedPairs`` config without
    ``generators`` and ``cfg.generation`` is a dict, set ``generators`` to its ``positive`` and
    ``negative`` configs (in place), so a cache made with other settings is refused.
    """
    generation = cfg.get('generation')
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    pairs = dataset.get('pairs') if isinstance(dataset, dict) else None
    if (isinstance(generation, dict) and isinstance(pairs, dict)
            and pairs.get('type') == 'GeneratedPairs' and pairs.get('generators') is None):
        pairs['generators'] = dict(positive=generation['positive'],
                                   negative=generation['negative'])


@DATASETS.register_module()
class GeneratedPairs(BaseDataset):
    """UCDM's generated instances: one item per (seed, known class) pair of the cache.

    Reads ``manifest.json`` of a cache folder (:mod:`cdmx.generators.cache`) and memory-maps its
    shards (``np.load(mmap_mode='r')``, uint8 ``(S, K, 2, R, R, 3)``), so pixels are read on
    access. Item ``i`` (``get_data_info``) is::

        seed_id   the seed's id in the seed dataset (its sample_idx)
        gt_label  class id y in 0..K-1 (position in the manifest's classes)
        positive  uint8 (R, R, 3): the seed with class y added (Sec. 3.3)
        negative  uint8 (R, R, 3): the seed with class y erased (Sec. 3.4)

    in the cache's order: seed-major, then class. ``metainfo['classes']`` are the classes.

    **Two caches.** With ``negative_cache_dir`` the negatives come from a second cache of the
    same seeds, classes and shards (e.g. Table 5's variant II reads the random positives of
    variant IV's cache and the negatives of UCDM's, so no pipeline is run twice).

    **Which pipelines.** With ``generators`` (``dict(positive=cfg, negative=cfg)``, the
    generator configs of the run's ``generation`` dict) each kind's manifest must record the
    same generator config, so a variant never trains on another variant's cache.
    ``tools/train.py`` fills it from the config's ``generation`` (:func:`expect_generation`)
    unless the config names it, as configs that read other configs' caches do.

    Args:
        cache_dir (str): Folder written by ``tools/generate.py`` (its ``generation.cache_dir``).
        classes (Sequence[str], optional): Classes the caller expects, in order; checked against
            the manifest.
        resolution (int, optional): Image side the caller expects; checked against the manifest.
        verify_checksums (bool): Check every shard's sha256 against the manifest when loading
            (reads the whole cache once).
        negative_cache_dir (str, optional): Cache to read the negatives from (default: the
            ``cache_dir``'s own).
        generators (dict, optional): ``dict(positive=cfg, negative=cfg)``, the generator
            configs each kind must have been made with.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``...).
    """

    def __init__(self, cache_dir: str, classes: Optional[Sequence[str]] = None,
                 resolution: Optional[int] = None, verify_checksums: bool = True,
                 negative_cache_dir: Optional[str] = None, generators: Optional[dict] = None,
                 **kwargs):
        self.cache_dirs = dict(positive=cache_dir, negative=negative_cache_dir or cache_dir)
        self.cache_dir = cache_dir
        self.manifest = self._read_manifest(cache_dir, classes, resolution)
        self.manifests = dict(positive=self.manifest, negative=self.manifest)
        if self.cache_dirs['negative'] != cache_dir:  # a second cache: read and compare it
            self.manifests['negative'] = self._read_manifest(self.cache_dirs['negative'],
                                                             classes, resolution)
            self._check_same_seeds()
        if generators is not None:
            self._check_generators(generators)
        self.verify_checksums = verify_checksums
        self._shards: Dict[str, List[np.ndarray]] = dict(positive=[], negative=[])
        super().__init__(metainfo=dict(classes=tuple(self.manifest['classes'])), **kwargs)

    def _check_same_seeds(self) -> None:
        positive, negative = self.manifests['positive'], self.manifests['negative']
        same = all(positive.get(key) == negative.get(key)
                   for key in ('classes', 'resolution', 'dataset'))
        same = same and [s['seed_ids'] for s in positive['shards']] == [
            s['seed_ids'] for s in negative['shards']]
        if not same:
            raise CdmxError(f'the caches {self.cache_dirs["positive"]} and '
                            f'{self.cache_dirs["negative"]} hold other seeds, classes, shards or '
                            'resolutions; generate both from the same seed dataset and '
                            'generation settings (shard_size, resolution, classes).')

    def _check_generators(self, generators: dict) -> None:
        for kind in (k for k in KINDS if k in generators):
            expected = plain_config(generators[kind])
            made = self.manifests[kind].get('generators', {}).get(kind)
            if made != expected:
                raise CdmxError(f'the {kind}s in {self.cache_dirs[kind]} were generated by '
                                f'{made}, but this config expects {expected}; run '
                                'tools/generate.py with this config (its own cache_dir) or point '
                                'the cache_dir at the cache of this pipeline.')

    @staticmethod
    def _read_manifest(cache_dir: str, classes, resolution) -> dict:
        path = os.path.join(cache_dir, cache.MANIFEST)
        manifest = cache.read_json(path)
        if manifest is None or manifest.get('format') != cache.FORMAT:
            raise CdmxError(f'{path} is missing or not a generated-pair manifest; run '
                            'tools/generate.py with the config first.')
        if manifest.get('version') != cache.VERSION:
            raise CdmxError(f'{path} has format version {manifest.get("version")}, this cdmx '
                            f'reads {cache.VERSION}; regenerate the cache with this cdmx.')
        if not manifest.get('complete'):
            raise CdmxError(f'the cache in {cache_dir} is incomplete (generation was stopped); '
                            'run the same tools/generate.py command again to finish it.')
        if classes is not None and list(classes) != manifest['classes']:
            raise CdmxError(f'the cache in {cache_dir} holds classes {manifest["classes"]}, not '
                            f'{list(classes)}; regenerate it for these classes or fix the list.')
        if resolution is not None and resolution != manifest['resolution']:
            raise CdmxError(f'the cache in {cache_dir} holds {manifest["resolution"]} px images, '
                            f'not {resolution} px; regenerate it at this resolution.')
        return manifest

    def load_data_list(self) -> List[dict]:
        num_classes = len(self.manifest['classes'])
        for kind, folder in self.cache_dirs.items():
            if kind == 'negative' and folder == self.cache_dir:
                self._shards[kind] = self._shards['positive']  # one cache: map it once
                continue
            self._shards[kind] = [self._load_shard(folder, shard, num_classes)
                                  for shard in self.manifests[kind]['shards']]
        return [dict(seed_id=int(seed_id), gt_label=k, shard=j, row=s)
                for j, shard in enumerate(self.manifest['shards'])
                for s, seed_id in enumerate(shard['seed_ids']) for k in range(num_classes)]

    def _load_shard(self, folder: str, shard: dict, num_classes: int) -> np.ndarray:
        """Memory-map one shard, checked against its record in the manifest."""
        size = self.manifest['resolution']
        path = os.path.join(folder, shard['file'])
        if not os.path.isfile(path):
            raise CdmxError(f'shard {path} is missing; run tools/generate.py again to '
                            'regenerate it.')
        if self.verify_checksums and cache.sha256_file(path) != shard['sha256']:
            raise CdmxError(f'shard {path} does not match its checksum in the manifest; run '
                            'tools/generate.py again to regenerate it.')
        array = np.load(path, mmap_mode='r', allow_pickle=False)
        expected = (len(shard['seed_ids']), num_classes, 2, size, size, 3)
        if array.shape != expected or array.dtype != np.uint8:
            raise CdmxError(f'shard {path} is {array.dtype} {array.shape}, not uint8 '
                            f'{expected}; regenerate the cache with tools/generate.py.')
        return array

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        shard, row, k = info.pop('shard'), info.pop('row'), info['gt_label']
        info['positive'] = np.array(self._shards['positive'][shard][row, k, cache.POSITIVE])
        info['negative'] = np.array(self._shards['negative'][shard][row, k, cache.NEGATIVE])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """``(len(self),)`` int64 class ids, without reading any image."""
        return np.array([BaseDataset.get_data_info(self, i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)
