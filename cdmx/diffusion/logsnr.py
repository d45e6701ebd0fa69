"""Continuous-time diffusion on a cosine log-SNR schedule (DiffMatch Algorithms 2 and 3).

DiffMatch (like Bit Diffusion, Chen et al. 2022, and DDP, Ji et al. 2023) uses continuous time
``t in [0, 1]`` (0 clean, 1 pure noise) and a variance-preserving process given by its log
signal-to-noise ratio ``lambda(t) = log(alpha_t^2 / sigma_t^2)``:

* cosine schedule: ``lambda(t) = -2 log tan(pi t / 2)`` (Nichol & Dhariwal's cosine schedule
  without offset). It is infinite at both ends, so the angle ``pi t / 2`` is replaced by one
  moving linearly over ``[a_min, a_max]`` with ``a_min = atan(exp(-lambda_max / 2))`` and
  ``a_max = atan(exp(-lambda_min / 2))``: ``lambda(t) = -2 log tan(a_min + t (a_max - a_min))``,
  so ``lambda(0) = lambda_max`` and ``lambda(1) = lambda_min`` exactly (the clipped form of
  Hoogeboom et al. 2023, "simple diffusion"; defaults -20 and 20);
* ``alpha_t = sqrt(sigmoid(lambda))`` and ``sigma_t = sqrt(sigmoid(-lambda))``, so
  ``alpha^2 + sigma^2 = 1`` and ``alpha^2 / sigma^2 = exp(lambda)``;
* forward noising (Algorithm 2): ``y_t = alpha_t y_0 + sigma_t eps``, ``eps ~ N(0, I)``;
* DDIM step from a ``y_0`` prediction (Algorithm 3, Song et al. 2021 with ``eta = 0``):
  ``eps^ = (y_t - alpha_t y0^) / sigma_t``, ``y_s = alpha_s y0^ + sigma_s eps^``;
* the reverse time grid of Algorithm 3 with ``steps`` and time difference ``td`` (Bit
  Diffusion's asymmetric time intervals): step ``i = 0..steps-1`` goes from
  ``t_now = 1 - i / steps`` to ``t_next = max(1 - (i + 1 + td) / steps, 0)``.

Written by hand: diffusers' schedulers are discrete-time (integer timesteps over a beta
table), while these algorithms sample ``t ~ U(0, 1)`` and condition the model on ``lambda(t)``.
"""
import math
from typing import List, Tuple

import torch

from cdmx.utils.errors import CdmxError


def _per_sample(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(N,)`` -> ``(N, 1, ..., 1)`` broadcastable against ``like`` ``(N, ...)``."""
    return value.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class CosineLogSNRSchedule:
    """The cosine log-SNR schedule and the noising / DDIM maths on it (module docstring).

    Args:
        logsnr_min (float): ``lambda(1)``, the log-SNR of pure noise (default -20:
            ``alpha = 4.5e-5``).
        logsnr_max (float): ``lambda(0)``, the log-SNR of clean data (default 20).
    """

    def __init__(self, logsnr_min: float = -20.0, logsnr_max: float = 20.0):
        if not logsnr_min < logsnr_max:
            raise CdmxError(f'the log-SNR range ({logsnr_min}, {logsnr_max}) is empty; give '
                            'logsnr_min < logsnr_max (e.g. -20 and 20).')
        self.logsnr_min, self.logsnr_max = float(logsnr_min), float(logsnr_max)
        self.a_min = math.atan(math.exp(-0.5 * self.logsnr_max))
        self.a_max = math.atan(math.exp(-0.5 * self.logsnr_min))

    def logsnr(self, t: torch.Tensor) -> torch.Tensor:
        """``lambda(t) = -2 log tan(a_min + t (a_max - a_min))``, any shape, ``t`` in [0, 1]."""
        if t.numel() and (t.min() < 0 or t.max() > 1):
            raise CdmxError(f'diffusion time must lie in [0, 1] but ranges over '
                            f'{float(t.min())}..{float(t.max())}; pass times in [0, 1].')
        angle = self.a_min + t.double() * (self.a_max - self.a_min)
        return (-2.0 * torch.log(torch.tan(angle))).to(t.dtype if t.is_floating_point()
                                                       else torch.float32)

    @staticmethod
    def alpha_sigma(logsnr: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``alpha = sqrt(sigmoid(lambda))``, ``sigma = sqrt(sigmoid(-lambda))``, same shape."""
        return torch.sigmoid(logsnr).sqrt(), torch.sigmoid(-logsnr).sqrt()

    def add_noise(self, y0: torch.Tensor, t: torch.Tensor,
                  noise: torch.Tensor) -> torch.Tensor:
        """Forward noising of Algorithm 2: ``y_t = alpha_t y_0 + sigma_t eps``.

        Args:
            y0 (Tensor): ``(N, K, H, W)`` clean encoded masks.
            t (Tensor): ``(N,)`` times in [0, 1].
            noise (Tensor): ``(N, K, H, W)`` standard normal ``eps``.

        Returns:
            Tensor: ``(N, K, H, W)`` ``y_t``.
        """
        alpha, sigma = self.alpha_sigma(self.logsnr(t))
        return _per_sample(alpha, y0) * y0 + _per_sample(sigma, y0) * noise

    def ddim_step(self, y_t: torch.Tensor, y0_pred: torch.Tensor, t_now: torch.Tensor,
                  t_next: torch.Tensor) -> torch.Tensor:
        """One deterministic DDIM step of Algorithm 3 from ``t_now`` to ``t_next``.

        Args:
            y_t (Tensor): ``(N, K, H, W)`` current sample at ``t_now``.
            y0_pred (Tensor): ``(N, K, H, W)`` the model's prediction of ``y_0``.
            t_now (Tensor): ``(N,)`` current times.
            t_next (Tensor): ``(N,)`` next times (``<= t_now``).

        Returns:
            Tensor: ``(N, K, H, W)`` ``y_s = alpha_s y0^ + sigma_s (y_t - alpha_t y0^) / sigma_t``.
        """
        alpha_now, sigma_now = self.alpha_sigma(self.logsnr(t_now))
        alpha_next, sigma_next = self.alpha_sigma(self.logsnr(t_next))
        eps = (y_t - _per_sample(alpha_now, y_t) * y0_pred) / _per_sample(sigma_now, y_t)
        return _per_sample(alpha_next, y_t) * y0_pred + _per_sample(sigma_next, y_t) * eps

    @staticmethod
    def time_pairs(steps: int, td: float = 0.0) -> List[Tuple[float, float]]:
        """The ``(t_now, t_next)`` of each of Algorithm 3's ``steps`` steps (module docstring)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise CdmxError(f'steps is {steps!r}; give a positive integer number of DDIM steps '
                            '(DiffMatch uses 3).')
        if not 0 <= td < 1:
            raise CdmxError(f'td is {td}; give a time difference in [0, 1) (0 is plain DDIM).')
        return [(1 - i / steps, max(1 - (i + 1 + td) / steps, 0.0)) for i in range(steps)]
