"""The generated-pair cache on disk: atomic shard and JSON writes, checksums, the manifest.

Layout of a cache folder (written by :class:`~cdmx.generators.GenerationEngine`, read by
:class:`~cdmx.datasets.GeneratedPairs`)::

    manifest.json          what was generated, from what, and every shard's sha256
    shard_00000.npy        uint8 (S, K, 2, H, W, C): S seeds x K classes x (positive, negative)
    shard_00000.json       the shard's record: its seed ids and the sha256 of its .npy file
    ...

Every file is written to ``<name>.tmp``, flushed, ``fsync``-ed and renamed over ``<name>``
(``os.replace`` is atomic on POSIX), then the folder is ``fsync``-ed: a reader sees either the
complete old file or the complete new one. A shard counts as complete only when its record exists
and the sha256 of its ``.npy`` equals the record's, so a shard cut short by a kill (a left-over
``.tmp``, or an ``.npy`` without record) is regenerated. No pickle: ``np.save(allow_pickle=False)``
and JSON.
"""
import hashlib
import json
import os
import re
from typing import Optional

import numpy as np

MANIFEST = 'manifest.json'
FORMAT = 'cdmx.generated_pairs'
VERSION = 1
#: Axis 2 of a shard array.
POSITIVE, NEGATIVE = 0, 1
#: Files of a pipeline folder that define the model (weights are not hashed: a real SD folder
#: holds gigabytes; their configs, tokenizer and scheduler are).
_CONFIG_SUFFIXES = ('.json', '.txt')
_SHARD_FILE = re.compile(r'shard_\d{5,}\.(npy|json)')


def shard_name(index: int) -> str:
    """``shard_00012`` for shard 12 (the stem of its ``.npy`` and ``.json`` files)."""
    return f'shard_{index:05d}'


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (``hashlib.file_digest`` needs Python 3.11; read in chunks)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: str, write) -> None:
    """Call ``write(f)`` on ``path + '.tmp'``, fsync it, rename it over ``path``, fsync the dir."""
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def save_npy_atomic(path: str, array: np.ndarray) -> str:
    """Write ``array`` as a ``.npy`` file atomically; return the file's sha256."""
    _atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))
    return sha256_file(path)


def save_json_atomic(path: str, obj: dict) -> None:
    """Write ``obj`` as indented JSON atomically (keys sorted, so equal dicts give equal bytes)."""
    text = json.dumps(obj, indent=1, sort_keys=True) + '\n'
    _atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def read_json(path: str) -> Optional[dict]:
    """The JSON object in ``path``, or ``None`` when the file is missing or not valid JSON."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def shard_record(folder: str, index: int, seed_ids: list) -> Optional[dict]:
    """The record of shard ``index`` if the shard is complete for ``seed_ids``, else ``None``.

    Complete: ``shard_XXXXX.json`` exists, lists exactly ``seed_ids``, and the sha256 of
    ``shard_XXXXX.npy`` equals the one it records.
    """
    stem = os.path.join(folder, shard_name(index))
    record = read_json(stem + '.json')
    if record is None or record.get('seed_ids') != list(seed_ids):
        return None
    if not os.path.isfile(stem + '.npy') or sha256_file(stem + '.npy') != record.get('sha256'):
        return None
    return record


def clear(folder: str) -> None:
    """Delete the cache files of ``folder`` (manifest, shards, records, left-over ``.tmp``).

    Only names this module writes are removed, so a cache folder shared with other files (a
    work dir) keeps them.
    """
    for name in os.listdir(folder):
        stem = name[:-len('.tmp')] if name.endswith('.tmp') else name
        if stem == MANIFEST or _SHARD_FILE.fullmatch(stem):
            os.remove(os.path.join(folder, name))


def folder_fingerprint(folder: str) -> str:
    """sha256 over the relative paths and contents of a folder's ``.json`` / ``.txt`` files.

    For a diffusers pipeline folder these are ``model_index.json``, every component's
    ``config.json``, the scheduler config and the tokenizer's vocabulary and merges.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(_CONFIG_SUFFIXES):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, folder).encode('utf-8') + b'\0')
                digest.update(sha256_file(path).encode('ascii'))
    return digest.hexdigest()
