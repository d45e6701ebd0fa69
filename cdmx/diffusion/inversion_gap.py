"""The per-step gap of DDIM inversion, UCDM's delta_t (Table 6).

Each inversion step (Eq. 6) from grid point ``s`` to ``t`` uses the prediction at the known
point, ``eps(x_s, t)``, in place of the one the reverse step will use at ``x_t``,
``eps(x_t, t)`` (see :mod:`cdmx.diffusion.inversion`). The inversion is exact when the two
agree; UCDM measures how far they are apart by one minus their cosine:

``delta_t = 1 - cos(eps(x_t, t), eps(x_s, t))``, per sample, ``x`` flattened.

With the empty prompt this is ``delta_t``; with the class prompt ``C_y`` (the conditional
inversion of the negatives) UCDM writes ``delta~_t``. Small values mean the round trip
inversion -> reverse returns to the seed.
"""
from typing import Callable, List, Tuple

import torch
import torch.nn.functional as F

from cdmx.utils.errors import CdmxError
from .inversion import DDIMInversion


@torch.no_grad()
def inversion_gap(inversion: DDIMInversion, eps_fn: Callable,
                  x0: torch.Tensor) -> Tuple[List[int], torch.Tensor]:
    """``delta_t`` at every inversion step for a batch.

    Args:
        inversion (DDIMInversion): The inversion (grid) to measure.
        eps_fn (callable): ``eps_fn(x, t) -> (B, C, H, W)`` noise prediction; the scheduler
            must predict ``epsilon``.
        x0 (Tensor): ``(B, C, H, W)`` clean samples.

    Returns:
        tuple: ascending target timesteps ``t`` (``K`` ints) and ``(K, B)`` gaps in ``[0, 2]``.
    """
    prediction_type = inversion.scheduler.config.prediction_type
    if prediction_type != 'epsilon':
        raise CdmxError(f'the inversion gap compares noise predictions but this model predicts '
                        f'{prediction_type!r}; measure an epsilon-prediction model.')
    timesteps, states = inversion.trajectory(x0, eps_fn)
    gaps = []
    for t, x_s, x_t in zip(timesteps, states[:-1], states[1:]):
        used = eps_fn(x_s, t).flatten(1).float()
        ideal = eps_fn(x_t, t).flatten(1).float()
        gaps.append(1 - F.cosine_similarity(ideal, used, dim=1))
    return timesteps, torch.stack(gaps)
