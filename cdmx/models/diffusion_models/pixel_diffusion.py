"""GDUI's unconditional pixel-space diffusion model (§3.5): a diffusers ``UNet2DModel`` trained
with the epsilon-prediction objective of DDPM (Ho et al., 2020, Eq. 14).

Training step on a batch of clean images ``x_0`` (``(N, C, H, W)`` in ``[-1, 1]``, the data
preprocessor's ``(x - 127.5) / 127.5``)::

    t ~ U{0, ..., T - 1},  eps ~ N(0, I),
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps        (forward noising, cdmx.diffusion)
    L = || eps - eps_theta(x_t, t) ||^2                  (mean over pixels and batch)

``T`` and ``abar`` come from a diffusers ``DDPMScheduler`` built from ``noise_scheduler`` (GDUI:
``T = 500``). The model is saved by the Runner's mmengine checkpoints (``state_dict`` keys
``unet.*``; with an ``EMAHook`` the saved ``state_dict`` holds the EMA weights) and loaded for
sampling by :func:`cdmx.generators.guided_sampler.load_trained_model`.
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, UNet2DModel
from mmengine.model import BaseModel

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

#: ``(x - 127.5) / 127.5``: uint8 pixels to ``[-1, 1]``, the range the UNet and the noisy
#: classifier of GDUI share (one value serves grey and RGB images alike).
PIXEL_PREPROCESSOR = dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5])


def check_epsilon_scheduler(scheduler: DDPMScheduler, owner: str) -> None:
    """Classifier guidance (Eq. 19) needs noise prediction; refuse other prediction types."""
    if scheduler.config.prediction_type != 'epsilon':
        raise CdmxError(f"{owner} trains epsilon prediction but noise_scheduler has "
                        f"prediction_type={scheduler.config.prediction_type!r}; set it to "
                        "'epsilon'.")


@MODELS.register_module()
class PixelDiffusion(BaseModel):
    """Unconditional epsilon-prediction diffusion model on pixels (see module docstring).

    Args:
        unet (dict): Keyword arguments of diffusers' ``UNet2DModel`` (``sample_size``,
            ``in_channels``, ``out_channels``, ``block_out_channels``, block types...); the
            UNet's size is set here in the config.
        noise_scheduler (dict): Keyword arguments of diffusers' ``DDPMScheduler``
            (``num_train_timesteps``, ``beta_schedule``, ``beta_start``, ``beta_end``,
            ``variance_type``, ``clip_sample``); ``prediction_type`` must be ``'epsilon'``.
        data_preprocessor (dict, optional): Defaults to :data:`PIXEL_PREPROCESSOR`.
        init_cfg (dict, optional): mmengine initialisation.
    """

    def __init__(self, unet: dict, noise_scheduler: dict,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(PIXEL_PREPROCESSOR),
                         init_cfg=init_cfg)
        if unet.get('in_channels', 3) != unet.get('out_channels', 3):
            raise CdmxError(f"unet has in_channels={unet.get('in_channels', 3)} and "
                            f"out_channels={unet.get('out_channels', 3)}; a noise predictor "
                            'outputs as many channels as it reads, set them equal.')
        self.unet = UNet2DModel(**unet)
        self.noise_scheduler = DDPMScheduler(**noise_scheduler)
        check_epsilon_scheduler(self.noise_scheduler, 'PixelDiffusion')

    @property
    def scheduler_config(self) -> dict:
        """The diffusers config of the training noise schedule (what samplers are built from)."""
        return dict(self.noise_scheduler.config)

    @property
    def num_train_timesteps(self) -> int:
        """``T``, the number of trained timesteps."""
        return int(self.noise_scheduler.config.num_train_timesteps)

    def check_images(self, images: torch.Tensor) -> None:
        """Raise unless ``images`` is ``(N, in_channels, sample_size, sample_size)``."""
        config = self.unet.config
        size = config.sample_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if images.dim() != 4 or images.shape[1] != config.in_channels or \
                tuple(images.shape[2:]) != size:
            raise CdmxError(f'PixelDiffusion takes images (N, {config.in_channels}, {size[0]}, '
                            f'{size[1]}) but got {tuple(images.shape)}; match the dataset '
                            "pipeline (channels, padding) to unet's in_channels and sample_size.")

    def predict_noise(self, x_t: torch.Tensor, timesteps) -> torch.Tensor:
        """``eps_theta(x_t, t)``: ``(N, C, H, W)`` and an int or ``(N,)`` timesteps."""
        timesteps = torch.as_tensor(timesteps, device=x_t.device)
        return self.unet(x_t, timesteps, return_dict=False)[0]

    def loss(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The DDPM objective (module docstring) on clean images ``(N, C, H, W)`` in [-1, 1]."""
        self.check_images(inputs)
        num = inputs.shape[0]
        timesteps = torch.randint(0, self.num_train_timesteps, (num, ), device=inputs.device)
        noise = torch.randn_like(inputs)
        x_t = self.noise_scheduler.add_noise(inputs, noise, timesteps)
        return dict(loss=F.mse_loss(self.predict_noise(x_t, timesteps), noise))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'loss') -> Dict[str, torch.Tensor]:
        """``'loss'``: clean images (N, C, H, W) -> ``{'loss': L}``. The model has no
        prediction mode: images are sampled by ``tools/gdui/sample.py``."""
        if mode == 'loss':
            return self.loss(inputs)
        raise CdmxError(f"PixelDiffusion runs forward mode 'loss' only, not {mode!r}; sample "
                        'images with tools/gdui/sample.py.')
