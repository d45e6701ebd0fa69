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
from .positive import PositiveGenerator


@GENERATORS.register_module()
class RandomPositiveGenerator(PositiveGenerator):
    """Table 5's random positive: Eq. 2 with the class prompt from ``x_T ~ N(0, I)``.

    The reverse process of :class:`PositiveGenerator` (guidance ``gamma`` on ``C_y``, ``eta``)
    over the whole grid, started from pure noise instead of the forward-noised seed (Eq. 1);
    the seed latents give only the shape. Arguments as :class:`PositiveGenerator`
    (``strength`` is 1: a pure-noise start has no seed to keep).
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}',
                 num_inference_steps: int = 20, guidance_scale: float = 7.5, eta: float = 1.0,
                 progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps, guidance_scale, eta,
                         strength=1.0, progress=progress)

    def start(self, latents: torch.Tensor, generator: Generator = None) -> torch.Tensor:
        """``x_T = sigma_T z``, ``z ~ N(0, I)`` of the shape of ``latents`` ``(B, 4, h, w)``;
        with a list of generators, sample ``i`` draws from ``generator[i]`` only."""
        noise = randn_tensor(latents.shape, generator=generator, device=latents.device,
                             dtype=latents.dtype)
        return noise * self.sampler.scheduler.init_noise_sigma


@GENERATORS.register_module()
class RandomNegativeGenerator(RandomPositiveGenerator):
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
        super().__init__(backend, prompt_template, num_inference_steps, guidance_scale=1.0,
                         eta=eta, progress=progress)

    def noise_predictor(self, class_names: Sequence[str]) -> UNetNoisePredictor:
        """Eq. 8's unconditional prediction (the class names only give the batch size)."""
        return UNetNoisePredictor(
            self.backend.unet,
            cond={'encoder_hidden_states':
                  self.backend.unconditional_embeddings(len(class_names))})
