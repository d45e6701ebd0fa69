"""StableDiffusionBackend: a local StableDiffusionPipeline folder as encoder, decoder and UNet."""
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline

from cdmx.registry import GENERATORS
from cdmx.utils.cli import load_config
from cdmx.utils.errors import CdmxError

_DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}
RESIZE_POLICIES = ('bicubic', 'pad')


def _bicubic(images: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Antialiased bicubic resize of ``(N, C, H, W)`` to ``size``, clamped to [0, 1]."""
    if tuple(images.shape[-2:]) != tuple(size):
        images = F.interpolate(images, size=tuple(size), mode='bicubic', align_corners=False,
                               antialias=True)
    return images.clamp(0, 1)


def check_images(images: torch.Tensor) -> None:
    """Raise :class:`CdmxError` unless ``images`` is a float ``(N, 3, H, W)`` tensor in [0, 1]."""
    if not torch.is_tensor(images) or images.ndim != 4:
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise CdmxError(f'images are {shape}; pass a float tensor of shape (N, 3, H, W).')
    if images.shape[1] != 3:
        raise CdmxError(f'images have {images.shape[1]} channels; pass RGB images (N, 3, H, W), '
                        'e.g. repeat a grayscale channel three times.')
    if not images.is_floating_point():
        raise CdmxError(f'images have dtype {images.dtype}; pass floats in [0, 1] '
                        '(divide uint8 images by 255).')
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise CdmxError(f'images range over [{images.min():.3g}, {images.max():.3g}]; pass '
                        'floats in [0, 1].')


def _load_pipeline(pretrained: str, torch_dtype: torch.dtype) -> StableDiffusionPipeline:
    if not os.path.isdir(pretrained):
        raise CdmxError(f'Stable Diffusion folder {pretrained} does not exist; pass a local '
                        'folder saved by StableDiffusionPipeline.save_pretrained.')
    index_path = os.path.join(pretrained, 'model_index.json')
    if not os.path.isfile(index_path):
        raise CdmxError(f'{pretrained} has no model_index.json, so it is not a diffusers '
                        'pipeline folder; pass a folder saved by '
                        'StableDiffusionPipeline.save_pretrained.')
    with open(index_path, encoding='utf-8') as f:
        index = json.load(f)
    missing = [name for name in ('vae', 'text_encoder', 'tokenizer', 'unet', 'scheduler')
               if name not in index]
    if missing:
        raise CdmxError(f'{index_path} lists no {", ".join(missing)}; pass a Stable Diffusion '
                        'pipeline folder (vae, text_encoder, tokenizer, unet, scheduler).')
    try:
        # safety_checker=None: a checker replaces flagged images by black ones, which would
        # silently corrupt generated training data.
        return StableDiffusionPipeline.from_pretrained(
            pretrained, dtype=torch_dtype, local_files_only=True, safety_checker=None,
            requires_safety_checker=False)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise CdmxError(f'{pretrained} cannot be loaded as a StableDiffusionPipeline ({err}); '
                        'pass a complete folder saved by save_pretrained.') from err


@GENERATORS.register_module()
class StableDiffusionBackend:
    """A Stable Diffusion pipeline folder (SD 2.0 / 2-base, or cdmx's mini SD) for generators.

    Loads the folder with ``StableDiffusionPipeline.from_pretrained(..., local_files_only=True)``
    and exposes what the generators need: the VAE as :meth:`encode` / :meth:`decode`, the text
    encoder as :meth:`encode_prompts` (cached), and the UNet with its scheduler config.

    **Resize policy.** The VAE and UNet run at the model's resolution ``R`` (``unet sample_size
    x vae_scale_factor``: 512 for SD 2-base, 32 for the mini SD) unless ``resolution`` says
    otherwise. ``resize_policy`` says how images get there and back:

    * ``'bicubic'`` (default): :meth:`encode` resizes any ``(H, W)`` to ``(R, R)`` with
      antialiased bicubic interpolation (the official UCDM code upsamples 32 -> 512 the same
      way, with PIL), so non-square images are stretched; :meth:`decode` resizes back to the
      requested size likewise. Both clamp to ``[0, 1]``, since bicubic interpolation overshoots.
    * ``'pad'``: :meth:`encode` centres images of at most ``R x R`` on a black ``R x R`` canvas;
      :meth:`decode` crops the centre of the requested size. This is how cdmx's mini SD saw
      Fashion-MNIST (28 x 28 on a 32 x 32 canvas) during training.

    **Encoding** uses the mean of the VAE posterior (deterministic, so a seed is encoded once),
    times ``vae.config.scaling_factor``.

    **Scheduler.** ``scheduler_config`` is the folder's scheduler config; where it has no
    ``clip_sample`` entry (e.g. a PNDM config) it is set to ``False``, as latent diffusion never
    clips the predicted latent to ``[-1, 1]`` (SD's own DDIM configs say so).

    Args:
        pretrained (str): Local pipeline folder (``model_index.json``, ``unet/``, ``vae/``,
            ``text_encoder/``, ``tokenizer/``, ``scheduler/``).
        device (str): Torch device, e.g. ``'cpu'`` or ``'cuda:0'``.
        torch_dtype (str): ``'float32'``, ``'float16'`` or ``'bfloat16'``.
        resolution (int, optional): Side the models run at; defaults to the model's own.
        resize_policy (str): ``'bicubic'`` or ``'pad'``, see above.
    """

    def __init__(self, pretrained: str, device: str = 'cpu', torch_dtype: str = 'float32',
                 resolution: Optional[int] = None, resize_policy: str = 'bicubic'):
        if torch_dtype not in _DTYPES:
            raise CdmxError(f'torch_dtype {torch_dtype!r} is not supported; pass one of '
                            f'{", ".join(_DTYPES)}.')
        if resize_policy not in RESIZE_POLICIES:
            raise CdmxError(f'resize_policy {resize_policy!r} is unknown; pass one of '
                            f'{", ".join(RESIZE_POLICIES)}.')
        self.resize_policy = resize_policy
        self.pretrained = pretrained
        self.device = torch.device(device)
        self.dtype = _DTYPES[torch_dtype]
        pipe = _load_pipeline(pretrained, self.dtype).to(self.device)
        for module in (pipe.unet, pipe.vae, pipe.text_encoder):
            module.requires_grad_(False).eval()
        self.pipe = pipe
        self.unet = pipe.unet
        self.vae = pipe.vae
        self.scheduler_config = dict(pipe.scheduler.config)
        self.scheduler_config.setdefault('clip_sample', False)
        self.vae_scale_factor = pipe.vae_scale_factor
        native = pipe.unet.config.sample_size * self.vae_scale_factor
        self.resolution = int(resolution or native)
        if self.resolution % self.vae_scale_factor:
            raise CdmxError(f'resolution {self.resolution} is not a multiple of the VAE factor '
                            f'{self.vae_scale_factor}; pass a multiple of it.')
        self._prompt_cache: Dict[str, torch.Tensor] = {}

    @property
    def latent_shape(self) -> Tuple[int, int, int]:
        """``(C, h, w)`` of one latent: ``(4, R / 8, R / 8)`` for SD."""
        side = self.resolution // self.vae_scale_factor
        return (self.unet.config.in_channels, side, side)

    def _pad_offsets(self, size: Sequence[int]) -> Tuple[int, int]:
        height, width = size
        if height > self.resolution or width > self.resolution:
            raise CdmxError(f'resize_policy "pad" cannot fit {height}x{width} images into the '
                            f'model\'s {self.resolution}x{self.resolution}; use '
                            'resize_policy="bicubic" or smaller images.')
        return (self.resolution - height) // 2, (self.resolution - width) // 2

    def _to_model(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> ``(N, 3, R, R)`` in [0, 1] by the resize policy."""
        if self.resize_policy == 'pad':
            top, left = self._pad_offsets(images.shape[-2:])
            bottom = self.resolution - images.shape[-2] - top
            right = self.resolution - images.shape[-1] - left
            return F.pad(images, (left, right, top, bottom))
        return _bicubic(images, (self.resolution, ) * 2)

    def _from_model(self, images: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """``(N, 3, R, R)`` -> ``(N, 3, *size)`` in [0, 1] by the resize policy."""
        if self.resize_policy == 'pad':
            top, left = self._pad_offsets(size)
            return images[..., top:top + size[0], left:left + size[1]].clamp(0, 1)
        return _bicubic(images, size)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 3, H, W)`` in [0, 1] -> latents ``(N, 4, R/8, R/8)`` (resize policy above).

        ``z = scaling_factor * mean(q(z | 2 x - 1))`` with ``x`` resized to ``(R, R)``.
        """
        check_images(images)
        x = (2 * self._to_model(images.to(self.device, torch.float32)) - 1).to(self.dtype)
        latents = self.vae.encode(x).latent_dist.mode()
        return latents * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Latents ``(N, 4, h, w)`` -> images ``(N, 3, H, W)`` in ``[0, 1]``.

        ``x = (D(z / scaling_factor) + 1) / 2`` at ``(R, R)``, resized to ``size`` (default:
        stay at ``(R, R)``).
        """
        expected = self.latent_shape
        if latents.ndim != 4 or tuple(latents.shape[1:]) != expected:
            raise CdmxError(f'latents have shape {tuple(latents.shape)}; pass (N, *{expected}) '
                            'latents of this backend.')
        z = latents.to(self.device, self.dtype) / self.vae.config.scaling_factor
        x = (self.vae.decode(z, return_dict=False)[0].float() + 1) / 2
        return self._from_model(x, tuple(int(s) for s in size or (self.resolution, ) * 2))

    @torch.no_grad()
    def encode_prompts(self, prompts: List[str]) -> torch.Tensor:
        """Text-encoder embeddings ``(N, L, D)`` of ``prompts`` (``L = 77`` for CLIP).

        Computed by the pipeline's own ``encode_prompt`` (tokenise with padding to the
        tokenizer's maximum length, last hidden state) once per distinct prompt, then served
        from a cache; ``''`` is the unconditional embedding of classifier-free guidance.
        """
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise CdmxError(f'prompts must be a list of strings, got {prompts!r}; wrap a single '
                            'prompt in a list.')
        if not prompts:
            raise CdmxError('prompts is empty; pass at least one prompt.')
        new = list(dict.fromkeys(p for p in prompts if p not in self._prompt_cache))
        if new:
            embeds = self.pipe.encode_prompt(new, self.device, 1, False)[0]
            self._prompt_cache.update(zip(new, embeds))
        return torch.stack([self._prompt_cache[p] for p in prompts])

    def unconditional_embeddings(self, batch: int) -> torch.Tensor:
        """The empty prompt's embedding repeated: ``(batch, L, D)``."""
        return self.encode_prompts(['']).expand(batch, -1, -1)


def build_backend(backend) -> StableDiffusionBackend:
    """A backend from its config dict (built in GENERATORS) or an already built backend.

    Passing the built object lets several generators share one loaded pipeline.
    """
    if isinstance(backend, dict):
        return GENERATORS.build(backend)
    if not all(hasattr(backend, name) for name in ('encode', 'decode', 'encode_prompts')):
        raise CdmxError(f'backend {type(backend).__name__} has no encode/decode/encode_prompts; '
                        "pass dict(type='StableDiffusionBackend', pretrained=...) or a built "
                        'backend.')
    return backend


def backend_config(source: str, device: Optional[str] = None, torch_dtype: Optional[str] = None,
                   resize_policy: Optional[str] = None) -> dict:
    """The backend config a tool's ``SOURCE`` argument names.

    ``source`` is a pipeline folder, or a config file with a top-level ``backend`` dict (e.g.
    ``backend = dict(type='StableDiffusionBackend', pretrained='work_dirs/foundation/mini_sd')``).
    ``device``, ``torch_dtype`` and ``resize_policy``, when given, override the config's.
    """
    if os.path.isdir(source):
        cfg = dict(type='StableDiffusionBackend', pretrained=source)
    elif not os.path.isfile(source):
        raise CdmxError(f'{source} does not exist; pass a StableDiffusionPipeline folder (e.g. '
                        'work_dirs/foundation/mini_sd, made by tools/pretrain_foundation.py) or '
                        'a config file with a top-level backend dict.')
    else:
        loaded = load_config(source)
        if not isinstance(loaded.get('backend'), dict):
            raise CdmxError(f'{source} has no top-level backend dict; add backend = '
                            "dict(type='StableDiffusionBackend', pretrained=...) or pass a "
                            'pipeline folder.')
        cfg = dict(loaded['backend'])
    overrides = dict(device=device, torch_dtype=torch_dtype, resize_policy=resize_policy)
    cfg.update({key: value for key, value in overrides.items() if value})
    return cfg
