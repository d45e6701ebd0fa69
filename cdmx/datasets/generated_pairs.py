"""GeneratedPairs: the cache written by tools/generate.py as a dataset of (positive, negative)."""
import os
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from cdmx.generators import cache
from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


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

    Args:
        cache_dir (str): Folder written by ``tools/generate.py`` (its ``generation.cache_dir``).
        classes (Sequence[str], optional): Classes the caller expects, in order; checked against
            the manifest.
        resolution (int, optional): Image side the caller expects; checked against the manifest.
        verify_checksums (bool): Check every shard's sha256 against the manifest when loading
            (reads the whole cache once).
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``pipeline``...).
    """

    def __init__(self, cache_dir: str, classes: Optional[Sequence[str]] = None,
                 resolution: Optional[int] = None, verify_checksums: bool = True, **kwargs):
        self.cache_dir = cache_dir
        self.manifest = self._read_manifest(cache_dir, classes, resolution)
        self.verify_checksums = verify_checksums
        self._shards: List[np.ndarray] = []
        super().__init__(metainfo=dict(classes=tuple(self.manifest['classes'])), **kwargs)

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
        size = self.manifest['resolution']
        data_list = []
        for j, shard in enumerate(self.manifest['shards']):
            path = os.path.join(self.cache_dir, shard['file'])
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
            self._shards.append(array)
            data_list += [dict(seed_id=int(seed_id), gt_label=k, shard=j, row=s)
                          for s, seed_id in enumerate(shard['seed_ids'])
                          for k in range(num_classes)]
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        pair = self._shards[info.pop('shard')][info.pop('row'), info['gt_label']]
        info['positive'] = np.array(pair[cache.POSITIVE])
        info['negative'] = np.array(pair[cache.NEGATIVE])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """``(len(self),)`` int64 class ids, without reading any image."""
        return np.array([BaseDataset.get_data_info(self, i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)
