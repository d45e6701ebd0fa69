"""Continuous-time diffusion on a log-SNR schedule: DiffMatch Algorithms 2 and 3.

DiffMatch (like Bit Diffusion, Chen et al. 2022, and DDP, Ji et al. 2023) uses continuous time
``t in [0, 1]`` (0 clean, 1 pure noise) and a variance-preserving process given by its log
signal-to-noise ratio ``lambda(t) = log(alpha_t^2 / sigma_t^2)``:

* ``alpha_t = sqrt(sigmoid(lambda))`` and ``sigma_t = sqrt(sigmoid(-lambda))``, so
  ``alpha^2 + sigma^2 = 1`` and ``alpha^2 / sigma^2 = exp(lambda)``. Algorithms 2 and 3 call the
  log-SNR function ``alpha_cumprod`` and write ``sqrt(alpha_cumprod(t))`` and
  ``sqrt(1 - alpha_cumprod(t))``; as in DDP's and Bit Diffusion's code (``log_snr_to_alpha_sigma``)
  these are ``alpha_t`` and ``sigma_t`` of the log-SNR (``abar = sigmoid(lambda)``): the log-SNR
  itself is negative for ``t > 1/2``, where its square root does not exist.
* the schedule of Algorithm 2 (:class:`OffsetCosineLogSNRSchedule`, the paper's):
  ``lambda(t) = -log(max(cos((t + ns) / (1 + ds) * pi / 2)^-2 - 1, 1e-5))`` with
  ``ns = 0.0002``, ``ds = 0.00025``; ``cos^-2 - 1 = tan^2``, so ``abar = cos^2`` of the shifted
  angle wherever the clamp is inactive, ``lambda(0) = -log(1e-5) = 11.51`` (clamped) and
  ``lambda(1) = -18.90``;
* :class:`CosineLogSNRSchedule`, an option: ``lambda(t) = -2 log tan(a_min + t (a_max - a_min))``
  with the angle range chosen so that ``lambda(0) = lambda_max`` and ``lambda(1) = lambda_min``
  exactly (the clipped form of Hoogeboom et al. 2023, "simple diffusion"; defaults -20 and 20);
* forward noising (Algorithm 2): ``y_t = alpha_t y_0 + sigma_t eps``, ``eps ~ N(0, I)``;
* one DDIM step (Algorithm 3's ``ddim``, Song et al. 2021 with ``eta = 0``) from the encoded
  estimate ``e`` of ``y_0``: ``eps^ = (y_t - alpha_now e) / sigma_now``,
  ``y_next = alpha_next e + sigma_next eps^``. Algorithm 3 prints ``sqrt(1 - alpha_now)`` for the
  second factor and ``x_pred`` for ``e``; the DDIM rule that Sec. 3.5 names ("We choose the DDIM
  update rule (Song et al., 2020)") and DDP's code have ``sigma_next`` and the re-encoded mask;
* the reverse time grid of Algorithm 3 with ``steps`` and time difference ``td >= 0`` (Bit
  Diffusion's asymmetric time intervals; Algorithm 3's default ``td = 1``): step
  ``i = 0..steps-1`` evaluates the denoiser at ``t_now = 1 - i / steps`` and moves the sample to
  ``t_next = max(1 - (i + 1 + td) / steps, 0)``;
* the loop of Algorithm 3 (:meth:`LogSNRSchedule.sample`): predict ``y_0`` from ``y_t`` at
  ``t_now``, re-encode the prediction (``encoding(mask_pred)``: its argmax or thresholded bits
  written in the label encoding again), take the DDIM step with it, and return the last
  prediction.

Written by hand: diffusers' schedulers are discrete-time (integer timesteps over a beta
table), while these algorithms sample ``t ~ U(0, 1)`` and condition the model on ``lambda(t)``.
"""
import abc
import math
from typing import Callable, List, Tuple

import torch

from cdmx.utils.errors import CdmxError


