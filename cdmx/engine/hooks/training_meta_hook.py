"""Write what the weights were trained on into every checkpoint (:mod:`cdmx.utils.training_meta`).

The record (``meta['cdmx_training']``: the raw training images' ``[C, H, W]`` and the model's
noise schedule) lets a loader refuse weights used with another schedule or image size than they
were trained on, e.g. GDUI's noisy classifier guiding a UNet of another size. mmengine's own
``meta['cfg']`` is Python text that would have to be executed to be read.
"""
from typing import Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cdmx.registry import HOOKS
from cdmx.utils.training_meta import TRAINING_META_KEY, training_record


def batch_shapes(data_batch) -> set:
    """The per-image ``(C, H, W)`` shapes of a batch's ``inputs``: a list of ``(C, H, W)``
    tensors or one ``(N, C, H, W)`` tensor (anything else, e.g. multi-modal dicts: none)."""
    inputs = data_batch.get('inputs') if isinstance(data_batch, dict) else None
    if torch.is_tensor(inputs) and inputs.dim() == 4:
        return {tuple(inputs.shape[1:])}
    if isinstance(inputs, (list, tuple)) and inputs and \
            all(torch.is_tensor(x) and x.dim() == 3 for x in inputs):
        return {tuple(x.shape) for x in inputs}
    return set()


@HOOKS.register_module()
class TrainingMetaHook(Hook):
    """Record the training images' shape and the noise schedule in every checkpoint's meta.

    ``input_shape`` is the shape of every training image when all batches agreed, ``None`` when
    they varied (e.g. random-size crops) or were not image tensors.
    """

    def __init__(self):
        self.input_shape: Optional[Tuple[int, ...]] = None
        self.varied = False

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        shapes = batch_shapes(data_batch)
        if self.input_shape is None and not self.varied and len(shapes) == 1:
            self.input_shape = next(iter(shapes))
        elif shapes != {self.input_shape}:
            self.varied = True

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        shape = None if self.varied else self.input_shape
        checkpoint.setdefault('meta', {})[TRAINING_META_KEY] = training_record(model, shape)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """A resumed run continues the record of the run it resumes."""
        record = (checkpoint.get('meta') or {}).get(TRAINING_META_KEY)
        if record is None:
            return
        if record.get('input_shape') is None:
            self.varied = True
        else:
            self.input_shape = tuple(record['input_shape'])
