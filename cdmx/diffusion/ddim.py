"""Forward noising (UCDM Eq. 1) and the reverse DDIM process (UCDM Eq. 2) over diffusers.

Notation (UCDM's ``alpha_t`` is the cumulative product, written ``abar_t`` here as in DDPM):
``abar_t = prod_{i<=t} (1 - beta_i)`` from the scheduler's beta schedule.

* Eq. 1, forward noising: ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``, ``eps ~ N(0, I)``.
* Eq. 2, one reverse DDIM step from ``t`` to ``s < t`` (Song et al., 2021, Eq. 12) with the
  (guided) noise prediction ``eps~ = eps~(x_t, t, C)``:
  ``x0^ = (x_t - sqrt(1 - abar_t) eps~) / sqrt(abar_t)``,
  ``x_s = sqrt(abar_s) x0^ + sqrt(1 - abar_s - sigma_t^2) eps~ + sigma_t z``, ``z ~ N(0, I)``,
  ``sigma_t = eta * sqrt((1 - abar_s) / (1 - abar_t)) * sqrt(1 - abar_t / abar_s)``.
  ``eta = 0`` is deterministic DDIM, ``eta = 1`` is DDPM's ancestral sampler.

The step itself is diffusers' ``DDIMScheduler.step`` (which also handles ``v_prediction``
models and the final step to ``abar = 1`` or ``abar_0`` per ``set_alpha_to_one``); this module
owns the choice of timesteps (``num_inference_steps`` and ``strength``) and the loop.
"""
from typing import Callable, List, Optional, Union

import torch
from diffusers import DDIMScheduler
from diffusers.utils.torch_utils import randn_tensor
from tqdm import tqdm

from cdmx.utils.errors import CdmxError

Generator = Optional[Union[torch.Generator, List[torch.Generator]]]


def make_ddim_scheduler(scheduler_config: dict) -> DDIMScheduler:
    """A fresh ``DDIMScheduler`` from any diffusers scheduler config (e.g. a pipeline's)."""
    return DDIMScheduler.from_config(scheduler_config)


def num_steps_for_strength(num_inference_steps: int, strength: float) -> int:
    """Steps run for ``strength`` in ``(0, 1]``: ``round(num_inference_steps * strength)``."""
    if not 0 < strength <= 1:
        raise CdmxError(f'strength is {strength}; pass a value in (0, 1] (1 starts from the '
                        'noisiest timestep of the grid).')
    if num_inference_steps < 1:
        raise CdmxError(f'num_inference_steps is {num_inference_steps}; pass at least 1.')
    steps = round(num_inference_steps * strength)
    if steps < 1:
        raise CdmxError(f'strength {strength} with {num_inference_steps} steps runs no step; '
                        'raise strength or num_inference_steps.')
    return steps


def forward_noise(scheduler: DDIMScheduler, x0: torch.Tensor, noise: torch.Tensor,
                  timestep: int) -> torch.Tensor:
    """UCDM Eq. 1: ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (diffusers' ``add_noise``).

    Args:
        scheduler (DDIMScheduler): Provides ``abar``.
        x0 (Tensor): ``(B, C, H, W)`` clean samples.
        noise (Tensor): ``(B, C, H, W)`` standard normal noise ``eps``.
        timestep (int): ``t`` in ``[0, num_train_timesteps)``.

    Returns:
        Tensor: ``(B, C, H, W)`` noisy samples ``x_t``.
    """
    timesteps = torch.full((x0.shape[0], ), int(timestep), dtype=torch.long, device=x0.device)
    return scheduler.add_noise(x0, noise, timesteps)


