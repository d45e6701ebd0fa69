"""PositiveGenerator: add a class to a seed image (UCDM Sec. 3.3)."""
from typing import Sequence

import torch

from cdmx.diffusion import UNetNoisePredictor
from cdmx.diffusion.ddim import Generator
from cdmx.registry import GENERATORS
from .base import PairGenerator


@GENERATORS.register_module()
class PositiveGenerator(PairGenerator):
    """UCDM's positive instance of class ``y`` from a seed (Sec. 3.3, Eqs. 1-2).

    1. Eq. 1: forward-noise the seed latent to the start timestep ``t_s``:
       ``x_{t_s} = sqrt(abar_{t_s}) z_0 + sqrt(1 - abar_{t_s}) eps``.
    2. Eq. 2: DDIM reverse process from ``t_s`` to 0 with the guided prediction
       ``eps~ = eps(x_t, t, {}) + gamma (eps(x_t, t, C_y) - eps(x_t, t, {}))`` and noise scale
       ``eta`` (UCDM: ``gamma = 7.5``, ``eta = 1``, 20 steps, ``C_y`` = "A photo of a [CLASS]").

    ``strength`` sets ``t_s``: the reverse process runs the last ``round(20 * strength)``
    timesteps of the grid. ``strength = 1`` (UCDM, official code) starts at the noisiest grid
    point (951 for SD's 20-step grid), where ``sqrt(abar)`` is still ~0.07, so the seed survives
    only as a faint layout; lower it to keep more of the seed.

    Args:
        backend (dict or StableDiffusionBackend): The model.
        prompt_template (str): ``C_y`` with one ``{}`` for the class name.
        num_inference_steps (int): DDIM grid size.
        guidance_scale (float): ``gamma``.
        eta (float): ``eta`` of the reverse process.
        strength (float): Fraction of the grid run, in ``(0, 1]``.
        progress (bool): Show progress bars.
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}',
                 num_inference_steps: int = 20, guidance_scale: float = 7.5, eta: float = 1.0,
                 strength: float = 1.0, progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps, eta, strength, progress)
        self.guidance_scale = guidance_scale

    def noise_predictor(self, class_names: Sequence[str]) -> UNetNoisePredictor:
        """Eq. 2's guided prediction for ``B`` class prompts ``C_y``."""
        return UNetNoisePredictor(
            self.backend.unet,
            cond={'encoder_hidden_states': self.prompt_embeddings(class_names)},
            uncond={'encoder_hidden_states':
                    self.backend.unconditional_embeddings(len(class_names))},
            guidance_scale=self.guidance_scale)

    def start(self, latents: torch.Tensor, generator: Generator = None) -> torch.Tensor:
        """Eq. 1: the seed latents ``(B, 4, h, w)`` noised to the start timestep."""
        return self.sampler.add_noise(latents, generator)

    @torch.no_grad()
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` -> positives ``(B, 4, h, w)``, one per class name."""
        names = self.check_pairs(class_names, latents.shape[0])
        return self.sampler.sample(self.start(latents, generator), self.noise_predictor(names),
                                   generator, progress=self.progress)
