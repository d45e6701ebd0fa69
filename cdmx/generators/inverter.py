"""DDIMInverter: UCDM Eq. 6 on a Stable Diffusion backend's latents, conditional or not."""
from typing import Optional

import torch

from cdmx.diffusion import DDIMInversion, UNetNoisePredictor
from cdmx.registry import INVERTERS
from cdmx.utils.errors import CdmxError
from .backend import build_backend


@INVERTERS.register_module()
class DDIMInverter:
    """Deterministic DDIM inversion of latents through the backend's UNet (UCDM Eq. 6).

    ``x_{t} = sqrt(abar_t) x0^(x_s) + sqrt(1 - abar_t) eps~(x_s, t)``, step by step from ``x_0``
    to the timestep a :class:`~cdmx.diffusion.DDIMSampler` with the same
    ``num_inference_steps`` and ``strength`` starts from (see :mod:`cdmx.diffusion.inversion`
    for the alignment and the timestep of the prediction).

    * ``conditional=True`` (UCDM's negatives): ``eps~`` is Eq. 2's guided prediction with the
      class prompt ``C_y``; ``guidance_scale = 1`` (UCDM) is the plain conditional prediction.
    * ``conditional=False``: ``eps~ = eps(x_s, t, {})``, the plain inversion whose round trip
      with an ``eta = 0`` reverse reconstructs the input.

    Args:
        backend (dict or StableDiffusionBackend): The model.
        num_inference_steps (int): Grid size, equal to the reverse sampler's.
        strength (float): Fraction of the grid, equal to the reverse sampler's.
        guidance_scale (float): ``gamma`` of the conditional inversion.
        conditional (bool): Invert with the class prompt (True) or the empty prompt.
        progress (bool): Show a progress bar over the steps.
    """

    def __init__(self, backend, num_inference_steps: int = 20, strength: float = 1.0,
                 guidance_scale: float = 1.0, conditional: bool = True, progress: bool = False):
        if not conditional and guidance_scale != 1.0:
            raise CdmxError(f'guidance_scale {guidance_scale} has no effect on an unconditional '
                            'inversion; leave it at 1 or set conditional=True.')
        self.backend = build_backend(backend)
        self.inversion = DDIMInversion(self.backend.scheduler_config, num_inference_steps,
                                       strength)
        self.guidance_scale = guidance_scale
        self.conditional = conditional
        self.progress = progress

    def noise_predictor(self, batch: int,
                        prompt_embeds: Optional[torch.Tensor] = None) -> UNetNoisePredictor:
        """The ``eps~(x, t)`` the inversion uses for a batch (``prompt_embeds``: ``(B, L, D)``)."""
        if self.conditional != (prompt_embeds is not None):
            need = 'needs' if self.conditional else 'takes no'
            raise CdmxError(f'a {"conditional" if self.conditional else "unconditional"} '
                            f'inversion {need} prompt embeddings; pass them iff conditional=True.')
        uncond = {'encoder_hidden_states': self.backend.unconditional_embeddings(batch)}
        if not self.conditional:
            return UNetNoisePredictor(self.backend.unet, cond=uncond)
        return UNetNoisePredictor(self.backend.unet,
                                  cond={'encoder_hidden_states': prompt_embeds},
                                  uncond=uncond, guidance_scale=self.guidance_scale)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor,
                 prompt_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Invert latents ``(B, 4, h, w)`` to ``(B, 4, h, w)`` at the reverse start timestep.

        Args:
            latents (Tensor): ``(B, 4, h, w)`` clean latents from ``backend.encode``.
            prompt_embeds (Tensor, optional): ``(B, L, D)`` class-prompt embeddings (conditional
                inversion only).
        """
        eps_fn = self.noise_predictor(latents.shape[0], prompt_embeds)
        return self.inversion.invert(latents, eps_fn, progress=self.progress)
