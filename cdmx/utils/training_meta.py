"""What a checkpoint's weights were trained on: written into its ``meta``, checked at load.

mmengine checkpoints carry the training config only as Python text (``meta['cfg']``), which
cannot be read without executing it, and the weights alone do not say which noise schedule made
the ``x_t`` a model was trained on nor which image size it saw (a UNet's or a pooled classifier's
convolutions take any size). :class:`~cdmx.engine.hooks.TrainingMetaHook` therefore writes plain
data (safe under ``weights_only`` loading) as ``meta['cdmx_training']``:

* ``input_shape``: ``[C, H, W]`` of the raw training images (before the data preprocessor), or
  ``None`` when they varied between batches;
* ``noise_scheduler``: the diffusers config of the model's ``noise_scheduler`` (only for models
  that have one, e.g. :class:`~cdmx.models.PixelDiffusion`, :class:`~cdmx.models.NoisyClassifier`).

:func:`apply_training_meta` checks a loaded model against that record and keeps the training
image shape as ``model.trained_input_shape`` for pair checks such as the guided sampler's.
"""
import logging
from typing import Optional, Sequence

import torch
from mmengine.logging import print_log

from cdmx.utils.errors import CdmxError

#: The key of the record in a checkpoint's ``meta``.
TRAINING_META_KEY = 'cdmx_training'


def scheduler_record(scheduler) -> dict:
    """A diffusers scheduler's config as a plain dict (its ``_class_name``-like keys dropped)."""
    return {key: (list(value) if isinstance(value, tuple) else value)
            for key, value in dict(scheduler.config).items() if not key.startswith('_')}


def training_record(model, input_shape: Optional[Sequence[int]]) -> dict:
    """The ``meta['cdmx_training']`` record of ``model`` trained on ``input_shape`` images."""
    record = dict(input_shape=None if input_shape is None else [int(v) for v in input_shape])
    scheduler = getattr(model, 'noise_scheduler', None)
    if scheduler is not None and hasattr(scheduler, 'config'):
        record['noise_scheduler'] = scheduler_record(scheduler)
    return record


def same_schedule(ours, theirs) -> bool:
    """Whether two diffusers schedulers noise alike: same ``T`` and ``abar_t``."""
    return ours.config.num_train_timesteps == theirs.config.num_train_timesteps and \
        torch.allclose(ours.alphas_cumprod, theirs.alphas_cumprod)


def apply_training_meta(model, meta: Optional[dict], checkpoint: str) -> None:
    """Check ``model`` (built from a config) against its checkpoint's training record.

    Sets ``model.trained_input_shape`` to the ``(C, H, W)`` the weights were trained on, or
    ``None`` when unknown (varied, or a checkpoint written without the record, which is logged).

    Raises:
        CdmxError: The checkpoint was trained with another noise schedule than the config builds.
    """
    record = (meta or {}).get(TRAINING_META_KEY)
    model.trained_input_shape = None
    if record is None:
        print_log(f'checkpoint {checkpoint} carries no {TRAINING_META_KEY!r} record (it was '
                  'written without TrainingMetaHook), so its noise schedule and image size '
                  'cannot be checked against the config', logger='current', level=logging.WARNING)
        return
    scheduler = getattr(model, 'noise_scheduler', None)
    if scheduler is not None and record.get('noise_scheduler') is not None:
        trained = type(scheduler).from_config(record['noise_scheduler'])
        if not same_schedule(scheduler, trained):
            raise CdmxError(
                f'checkpoint {checkpoint} was trained with another noise schedule '
                f"(T={trained.config.num_train_timesteps}, {trained.config.beta_schedule} "
                f'{trained.config.beta_start}..{trained.config.beta_end}) than its config builds '
                f'(T={scheduler.config.num_train_timesteps}, {scheduler.config.beta_schedule} '
                f'{scheduler.config.beta_start}..{scheduler.config.beta_end}); load it with the '
                'config it was trained with.')
    if record.get('input_shape') is not None:
        model.trained_input_shape = tuple(int(v) for v in record['input_shape'])
