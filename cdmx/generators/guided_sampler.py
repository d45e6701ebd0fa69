"""GDUI's guided synthesis (§3.5): an unconditional pixel UNet steered towards a class by a
noisy-image classifier, through the diffusion core.

* ``method='ddpm'`` (GDUI): ancestral DDPM with the mean shift of Eq. 19,
  ``x_{t-1} ~ N(mu + s Sigma grad log p_phi(y | x_t, t), Sigma)``
  (:class:`~cdmx.diffusion.DDPMSampler`).
* ``method='ddim'``: the DDIM form, ``eps^ = eps - s sqrt(1 - abar_t) grad log p_phi(y | x_t, t)``
  (:class:`~cdmx.diffusion.ClassifierGuidance` in :class:`~cdmx.diffusion.DDIMSampler`), for
  fewer steps.

``scale = 0`` (or no classifier) is unconditional sampling, the baseline of Table 1/2.
:func:`load_trained_model` builds a UNet or classifier from its training config and checkpoint;
:func:`check_pair` refuses a classifier that cannot read the UNet's ``x_t`` (another noise
schedule, pixel scaling or, by the checkpoints' training record, image size).
"""
from typing import Optional, Sequence, Union

import torch
from diffusers.utils.torch_utils import randn_tensor
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from cdmx.diffusion import ClassifierGuidance, DDIMSampler, DDPMSampler
from cdmx.diffusion.ddim import Generator
from cdmx.diffusion.guidance import check_guidance_scale
from cdmx.registry import GENERATORS, MODELS
from cdmx.utils import checkpoint as _checkpoint  # noqa: F401  (routes loads to weights_only)
from cdmx.utils.cli import load_config, resolve_checkpoint
from cdmx.utils.errors import CdmxError
from cdmx.utils.training_meta import apply_training_meta, same_schedule

METHODS = ('ddpm', 'ddim')


