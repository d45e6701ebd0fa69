"""Guidance: classifier-free (UCDM Eq. 2) and classifier guidance (Dhariwal & Nichol, 2021).

Both act on the noise prediction, so any sampler of :mod:`cdmx.diffusion` runs them unchanged.
"""
import math
from numbers import Real
from typing import Callable

import torch

from cdmx.utils.errors import CdmxError


def classifier_free_guidance(eps_uncond: torch.Tensor, eps_cond: torch.Tensor,
                             scale: float) -> torch.Tensor:
    """Classifier-free guidance of UCDM Eq. 2 (Ho & Salimans, 2022).

    ``eps~ = eps(x_t, t, {}) + gamma * (eps(x_t, t, C) - eps(x_t, t, {}))``: ``gamma = 1`` is the
    conditional prediction, ``gamma = 0`` the unconditional one, ``gamma > 1`` pushes away from
    the unconditional prediction (UCDM's positives use ``gamma = 7.5``).

    Args:
        eps_uncond (Tensor): ``(B, C, H, W)`` prediction with the empty prompt.
        eps_cond (Tensor): ``(B, C, H, W)`` prediction with the class prompt ``C``.
        scale (float): The guidance scale ``gamma``.

    Returns:
        Tensor: ``(B, C, H, W)`` guided prediction.
    """
    return eps_uncond + scale * (eps_cond - eps_uncond)


def check_guidance_scale(scale) -> float:
    """``scale`` as a float; a classifier guidance scale must be a finite real number ``>= 0``.

    A negative scale would steer away from the class, a NaN or infinite one turns every sample
    into NaN; both are refused rather than sampled.
    """
    if isinstance(scale, bool) or not isinstance(scale, Real) or not math.isfinite(scale) \
            or scale < 0:
        raise CdmxError(f'classifier guidance scale is {scale!r}; pass a finite number >= 0 '
                        '(0 samples unconditionally).')
    return float(scale)


class ClassifierGuidance:
    """Noise prediction guided by a classifier on noisy inputs (Dhariwal & Nichol, 2021, Alg. 2).

    ``eps^(x_t, t) = eps(x_t, t) - s * sqrt(1 - abar_t) * grad_{x_t} log p_phi(y | x_t, t)``.

    Since ``eps = -sqrt(1 - abar_t) * grad log p(x_t)``, this is the noise prediction of the
    tilted density ``p(x_t) p(y | x_t)^s``; through the DDIM/DDPM update it shifts the mean of
    ``x_{t-1}`` by ``s * Sigma_t * grad log p(y | x_t)`` to first order (their Alg. 1), the hook
    GDUI's guided sampler needs. The scheduler must predict ``epsilon``.

    Args:
        eps_fn (callable): ``eps_fn(x_t, t) -> (B, C, H, W)`` noise prediction.
        log_prob_fn (callable): ``log_prob_fn(x_t, t) -> (B,)`` ``log p_phi(y | x_t)`` of the
            target classes (the caller binds ``y``); must be differentiable in ``x_t``.
        scale (float): Guidance scale ``s``, finite and ``>= 0``.
        alphas_cumprod (Tensor): ``(T,)`` ``abar_t``, the scheduler's ``alphas_cumprod``.
    """

    def __init__(self, eps_fn: Callable, log_prob_fn: Callable, scale: float,
                 alphas_cumprod: torch.Tensor):
        self.eps_fn = eps_fn
        self.log_prob_fn = log_prob_fn
        self.scale = check_guidance_scale(scale)
        self.alphas_cumprod = alphas_cumprod

    def gradient(self, x_t: torch.Tensor, t) -> torch.Tensor:
        """``grad_{x_t} sum_b log p_phi(y_b | x_t^b)``, shaped like ``x_t``."""
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)
            log_prob = self.log_prob_fn(x, t)
            if log_prob.shape != (x.shape[0], ):
                raise CdmxError(f'log_prob_fn returned shape {tuple(log_prob.shape)}; return one '
                                f'log-probability per sample, shape ({x.shape[0]},).')
            return torch.autograd.grad(log_prob.sum(), x)[0]

    def __call__(self, x_t: torch.Tensor, t) -> torch.Tensor:
        eps = self.eps_fn(x_t, t)
        if self.scale == 0:
            return eps
        abar = self.alphas_cumprod.to(x_t.device)[int(t)]
        return eps - self.scale * (1 - abar).sqrt().to(eps.dtype) * self.gradient(x_t, t)
