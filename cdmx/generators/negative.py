"""NegativeGenerator: erase a class from a seed image (UCDM Sec. 3.4)."""
from typing import Optional, Sequence

import torch

from cdmx.diffusion import UNetNoisePredictor
from cdmx.diffusion.ddim import Generator
from cdmx.registry import GENERATORS, INVERTERS
from cdmx.utils.errors import CdmxError
from .base import PairGenerator


@GENERATORS.register_module()
class NegativeGenerator(PairGenerator):
    """UCDM's negative instance for class ``y`` from a seed (Sec. 3.4, Eqs. 6 and 8).

    1. Eq. 6: conditional DDIM inversion of the seed latent with the class prompt ``C_y``
       (``gamma = 1``, ``sigma = 0``) up to the start timestep, by the inverter (INVERTERS,
       default :class:`~cdmx.generators.DDIMInverter`).
    2. Eq. 8: unconditional DDIM reverse process from there, ``eps~ = eps(x_t, t, {})``, with
       ``eta`` (UCDM: 0.2), on the same grid. The inversion explains the seed with ``C_y``, the
       reverse process does not, so what ``C_y`` accounted for is not restored: the erasure.

    ``inverter=dict(type='DDIMInverter', conditional=False)`` with ``eta=0`` is the plain
    inversion + reconstruction round trip (the erasure baseline).

    ``steer = s > 0`` (beyond the paper, never a paper config's default) replaces Eq. 8's
    unconditional prediction by one steered away from the class,
    ``eps~ = eps(x_t, t, {}) - s (eps(x_t, t, C_y) - eps(x_t, t, {}))`` (classifier-free
    guidance with scale ``-s``), so the reverse process also pushes ``C_y`` out instead of only
    not restoring it.

    Args:
        backend (dict or StableDiffusionBackend): The model.
        prompt_template (str): ``C_y`` with one ``{}`` for the class name.
        num_inference_steps (int): DDIM grid size, shared by inversion and reverse process.
        eta (float): ``eta`` of the reverse process.
        strength (float): Fraction of the grid inverted and then run back, in ``(0, 1]``.
        inverter (dict, optional): INVERTERS config; ``backend``, ``num_inference_steps`` and
            ``strength`` are filled from this generator. Default: ``dict(type='DDIMInverter',
            guidance_scale=1.0, conditional=True)``.
        steer (float): ``s >= 0``, the reverse process's push away from ``C_y``; 0 (the paper)
            is Eq. 8's unconditional prediction.
        progress (bool): Show progress bars.
    """

    def __init__(self, backend, prompt_template: str = 'A photo of a {}',
                 num_inference_steps: int = 20, eta: float = 0.2, strength: float = 1.0,
                 inverter: Optional[dict] = None, steer: float = 0.0, progress: bool = False):
        super().__init__(backend, prompt_template, num_inference_steps, eta, strength, progress)
        if isinstance(steer, bool) or not isinstance(steer, (int, float)) or not steer >= 0:
            raise CdmxError(f'NegativeGenerator steer is {steer!r}; give s >= 0 (0: the paper\'s '
                            'unconditional reverse process).')
        self.steer = float(steer)
        cfg = dict(inverter or dict(type='DDIMInverter', guidance_scale=1.0, conditional=True))
        shared = dict(backend=self.backend, num_inference_steps=num_inference_steps,
                      strength=strength, progress=progress)
        clashes = sorted(k for k in ('num_inference_steps', 'strength') if k in cfg)
        if clashes:
            raise CdmxError(f'the inverter config sets {", ".join(clashes)}; set them on the '
                            'NegativeGenerator only, so that inversion and reverse share a grid.')
        self.inverter = INVERTERS.build(cfg, default_args=shared)

    @torch.no_grad()
    def generate_latents(self, latents: torch.Tensor, class_names: Sequence[str],
                         generator: Generator = None) -> torch.Tensor:
        """Seed latents ``(B, 4, h, w)`` -> negatives ``(B, 4, h, w)``, one per class name."""
        names = self.check_pairs(class_names, latents.shape[0])
        prompt_embeds = (self.prompt_embeddings(names)
                         if self.inverter.conditional or self.steer else None)
        x_t = self.inverter(latents, prompt_embeds if self.inverter.conditional else None)
        uncond = {'encoder_hidden_states': self.backend.unconditional_embeddings(len(names))}
        if self.steer:
            eps_fn = UNetNoisePredictor(self.backend.unet,
                                        cond={'encoder_hidden_states': prompt_embeds},
                                        uncond=uncond, guidance_scale=-self.steer)
        else:
            eps_fn = UNetNoisePredictor(self.backend.unet, cond=uncond)
        return self.sampler.sample(x_t, eps_fn, generator, progress=self.progress)
