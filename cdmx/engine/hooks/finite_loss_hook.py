"""Stop training at the first non-finite loss, with one sentence and the last checkpoint intact.

mmengine's ``CheckInvalidLossHook`` asserts every ``interval`` iterations and ends the run with a
traceback. This hook checks every iteration (one ``isfinite`` on the scalar loss) and raises a
:class:`~cdmx.utils.errors.CdmxError`, which ``tools/train.py`` prints as one ``error:`` line. It
runs before ``CheckpointHook`` (priority ``ABOVE_NORMAL`` vs ``VERY_LOW``), so the iteration that
produced the NaN is never saved: the last checkpoint on disk, the generated-pair cache and the
labelling state in that checkpoint stay usable (``--resume`` continues from them).
"""
import math

import torch
from mmengine.hooks import Hook

from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise a clear error when ``outputs['loss']`` is NaN or infinite."""

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or 'loss' not in outputs:
            return
        loss = float(torch.as_tensor(outputs['loss']).detach())
        if math.isfinite(loss):
            return
        parts = {k: round(float(torch.as_tensor(v).detach()), 4) for k, v in outputs.items()
                 if k != 'loss'}
        last = runner.work_dir + '/last_checkpoint'
        raise CdmxError(f'the training loss became {loss} at iteration {runner.iter + 1} '
                        f'(terms {parts}); nothing of this iteration was saved: lower the learning '
                        f'rate or check the inputs, then resume with --resume {last} (the '
                        'generated cache and the last checkpoint are unchanged).')
