"""RandomNoiseGenerator: UCDM's ablation with random noise instead of the diffusion pipelines."""
from typing import Sequence

import torch

from cdmx.diffusion.ddim import Generator
from cdmx.registry import GENERATORS
from .base import PairGenerator


@GENERATORS.register_module()
class RandomNoiseGenerator(PairGenerator):
    """Random-noise "generation" (UCDM Table 5, variant IV): the noise, not the pipeline's output.

    Both the positive and the negative pipeline start from a Gaussian latent ``x_T ~ N(0, I)``;
    this generator returns that starting noise without any denoising, decoded by the backend's VAE
    like every generated latent. The classifier then trains on (noise labelled ``k``, noise
    labelled "not ``k``") pairs that carry no information about the classes, which isolates
    what the diffusion pipelines contribute. Used as ``positive`` and ``negative`` of the
    generation config; nothing of the seed or the class name enters the result (the seed latents
    fix only the shape).

    Args:
        backend (dict or StableDiffusionBackend): The model (only its VAE decodes the noise).
        prompt_template (str): Checked like the pipelines' template, otherwise unused.
        progress (bool): Unused (there are no steps); kept for the generators' interface.
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}.', progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps=1, eta=0.0, strength=1.0,
                         progress=progress)

    @torch.no_grad()
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` -> ``B`` standard Gaussian latents of the same shape;
        with a list of generators, latent ``i`` is drawn from ``generator[i]`` alone."""
        self.check_pairs(class_names, latents.shape[0])
        if isinstance(generator, (list, tuple)):
            noise = torch.stack([torch.randn(latents.shape[1:], generator=g) for g in generator])
        else:
            noise = torch.randn(latents.shape, generator=generator)
        return noise.to(latents.device, latents.dtype)