def _per_sample(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(N,)`` -> ``(N, 1, ..., 1)`` broadcastable against ``like`` ``(N, ...)``."""
    return value.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class LogSNRSchedule(abc.ABC):
    """Noising, the DDIM step and Algorithm 3's loop on a log-SNR schedule (module docstring);
    a subclass gives the schedule itself, :meth:`logsnr64`."""

    @abc.abstractmethod
    def logsnr64(self, t: torch.Tensor) -> torch.Tensor:
        """float64 ``lambda(t)`` of float64 times in [0, 1]."""

    def logsnr(self, t: torch.Tensor) -> torch.Tensor:
        """``lambda(t)``, any shape, ``t`` in [0, 1] (float32 for non-float ``t``)."""
        if t.numel() and (t.min() < 0 or t.max() > 1):
            raise CdmxError(f'diffusion time must lie in [0, 1] but ranges over '
                            f'{float(t.min())}..{float(t.max())}; pass times in [0, 1].')
        return self.logsnr64(t.double()).to(t.dtype if t.is_floating_point() else torch.float32)

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

    def ddim_step(self, y_t: torch.Tensor, y0_enc: torch.Tensor, t_now: torch.Tensor,
                  t_next: torch.Tensor) -> torch.Tensor:
        """Algorithm 3's ``ddim``: one deterministic DDIM step from ``t_now`` to ``t_next``.

        Args:
            y_t (Tensor): ``(N, K, H, W)`` current sample.
            y0_enc (Tensor): ``(N, K, H, W)`` the encoded estimate ``e`` of ``y_0`` (Algorithm
                3's re-encoded ``mask_enc``).
            t_now (Tensor): ``(N,)`` the times the denoiser was told.
            t_next (Tensor): ``(N,)`` next times.

        Returns:
            Tensor: ``(N, K, H, W)``
            ``y_next = alpha_next e + sigma_next (y_t - alpha_now e) / sigma_now``.
        """
        alpha_now, sigma_now = self.alpha_sigma(self.logsnr(t_now))
        alpha_next, sigma_next = self.alpha_sigma(self.logsnr(t_next))
        eps = (y_t - _per_sample(alpha_now, y_t) * y0_enc) / _per_sample(sigma_now, y_t)
        return _per_sample(alpha_next, y_t) * y0_enc + _per_sample(sigma_next, y_t) * eps

    @staticmethod
    def time_pairs(steps: int, td: float = 1.0) -> List[Tuple[float, float]]:
        """The ``(t_now, t_next)`` of each of Algorithm 3's ``steps`` steps (module docstring);
        ``td`` is a time difference ``>= 0`` (Algorithm 3's default 1; 0 is plain DDIM)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise CdmxError(f'steps is {steps!r}; give a positive integer number of DDIM steps '
                            '(DiffMatch uses 3).')
        if isinstance(td, bool) or not isinstance(td, (int, float)) or not td >= 0:
            raise CdmxError(f'td is {td!r}; give a time difference >= 0 (Algorithm 3 uses 1, '
                            '0 is plain DDIM).')
        return [(1 - i / steps, max(1 - (i + 1 + td) / steps, 0.0)) for i in range(steps)]

    def sample(self, denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               reencode: Callable[[torch.Tensor], torch.Tensor], noise: torch.Tensor,
               steps: int, td: float = 1.0) -> List[torch.Tensor]:
        """Algorithm 3's ``sample`` from ``y_T = noise``: the prediction of every step.

        Args:
            denoise (callable): ``denoise(y_t (N, K, H, W), t_now (N,))`` -> the prediction
                ``mask_pred`` (any shape ``reencode`` reads, e.g. bits or class logits).
            reencode (callable): ``mask_pred`` -> ``(N, K, H, W)`` the encoded estimate of
                ``y_0`` the DDIM update uses (Algorithm 3's ``encoding(mask_pred)``).
            noise (Tensor): ``(N, K, H, W)`` standard normal ``y_T``.
            steps (int): DDIM steps.
            td (float): Time difference, ``>= 0``.

        Returns:
            list[Tensor]: ``steps`` predictions; the last one is Algorithm 3's result. (The
            update after the last prediction, which the algorithm computes and discards, is
            skipped.)
        """
        pairs = self.time_pairs(steps, td)
        y, n = noise, noise.shape[0]
        predictions = []
        for step, (t_now, t_next) in enumerate(pairs):
            t_now = noise.new_full((n, ), t_now)
            predictions.append(denoise(y, t_now))
            if step < len(pairs) - 1:
                y = self.ddim_step(y, reencode(predictions[-1]), t_now,
                                   noise.new_full((n, ), t_next))
        return predictions


class OffsetCosineLogSNRSchedule(LogSNRSchedule):
    """Algorithm 2's ``alpha_cumprod``: ``lambda(t) = -log(max(tan^2(angle), eps))`` with
    ``angle = (t + ns) / (1 + ds) * pi / 2`` (module docstring; ``tan^2 = cos^-2 - 1``, computed
    directly in float64 to avoid the cancellation of ``cos^-2 - 1`` near ``t = 0``).

    Args:
        ns (float): Time offset (0.0002).
        ds (float): Time scale offset (0.00025).
        eps (float): Lower clamp of ``tan^2``, i.e. ``lambda <= -log(eps)`` (1e-5).
    """

    def __init__(self, ns: float = 0.0002, ds: float = 0.00025, eps: float = 1e-5):
        for name, value in (('ns', ns), ('ds', ds), ('eps', eps)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise CdmxError(f'OffsetCosineLogSNRSchedule {name} is {value!r}; give a number '
                                '>= 0 (Algorithm 2: ns 0.0002, ds 0.00025, eps 1e-5).')
        if not (1 + ns) / (1 + ds) < 1:
            raise CdmxError(f'ns {ns} >= ds {ds} puts t = 1 at an angle of pi / 2 or more, '
                            'where the log-SNR is undefined; give ns < ds.')
        if not eps > 0:
            raise CdmxError('eps is 0, which leaves lambda(0) infinite; give eps > 0 (1e-5).')
        self.ns, self.ds, self.eps = float(ns), float(ds), float(eps)

    def logsnr64(self, t: torch.Tensor) -> torch.Tensor:
        angle = (t + self.ns) / (1 + self.ds) * (math.pi / 2)
        return -torch.log(torch.tan(angle).square().clamp(min=self.eps))


class CosineLogSNRSchedule(LogSNRSchedule):
    """The clipped cosine schedule ``lambda(t) = -2 log tan(a_min + t (a_max - a_min))``
    (module docstring), an option.

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

    def logsnr64(self, t: torch.Tensor) -> torch.Tensor:
        return -2.0 * torch.log(torch.tan(self.a_min + t * (self.a_max - self.a_min)))


SCHEDULES = {cls.__name__: cls for cls in (OffsetCosineLogSNRSchedule, CosineLogSNRSchedule)}


def build_logsnr_schedule(cfg: dict) -> LogSNRSchedule:
    """A schedule from ``dict(type=<class name in SCHEDULES>, **arguments)``."""
    if not isinstance(cfg, dict) or cfg.get('type') not in SCHEDULES:
        raise CdmxError(f'the log-SNR schedule config is {cfg!r}; give a dict whose type is one '
                        f'of {sorted(SCHEDULES)}.')
    args = {key: value for key, value in cfg.items() if key != 'type'}
    return SCHEDULES[cfg['type']](**args)
