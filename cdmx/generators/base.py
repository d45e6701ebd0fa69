"""What UCDM's positive and negative generators share: the call on (seed image, class) pairs."""
from abc import ABCMeta, abstractmethod
from typing import List, Sequence

import torch

from cdmx.diffusion import DDIMSampler
from cdmx.diffusion.ddim import Generator
from cdmx.utils.errors import CdmxError
from .backend import build_backend, check_images
from .prompts import check_prompt_template, format_prompts


class PairGenerator(metaclass=ABCMeta):
    """Turns ``B`` (seed image, class name) pairs into ``B`` generated images.

    ``gen(images, class_names, generator)`` encodes the seeds once, runs
    :meth:`generate_latents` on the whole batch (all UNet work of all pairs in one batch per
    step) and decodes at the seeds' size. Callers that already hold the latents (the
    generation engine encodes each seed once for K classes and both generators) call
    :meth:`generate_latents` directly.

    Randomness: ``generator`` is one ``torch.Generator`` or a list of ``B`` of them (diffusers'
    convention). With a list, pair ``i`` draws only from ``generator[i]``, so its result does not
    depend on the batch it is generated in.

    Args:
        backend (dict or StableDiffusionBackend): The model (a config dict is built in
            GENERATORS; pass a built backend to share it between generators).
        prompt_template (str): ``C_y`` with one ``{}`` for the class name.
        num_inference_steps (int): Size of the DDIM grid.
        eta (float): ``eta`` of the reverse process (Eq. 2).
        strength (float): Fraction of the grid run, in ``(0, 1]`` (see
            :class:`~cdmx.diffusion.DDIMSampler`).
        progress (bool): Show progress bars over the steps.
    """

    def __init__(self, backend, prompt_template: str, num_inference_steps: int, eta: float,
                 strength: float, progress: bool = False):
        self.backend = build_backend(backend)
        self.prompt_template = check_prompt_template(prompt_template)
        self.sampler = DDIMSampler(self.backend.scheduler_config, num_inference_steps, eta,
                                   strength)
        self.progress = progress

    def prompt_embeddings(self, class_names: Sequence[str]) -> torch.Tensor:
        """``(B, L, D)`` embeddings of ``C_y`` for each pair's class (cached by the backend)."""
        return self.backend.encode_prompts(format_prompts(self.prompt_template, class_names))

    @staticmethod
    def check_pairs(class_names: Sequence[str], batch: int) -> List[str]:
        """The per-pair class names as a list, one non-empty string per seed."""
        names = [class_names] if isinstance(class_names, str) else list(class_names)
        if not names:
            raise CdmxError('class_names is empty; pass one class name per seed image.')
        if len(names) != batch:
            raise CdmxError(f'{len(names)} class names for {batch} seed images; pass one class '
                            'name per seed image (repeat seeds to pair them with several classes).')
        if not all(isinstance(n, str) and n.strip() for n in names):
            raise CdmxError(f'class names {names!r} must be non-empty strings.')
        return names

    @abstractmethod
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` and ``B`` class names -> generated ``(B, 4, h, w)``."""

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, class_names: Sequence[str],
                 generator: Generator = None) -> torch.Tensor:
        """Seed images ``(B, 3, H, W)`` in [0, 1] -> generated images ``(B, 3, H, W)`` in [0, 1]."""
        check_images(images)
        names = self.check_pairs(class_names, images.shape[0])
        latents = self.backend.encode(images)
        out = self.generate_latents(latents, names, generator)
        return self.backend.decode(out, size=images.shape[-2:])
