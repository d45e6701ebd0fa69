"""The noise-prediction function ``eps(x_t, t)`` the samplers call, built from a diffusers UNet.

Samplers take any callable ``eps_fn(x_t, t) -> Tensor``; :class:`UNetNoisePredictor` is the one
for diffusers UNets (``UNet2DConditionModel`` with a prompt embedding, ``UNet2DModel`` with
class labels or nothing), with classifier-free guidance batched into one UNet call.
"""
from typing import Optional

import torch
from torch import nn

from cdmx.utils.errors import CdmxError
from .guidance import classifier_free_guidance


def _check_batch(kwargs: dict, batch: int, name: str) -> None:
    for key, value in kwargs.items():
        if torch.is_tensor(value) and value.shape[0] != batch:
            raise CdmxError(f'{name} conditioning "{key}" has batch {value.shape[0]} but the '
                            f'latents have batch {batch}; pass one conditioning row per sample.')


class UNetNoisePredictor:
    """``eps(x_t, t)`` of a diffusers UNet under fixed conditioning, with optional CFG (Eq. 2).

    * ``guidance_scale == 1`` (or no ``uncond``): one UNet call with ``cond``, i.e.
      ``eps(x_t, t, C)`` (UCDM's inversion, ``gamma = 1``);
    * otherwise: one UNet call on the batch ``[x_t; x_t]`` with ``[uncond; cond]``, split and
      combined by :func:`~cdmx.diffusion.guidance.classifier_free_guidance`.

    Args:
        unet (nn.Module): A diffusers UNet; called as ``unet(x, t, **kwargs, return_dict=False)``.
        cond (dict, optional): Keyword arguments of the conditional call, tensors with batch ``B``
            first, e.g. ``{'encoder_hidden_states': (B, L, D)}``; empty for unconditional UNets.
        uncond (dict, optional): Same keys for the unconditional call (the empty prompt's
            embedding repeated ``B`` times).
        guidance_scale (float): ``gamma`` of Eq. 2.
    """

    def __init__(self, unet: nn.Module, cond: Optional[dict] = None,
                 uncond: Optional[dict] = None, guidance_scale: float = 1.0):
        self.unet = unet
        self.cond = dict(cond or {})
        self.uncond = None if uncond is None else dict(uncond)
        self.guidance_scale = float(guidance_scale)
        if self.guidance_scale != 1.0 and self.uncond is None:
            raise CdmxError(f'classifier-free guidance scale {guidance_scale} needs the '
                            'unconditional embedding; pass uncond or guidance_scale=1.')
        if self.uncond is not None and set(self.uncond) != set(self.cond):
            raise CdmxError(f'uncond keys {sorted(self.uncond)} differ from cond keys '
                            f'{sorted(self.cond)}; pass the same conditioning keys to both.')

    @property
    def guided(self) -> bool:
        """Whether a call runs the conditional and unconditional branches (``gamma != 1``)."""
        return self.guidance_scale != 1.0

    def _unet(self, x: torch.Tensor, t, kwargs: dict) -> torch.Tensor:
        timestep = torch.as_tensor(t, device=x.device)
        return self.unet(x, timestep, **kwargs, return_dict=False)[0]

    def __call__(self, x_t: torch.Tensor, t) -> torch.Tensor:
        """Predict the noise of ``x_t`` (``(B, C, H, W)``) at integer timestep ``t``."""
        batch = x_t.shape[0]
        _check_batch(self.cond, batch, 'cond')
        if not self.guided:
            return self._unet(x_t, t, self.cond)
        _check_batch(self.uncond, batch, 'uncond')
        kwargs = {
            key: torch.cat([self.uncond[key], value]) if torch.is_tensor(value) else value
            for key, value in self.cond.items()
        }
        eps_uncond, eps_cond = self._unet(torch.cat([x_t, x_t]), t, kwargs).chunk(2)
        return classifier_free_guidance(eps_uncond, eps_cond, self.guidance_scale)
