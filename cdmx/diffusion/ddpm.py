"""Ancestral DDPM sampling with classifier guidance as a mean shift (GDUI Eq. 19).

Notation as in :mod:`cdmx.diffusion.ddim`: ``abar_t`` the cumulative product of ``1 - beta``.
One reverse step from grid point ``t`` to the previous one ``s < t`` (Ho et al., 2020, Eqs. 6-7,
on a possibly coarser grid, ``beta_t := 1 - abar_t / abar_s``):

``mu_t = sqrt(abar_s) beta_t / (1 - abar_t) x0^ + sqrt(1 - beta_t) (1 - abar_s) / (1 - abar_t) x_t``
with ``x0^ = (x_t - sqrt(1 - abar_t) eps(x_t, t)) / sqrt(abar_t)``, and
``Sigma_t = (1 - abar_s) / (1 - abar_t) beta_t`` (``variance_type='fixed_small'``) or ``beta_t``
(``'fixed_large'``); ``Sigma = 0`` on the last step (``s = -1``, ``abar_s = 1``).

GDUI Eq. 19 (Dhariwal & Nichol, 2021, Alg. 1) samples the guided step

``x_s ~ N(mu_t + s_g Sigma_t grad_{x_t} log p_phi(y | x_t, t), Sigma_t)``

with guidance scale ``s_g``. ``mu_t`` and the noise are diffusers' ``DDPMScheduler.step``; this
module adds the shift ``s_g Sigma_t grad``. (:class:`~cdmx.diffusion.guidance.ClassifierGuidance`
is the DDIM form of the same guidance, on the noise prediction instead of the mean.)
"""
from typing import Callable, Optional

import torch
from diffusers import DDPMScheduler
from tqdm import tqdm

from cdmx.utils.errors import CdmxError
from .ddim import Generator

#: Variance types with a fixed ``Sigma_t`` (the others need a model that predicts it).
FIXED_VARIANCES = ('fixed_small', 'fixed_large')


class DDPMSampler:
    """Ancestral DDPM sampling on the grid of diffusers' ``DDPMScheduler``, with Eq. 19.

    Args:
        scheduler_config (dict): A diffusers scheduler config (the one the UNet was trained
            with); must predict ``epsilon`` with a fixed variance type.
        num_inference_steps (int, optional): Size of the reverse grid; ``None`` runs every
            trained timestep ``T - 1, ..., 0`` (GDUI: 500 of 500).
    """

    def __init__(self, scheduler_config: dict, num_inference_steps: Optional[int] = None):
        self.scheduler = DDPMScheduler.from_config(scheduler_config)
        config = self.scheduler.config
        if config.prediction_type != 'epsilon':
            raise CdmxError(f'classifier-guided DDPM sampling needs an epsilon-prediction model '
                            f'but the scheduler predicts {config.prediction_type!r}; train the '
                            "UNet with prediction_type='epsilon'.")
        if config.variance_type not in FIXED_VARIANCES:
            raise CdmxError(f'variance_type {config.variance_type!r} is not supported by the '
                            f'guided DDPM sampler; use one of {FIXED_VARIANCES}.')
        steps = config.num_train_timesteps if num_inference_steps is None else num_inference_steps
        if not 1 <= steps <= config.num_train_timesteps:
            raise CdmxError(f'num_inference_steps is {steps}; pass 1 to '
                            f'{config.num_train_timesteps} (the trained timesteps).')
        self.num_inference_steps = int(steps)
        self.scheduler.set_timesteps(self.num_inference_steps)

    @property
    def timesteps(self) -> torch.Tensor:
        """``(num_inference_steps,)`` descending timesteps of the reverse process."""
        return self.scheduler.timesteps

    def variance(self, timestep: int) -> torch.Tensor:
        """``Sigma_t`` of the step from ``timestep`` to the previous grid point (a 0-d tensor)."""
        alphas_cumprod = self.scheduler.alphas_cumprod
        prev = int(self.scheduler.previous_timestep(int(timestep)))
        abar_t = alphas_cumprod[int(timestep)]
        abar_s = alphas_cumprod[prev] if prev >= 0 else torch.tensor(1.0)
        beta_t = 1 - abar_t / abar_s
        if self.scheduler.config.variance_type == 'fixed_large' and prev >= 0:
            return beta_t
        return (1 - abar_s) / (1 - abar_t) * beta_t

    def step(self, eps: torch.Tensor, timestep: int, x_t: torch.Tensor,
             generator: Generator = None, grad: Optional[torch.Tensor] = None,
             scale: float = 0.0) -> torch.Tensor:
        """One step of Eq. 19 from ``timestep`` to the previous grid point.

        Args:
            eps (Tensor): ``(B, C, H, W)`` noise prediction ``eps(x_t, t)`` (unguided).
            timestep (int): Current timestep ``t``.
            x_t (Tensor): ``(B, C, H, W)`` current sample.
            generator (torch.Generator or list, optional): Source of the step's noise.
            grad (Tensor, optional): ``(B, C, H, W)`` ``grad_{x_t} log p_phi(y | x_t, t)``.
            scale (float): Guidance scale ``s_g``; 0 (or no ``grad``) is unguided DDPM.

        Returns:
            Tensor: ``(B, C, H, W)`` ``x_s``.
        """
        x_s = self.scheduler.step(eps, int(timestep), x_t, generator=generator,
                                  return_dict=False)[0]
        if grad is None or scale == 0:
            return x_s
        return x_s + scale * self.variance(timestep).to(x_s) * grad

    def sample(self, x_T: torch.Tensor, eps_fn: Callable,
               grad_fn: Optional[Callable] = None, scale: float = 0.0,
               generator: Generator = None, progress: bool = False) -> torch.Tensor:
        """Run Eq. 19 from pure noise ``x_T`` down to ``x_0``.

        Args:
            x_T (Tensor): ``(B, C, H, W)`` standard normal noise.
            eps_fn (callable): ``eps_fn(x_t, t) -> (B, C, H, W)`` noise prediction.
            grad_fn (callable, optional): ``grad_fn(x_t, t) -> (B, C, H, W)``
                ``grad_{x_t} log p_phi(y | x_t, t)``, e.g.
                :meth:`cdmx.diffusion.ClassifierGuidance.gradient`.
            scale (float): Guidance scale ``s_g >= 0``; 0 skips ``grad_fn`` (unconditional).
            generator (torch.Generator or list, optional): Source of the steps' noise.
            progress (bool): Show a progress bar over the steps.

        Returns:
            Tensor: ``(B, C, H, W)`` ``x_0``.
        """
        if scale < 0:
            raise CdmxError(f'classifier guidance scale is {scale}; pass a scale >= 0.')
        if scale > 0 and grad_fn is None:
            raise CdmxError(f'guidance scale {scale} needs a classifier gradient; pass grad_fn '
                            'or scale=0 for unconditional sampling.')
        x = x_T
        for t in tqdm(self.timesteps, desc='DDPM', disable=not progress, leave=False):
            with torch.no_grad():
                eps = eps_fn(x, t)
            grad = grad_fn(x, t) if scale > 0 else None
            x = self.step(eps, t, x, generator=generator, grad=grad, scale=scale)
        return x
