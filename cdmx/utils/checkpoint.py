"""Checkpoint loading under ``weights_only=True``: the one door every cdmx load goes through.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, plain containers and
allow-listed globals. A checkpoint the Runner saves also carries its message hub (mmengine
``HistoryBuffer`` objects holding numpy arrays), so mmengine's own load and resume fail unless
those globals are allowed. :data:`MMENGINE_CHECKPOINT_GLOBALS` allows what such checkpoints
hold and nothing that runs code; it was found by saving checkpoints with the Runner (iteration and
best-score checkpoints, EMA, schedulers) and loading them until nothing was refused. A checkpoint
holding anything else (a custom class instance, ``os.system`` through ``__reduce__``) is refused
with a :class:`CdmxError`; cdmx never unpickles without ``weights_only``.

:func:`install` (run when this module is imported) adds the allow-list and puts
:func:`load_from_local` and :func:`load_from_http` in place of mmengine's loaders, so
``Runner.load_checkpoint``, ``resume``, ``load_from`` and ``init_cfg=dict(type='Pretrained')``
all go through them. The URL loader replaces mmengine's because that one calls
``torch.hub.load_state_dict_from_url``, which unpickles without ``weights_only`` by default.
"""
import os
import pickle
import zipfile
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner import checkpoint as mmengine_checkpoint

from .errors import CdmxError


#: The statistics every HistoryBuffer has; it registers them in ``_statistics_methods`` only when
#: the first buffer is built, which need not have happened before a checkpoint is loaded.
_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(owner: type, name: str) -> Callable:
    """Stands in for ``getattr`` while unpickling: only ``HistoryBuffer``'s statistics methods.

    ``HistoryBuffer.__getstate__`` stores its statistics methods (``min``, ``max``, ``current``,
    ``mean`` and registered ones), which pickle writes as ``getattr(HistoryBuffer, 'min')``.
    Allowing ``builtins.getattr`` itself would let a checkpoint walk from any allowed object to
    ``__globals__`` and ``eval``, so the name ``builtins.getattr`` maps to this function instead.
    """
    method = HistoryBuffer._statistics_methods.get(name) if owner is HistoryBuffer else None
    if method is None and owner is HistoryBuffer and name in _DEFAULT_STATISTICS:
        method = getattr(HistoryBuffer, name)
    if method is not None:
        return method
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not a HistoryBuffer statistics method')


def _numeric_dtype_classes() -> list:
    """numpy's dtype classes of booleans, integers and floats (the types of ``np.dtype('f8')``
    and friends), which unpickling an array or numpy scalar builds; no object or void dtypes."""
    codes = '?bhilqBHILQefd'
    return sorted({type(np.dtype(code)) for code in codes}, key=lambda cls: cls.__name__)


#: Globals of a Runner checkpoint besides tensors: the message hub's ``HistoryBuffer`` with its
#: numpy arrays (``_reconstruct``, ``ndarray``, ``dtype`` and the dtype classes), numpy scalars
#: (``scalar``: e.g. the best score), ``getattr`` limited as above, and the ``numpy.core`` names
#: under which numpy < 2 pickled the same two functions.
MMENGINE_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    (_history_buffer_method, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    *_numeric_dtype_classes(),
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
    (np._core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
]


def load_from_local(filename: str, map_location=None) -> dict:
    """``torch.load(filename, weights_only=True)`` with the allow-list.

    Args:
        filename: Path of a checkpoint (``~`` is expanded).
        map_location: As in :func:`torch.load`.

    Returns:
        The unpickled checkpoint (a dict, or a bare state dict).

    Raises:
        CdmxError: The file does not exist, or holds objects outside the allow-list.
    """
    path = os.path.expanduser(filename)
    if not os.path.isfile(path):
        raise CdmxError(f'checkpoint {path} does not exist; pass the path of a checkpoint file '
                        'saved by tools/train.py.')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CdmxError(f"checkpoint {path} holds objects outside cdmx's allow-list of checkpoint "
                        f'contents ({_refusal_reason(path, error)}), so cdmx will not unpickle '
                        'it; load only checkpoints of tensors and plain containers, such as '
                        'those tools/train.py saves.') from error


def load_from_http(url: str, map_location=None, model_dir: Optional[str] = None,
                   progress: bool = os.isatty(0)) -> dict:
    """Download ``url`` into the torch hub cache once, then :func:`load_from_local` it.

    Same arguments and rank-0-first download as mmengine's ``load_from_http``, which it
    replaces. The file keeps its name from the URL in ``model_dir`` (default
    ``<torch hub dir>/checkpoints``).
    """
    model_dir = model_dir or os.path.join(torch.hub.get_dir(), 'checkpoints')
    path = os.path.join(model_dir, os.path.basename(url.split('?')[0]))
    rank, world_size = get_dist_info()
    if rank == 0 and not os.path.isfile(path):
        os.makedirs(model_dir, exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=progress)
    if world_size > 1:
        barrier()
    return load_from_local(path, map_location)


def _refusal_reason(path: str, error: Exception) -> str:
    """What torch refused in ``path``: the globals outside the allow-list (read from the pickle's
    opcodes without running them), else the reason torch's unpickler gave."""
    if zipfile.is_zipfile(path):
        # The names torch's unpickler matches: "module.qualname", or the name given with it.
        allowed = {entry[1] if isinstance(entry, tuple)
                   else f'{entry.__module__}.{entry.__qualname__}'
                   for entry in MMENGINE_CHECKPOINT_GLOBALS}
        outside = [name for name in torch.serialization.get_unsafe_globals_in_checkpoint(path)
                   if name not in allowed]
        if outside:
            return ', '.join(outside)
    text = str(error).split('WeightsUnpickler error:', 1)[-1]
    skipped = ('Weights only load failed', 'Check the documentation')
    reasons = [part.strip() for part in text.split('\n\n')
               if part.strip() and not part.strip().startswith(skipped)]
    return reasons[0].splitlines()[0].rstrip('.') if reasons else type(error).__name__


def install() -> None:
    """Allow the globals above and route mmengine's checkpoint loading through cdmx (idempotent).

    Local paths and ``http(s)://`` URLs are mmengine ``CheckpointLoader`` schemes; the
    ``torchvision://``, ``open-mmlab://`` and ``mmcls://`` schemes call ``load_from_http`` by
    its module name, so that name is rebound too.
    """
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)
    loader = mmengine_checkpoint.CheckpointLoader
    loader.register_scheme(prefixes='', loader=load_from_local, force=True)
    loader.register_scheme(prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    mmengine_checkpoint.load_from_http = load_from_http


install()