class DDIMSampler:
    """Reverse DDIM process (UCDM Eq. 2) on the grid of diffusers' ``DDIMScheduler``.

    The grid is ``scheduler.set_timesteps(num_inference_steps)`` (e.g. SD's ``leading`` spacing
    with ``steps_offset = 1`` and 20 steps: 951, 901, ..., 1, then the final step to ``abar_0``
    or 1). ``strength`` keeps the last ``round(num_inference_steps * strength)`` of them, so the
    process starts at :attr:`start_timestep` (``strength = 1``: the first, noisiest one; this is
    where the official UCDM code starts too, at 950 without offset).

    Args:
        scheduler_config (dict): A diffusers scheduler config (beta schedule, spacing, offset,
            prediction type are read; a pipeline's ``scheduler.config`` works).
        num_inference_steps (int): Size of the full timestep grid.
        eta (float): ``eta`` of Eq. 2 (``sigma_t`` scale); 0 is deterministic.
        strength (float): Fraction of the grid run, in ``(0, 1]``.
    """

    def __init__(self, scheduler_config: dict, num_inference_steps: int = 20,
                 eta: float = 0.0, strength: float = 1.0):
        if eta < 0:
            raise CdmxError(f'eta is {eta}; pass eta >= 0 (0 deterministic, 1 DDPM-like).')
        self.scheduler = make_ddim_scheduler(scheduler_config)
        self.num_inference_steps = num_inference_steps
        self.eta = float(eta)
        self.strength = strength
        self.num_steps = num_steps_for_strength(num_inference_steps, strength)
        self.scheduler.set_timesteps(num_inference_steps)
        last = self.scheduler.config.num_train_timesteps - 1
        if int(self.scheduler.timesteps.max()) > last:
            raise CdmxError(f'{num_inference_steps} steps put a grid point at '
                            f'{int(self.scheduler.timesteps.max())} beyond the last trained '
                            f'timestep {last} (steps_offset); use fewer steps.')

    @property
    def timesteps(self) -> torch.Tensor:
        """``(num_steps,)`` descending timesteps the reverse process evaluates the model at."""
        return self.scheduler.timesteps[self.num_inference_steps - self.num_steps:]

    @property
    def start_timestep(self) -> int:
        """The timestep of the sample the reverse process starts from."""
        return int(self.timesteps[0])

    def add_noise(self, x0: torch.Tensor, generator: Generator = None) -> torch.Tensor:
        """Eq. 1 to :attr:`start_timestep` with noise drawn from ``generator``.

        Args:
            x0 (Tensor): ``(B, C, H, W)`` clean samples.
            generator (torch.Generator or list, optional): One generator, or one per sample
                (then every sample's noise is independent of the batch it is in).

        Returns:
            Tensor: ``(B, C, H, W)`` ``x_t`` at ``t = start_timestep``.
        """
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        return forward_noise(self.scheduler, x0, noise, self.start_timestep)

    def step(self, model_output: torch.Tensor, timestep: int, x_t: torch.Tensor,
             generator: Generator = None,
             variance_noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One step of Eq. 2 from ``timestep`` to the previous grid point.

        Args:
            model_output (Tensor): ``(B, C, H, W)`` (guided) prediction ``eps~`` at ``x_t``.
            timestep (int): Current timestep ``t``.
            x_t (Tensor): ``(B, C, H, W)`` current sample.
            generator (torch.Generator or list, optional): Source of ``z`` when ``eta > 0``.
            variance_noise (Tensor, optional): ``z`` itself, instead of ``generator``.

        Returns:
            Tensor: ``(B, C, H, W)`` ``x_s``.
        """
        return self.scheduler.step(model_output, timestep, x_t, eta=self.eta,
                                   generator=generator, variance_noise=variance_noise,
                                   return_dict=False)[0]

    def sample(self, x_t: torch.Tensor, eps_fn: Callable, generator: Generator = None,
               progress: bool = False) -> torch.Tensor:
        """Run Eq. 2 from :attr:`start_timestep` down to ``x_0``.

        Args:
            x_t (Tensor): ``(B, C, H, W)`` sample at :attr:`start_timestep`.
            eps_fn (callable): ``eps_fn(x, t) -> (B, C, H, W)`` model output (noise, or ``v``
                for ``v_prediction`` schedulers), e.g. a
                :class:`~cdmx.diffusion.noise_predictor.UNetNoisePredictor`.
            generator (torch.Generator or list, optional): Source of ``z`` when ``eta > 0``.
            progress (bool): Show a progress bar over the steps.

        Returns:
            Tensor: ``(B, C, H, W)`` ``x_0``.
        """
        x = x_t
        for t in tqdm(self.timesteps, desc='DDIM', disable=not progress, leave=False):
            model_input = self.scheduler.scale_model_input(x, t)
            x = self.step(eps_fn(model_input, t), t, x, generator=generator)
        return x
