"""The mini Stable Diffusion: a latent text-to-image model small enough to pretrain on 2 CPU cores.

It is Stable Diffusion 2.0's recipe (Rombach et al., 2022) at Fashion-MNIST scale: an
``AutoencoderKL`` maps ``(3, 32, 32)`` images to ``(4, 8, 8)`` latents, a ``CLIPTextModel`` with
CLIP's real BPE tokenizer encodes ``"A photo of a [CLASS]."``, and a ``UNet2DConditionModel``
predicts the noise. The result is a ``StableDiffusionPipeline`` folder (``model_index.json``,
``vae/``, ``text_encoder/``, ``tokenizer/``, ``unet/``, ``scheduler/`` with a ``DDIMScheduler``
config) that loads with ``StableDiffusionPipeline.from_pretrained(path)`` like SD 2.0's.
"""
import os
import tempfile

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler
from mmengine.logging import print_log

from cdmx.generators.prompts import check_prompt_template, format_prompts
from cdmx.registry import RECIPES
from .cache import is_complete, publish
from .clip_tokenizer import save_clip_tokenizer
from .data import load_image_tensors
from .sd_components import build_pipeline, build_text_encoder, build_unet, build_vae
from .sd_training import (encode_posteriors, latent_scaling_factor, train_autoencoder,
                          train_denoiser)


def noise_scheduler(scheduler_cfg: dict) -> DDPMScheduler:
    """The training-time forward process of the ``DDIMScheduler`` settings (same betas)."""
    return DDPMScheduler.from_config(DDIMScheduler(**scheduler_cfg).config)


@RECIPES.register_module()
class MiniStableDiffusion:
    """Pretrain a small Stable Diffusion on a labelled image dataset (stage 1: autoencoder,
    stage 2: denoiser and text encoder jointly) and save it as a pipeline folder.

    Args:
        name (str): Folder name under the work dir.
        data (dict): ``DATASETS`` config of the training images, e.g. the Fashion-MNIST
            external pool.
        image_size (int): Images are centred on a black square of this side (28 -> 32).
        prompt_template (str): Caption of an image, ``'{}'`` standing for its class name.
        tokenizer (dict): ``model_max_length`` of the CLIP tokenizer.
        autoencoder (dict): ``AutoencoderKL`` arguments.
        text_encoder (dict): ``CLIPTextConfig`` sizes.
        unet (dict): ``UNet2DConditionModel`` arguments (sizes and block types).
        scheduler (dict): Noise schedule (``DDIMScheduler`` arguments), used to train and saved.
        autoencoder_train (dict): ``steps``, ``batch_size``, ``lr``, ``kl_weight``.
        denoiser_train (dict): ``steps``, ``batch_size``, ``lr``, ``weight_decay``,
            ``warmup_steps``, ``prompt_dropout``.
        seed (int): Seeds model initialisation and every random draw.
    """

    def __init__(self, name: str, data: dict, image_size: int, prompt_template: str,
                 tokenizer: dict, autoencoder: dict, text_encoder: dict, unet: dict,
                 scheduler: dict, autoencoder_train: dict, denoiser_train: dict, seed: int = 0):
        check_prompt_template(prompt_template)
        self.name = name
        self.settings = dict(name=name, data=data, image_size=image_size,
                             prompt_template=prompt_template, tokenizer=tokenizer,
                             autoencoder=autoencoder, text_encoder=text_encoder, unet=unet,
                             scheduler=scheduler, autoencoder_train=autoencoder_train,
                             denoiser_train=denoiser_train, seed=seed)

    def output_path(self, work_dir: str) -> str:
        """The pipeline folder this recipe makes: ``<work_dir>/<name>``."""
        return os.path.join(work_dir, self.name)

    def run(self, work_dir: str) -> str:
        """Make the pipeline folder, or reuse it when a run with the same settings completed."""
        out = self.output_path(work_dir)
        if is_complete(out, self.settings):
            print_log(f'mini Stable Diffusion: reusing {out}', logger='current')
            return out
        s = self.settings
        images, labels, classes = load_image_tensors(s['data'], s['image_size'])
        vae = self._autoencoder(work_dir, images)
        mu, std = encode_posteriors(vae, images)
        torch.manual_seed(s['seed'] + 1)
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = save_clip_tokenizer(tmp, **s['tokenizer'])
        text_encoder = build_text_encoder(s['text_encoder'], tokenizer)
        unet = build_unet(s['unet'], vae, text_encoder, s['image_size'])
        prompts = format_prompts(s['prompt_template'], classes) + ['']
        prompt_ids = tokenizer(prompts, padding='max_length', truncation=True,
                               max_length=tokenizer.model_max_length,
                               return_tensors='pt').input_ids
        generator = torch.Generator().manual_seed(s['seed'] + 1)
        train_denoiser(unet, text_encoder, prompt_ids, mu, std, labels,
                       vae.config.scaling_factor, noise_scheduler(s['scheduler']),
                       generator=generator, **s['denoiser_train'])
        pipe = build_pipeline(vae, text_encoder, tokenizer, unet, s['scheduler'])
        return publish(out, self.settings, pipe.save_pretrained)

    def _autoencoder(self, work_dir: str, images: torch.Tensor) -> AutoencoderKL:
        """Stage 1, cached on its own in ``<work_dir>/<name>_autoencoder`` so that a change of
        the denoiser settings does not retrain it. Its config carries the fitted
        ``scaling_factor``."""
        s = self.settings
        settings = {k: s[k] for k in ('data', 'image_size', 'autoencoder', 'autoencoder_train',
                                      'seed')}
        folder = os.path.join(work_dir, f'{self.name}_autoencoder')
        if not is_complete(folder, settings):
            torch.manual_seed(s['seed'])
            vae = build_vae(s['autoencoder'])
            generator = torch.Generator().manual_seed(s['seed'])
            train_autoencoder(vae, images, generator=generator, **s['autoencoder_train'])
            mu, std = encode_posteriors(vae, images)
            vae.register_to_config(scaling_factor=latent_scaling_factor(mu, std, generator))
            publish(folder, settings, vae.save_pretrained)
        else:
            print_log(f'mini Stable Diffusion: reusing the autoencoder in {folder}',
                      logger='current')
        return AutoencoderKL.from_pretrained(folder).eval()