def load_trained_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                       device: Union[str, torch.device] = 'cpu') -> BaseModel:
    """The ``model`` of a training config, with a checkpoint's weights, in eval mode.

    Args:
        config (str | Config): The config ``tools/train.py`` trained it with.
        checkpoint (str, optional): A ``.pth`` of that run or its ``last_checkpoint`` file
            (loaded with ``weights_only=True``; with an EMAHook its ``state_dict`` holds the EMA
            weights). ``None`` keeps the initial weights (tests, benchmarks).
        device: Where the model goes.

    The checkpoint's training record (:mod:`cdmx.utils.training_meta`) is checked against the
    config (same noise schedule) and its image shape kept as ``model.trained_input_shape``
    (``None``: unknown).
    """
    cfg = load_config(config) if isinstance(config, str) else config
    if 'model' not in cfg:
        raise CdmxError(f'config {getattr(cfg, "filename", config)} has no model; pass the '
                        'training config of the UNet or the classifier.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    model = MODELS.build(cfg.model)
    model.trained_input_shape = None
    if checkpoint is not None:
        path = resolve_checkpoint(checkpoint)
        loaded = load_checkpoint(model, path, map_location='cpu', strict=True, logger='silent')
        apply_training_meta(model, loaded.get('meta'), path)
    return model.to(device).eval()


def sample_shape(unet: BaseModel) -> tuple:
    """``(C, H, W)`` of the UNet's samples (its ``in_channels`` and ``sample_size``)."""
    config = unet.unet.config
    size = config.sample_size
    return (config.in_channels, *((size, size) if isinstance(size, int) else tuple(size)))


def check_pair(unet: BaseModel, classifier: BaseModel) -> None:
    """The classifier must read the UNet's ``x_t``: same noise schedule, pixel scaling and (when
    the classifier's checkpoint records it) training image shape as the UNet's samples."""
    if not same_schedule(unet.noise_scheduler, classifier.noise_scheduler):
        raise CdmxError('the classifier was trained on another noise schedule than the UNet; '
                        "give both configs the same noise_scheduler.")
    for key in ('mean', 'std'):
        ours, theirs = (getattr(model.data_preprocessor, key, None) for model in (unet, classifier))
        if ours is None or theirs is None or not torch.allclose(
                *torch.broadcast_tensors(ours.flatten(), theirs.flatten())):
            raise CdmxError(f'the classifier normalises pixels with another {key} than the UNet; '
                            'give both the same data_preprocessor (x - 127.5) / 127.5.')
    trained, wanted = getattr(classifier, 'trained_input_shape', None), sample_shape(unet)
    if trained is not None and tuple(trained) != wanted:
        raise CdmxError(f"the classifier was trained on {'x'.join(map(str, trained))} images but "
                        f"the UNet samples {'x'.join(map(str, wanted))}; train the classifier on "
                        "images of the UNet's channels and size.")


@GENERATORS.register_module()
class ClassifierGuidedSampler:
    """Samples images of named classes from a :class:`~cdmx.models.PixelDiffusion` UNet guided
    by a :class:`~cdmx.models.NoisyClassifier` (see module docstring).

    Args:
        method (str): ``'ddpm'`` (Eq. 19, GDUI) or ``'ddim'``.
        num_inference_steps (int, optional): Reverse steps; ``None`` (DDPM only) runs all ``T``
            trained timesteps (GDUI: 500).
        scale (float): Guidance scale ``s``, finite and ``>= 0``; 0 is unconditional.
        eta (float): DDIM's ``eta`` (``method='ddim'`` only).
        progress (bool): Show a progress bar over the steps.
    """

    def __init__(self, method: str = 'ddpm', num_inference_steps: Optional[int] = None,
                 scale: float = 1.0, eta: float = 0.0, progress: bool = False):
        if method not in METHODS:
            raise CdmxError(f"sampling method {method!r} is unknown; use one of {METHODS}.")
        scale = check_guidance_scale(scale)
        if method == 'ddim' and num_inference_steps is None:
            raise CdmxError("method='ddim' needs num_inference_steps (e.g. 50).")
        self.method = method
        self.num_inference_steps = num_inference_steps
        self.scale = scale
        self.eta = float(eta)
        self.progress = progress

    @staticmethod
    def to_uint8(unet: BaseModel, x0: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` samples in the UNet's range -> ``(B, H, W, C)`` uint8 pixels."""
        pre = unet.data_preprocessor
        pixels = x0 * pre.std.to(x0) + pre.mean.to(x0)
        return pixels.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()

    def __call__(self, unet: BaseModel, classifier: Optional[BaseModel],
                 class_ids: Union[Sequence[int], torch.Tensor],
                 generator: Generator = None) -> torch.Tensor:
        """Sample one image per entry of ``class_ids``.

        Both models are put in eval mode (batch norm must use its running statistics).

        Args:
            unet (PixelDiffusion): The trained diffusion model.
            classifier (NoisyClassifier, optional): The guiding classifier; ``None`` (or
                ``scale = 0``) samples unconditionally and ignores ``class_ids``' values.
            class_ids (sequence of int or Tensor): ``(B,)`` class ids in the classifier's order.
            generator (torch.Generator or list, optional): Source of all noise.

        Returns:
            Tensor: ``(B, H, W, C)`` uint8 images.
        """
        class_ids = torch.as_tensor(class_ids, dtype=torch.long).reshape(-1)
        guided = classifier is not None and self.scale > 0
        unet.eval()
        if guided:
            classifier.eval()
            check_pair(unet, classifier)
            if class_ids.numel() and (class_ids.min() < 0 or
                                      class_ids.max() >= classifier.num_classes):
                raise CdmxError(f'class ids {class_ids.tolist()} are outside the classifier\'s '
                                f'{classifier.num_classes} classes; pass ids '
                                f'0..{classifier.num_classes - 1}.')
        device = next(unet.parameters()).device
        x_T = randn_tensor((class_ids.numel(), *sample_shape(unet)), generator=generator,
                           device=device)
        labels = class_ids.to(device)

        def eps_fn(x, t):
            with torch.no_grad():
                return unet.predict_noise(x, t)

        guidance = ClassifierGuidance(
            eps_fn, lambda x, t: classifier.log_prob(x, t, labels),
            self.scale if guided else 0.0, unet.noise_scheduler.alphas_cumprod)
        if self.method == 'ddpm':
            sampler = DDPMSampler(unet.scheduler_config, self.num_inference_steps)
            x0 = sampler.sample(x_T, eps_fn, guidance.gradient if guided else None,
                                guidance.scale, generator=generator, progress=self.progress)
        else:
            sampler = DDIMSampler(unet.scheduler_config, self.num_inference_steps, eta=self.eta)
            x0 = sampler.sample(x_T, guidance, generator=generator, progress=self.progress)
        return self.to_uint8(unet, x0.detach())
