"""UCDM Table 5's "random noise" pipelines: positives and negatives that ignore the seed image.

§4.3, Table 5 and Appendices B.8-B.9 of Du et al. (ICML 2025) compare the two pipelines with
instances "generated from random noise": a random *positive* is a text-to-image sample of the
class prompt started from pure noise (B.8: "conditional guidance starting from random noise"), a
random *negative* an unconditional sample from pure noise (B.9: "unconditional guidance starting
from random noise"). Both keep their pipeline's sampler settings (steps, guidance, ``eta``); only
the start changes from the seed's latent to ``x_T ~ N(0, I)``, so nothing of the seed enters.
Table 5's rows: I = (PositiveGenerator, NegativeGenerator), II = (RandomPositiveGenerator,
NegativeGenerator), III = (PositiveGenerator, RandomNegativeGenerator), IV = both random.
"""
from typing import Sequence

import torch
from diffusers.utils.torch_utils import randn_tensor

from cdmx.diffusion import UNetNoisePredictor
from cdmx.diffusion.ddim import Generator
from cdmx.registry import GENERATORS
from .base import PairGenerator
from .positive import PositiveGenerator


def pure_noise(latents: torch.Tensor, generator: Generator, sigma: float) -> torch.Tensor:
    """``x_T = sigma * z`` with ``z ~ N(0, I)`` of the shape of ``latents`` ``(B, 4, h, w)``;
    with a list of generators, sample ``i`` draws from ``generator[i]`` only."""
    noise = randn_tensor(latents.shape, generator=generator, device=latents.device,
                         dtype=latents.dtype)
    return noise * sigma


@GENERATORS.register_module()
class RandomPositiveGenerator(PositiveGenerator):
    """Table 5's random positive: Eq. 2 with the class prompt from ``x_T ~ N(0, I)``.

    The reverse process of :class:`PositiveGenerator` (guidance ``gamma`` on ``C_y``, ``eta``)
    over the whole grid, started from pure noise instead of the forward-noised seed (Eq. 1).
    Arguments as :class:`PositiveGenerator` (``strength`` is 1: a pure-noise start has no seed
    to keep).
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}',
                 num_inference_steps: int = 20, guidance_scale: float = 7.5, eta: float = 1.0,
                 progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps, guidance_scale, eta,
                         strength=1.0, progress=progress)

    @torch.no_grad()
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` (their shape only) -> ``B`` class samples."""
        names = self.check_pairs(class_names, latents.shape[0])
        eps_fn = UNetNoisePredictor(
            self.backend.unet,
            cond={'encoder_hidden_states': self.prompt_embeddings(names)},
            uncond={'encoder_hidden_states': self.backend.unconditional_embeddings(len(names))},
            guidance_scale=self.guidance_scale)
        x_t = pure_noise(latents, generator, self.sampler.scheduler.init_noise_sigma)
        return self.sampler.sample(x_t, eps_fn, generator, progress=self.progress)


@GENERATORS.register_module()
class RandomNegativeGenerator(PairGenerator):
    """Table 5's random negative: Eq. 8 (unconditional, ``eta``) from ``x_T ~ N(0, I)``.

    The reverse process of :class:`NegativeGenerator` without the conditional inversion before
    it: an unconditional sample that knows neither the seed nor the class it should not show.

    Args:
        backend (dict or StableDiffusionBackend): The model.
        prompt_template (str): Checked like the pipelines' template; the sample ignores it.
        num_inference_steps (int): DDIM grid size.
        eta (float): ``eta`` of the reverse process (UCDM's negative pipeline: 0.2).
        progress (bool): Show progress bars.
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}',
                 num_inference_steps: int = 20, eta: float = 0.2, progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps, eta, strength=1.0,
                         progress=progress)

    @torch.no_grad()
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` (their shape only) -> ``B`` unconditional samples."""
        names = self.check_pairs(class_names, latents.shape[0])
        eps_fn = UNetNoisePredictor(
            self.backend.unet,
            cond={'encoder_hidden_states': self.backend.unconditional_embeddings(len(names))})
        x_t = pure_noise(latents, generator, self.sampler.scheduler.init_noise_sigma)
        return self.sampler.sample(x_t, eps_fn, generator, progress=self.progress)
