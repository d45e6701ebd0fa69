"""The parts of a Stable Diffusion pipeline, built small from config dicts.

Each builder passes its dict straight to the library class (``AutoencoderKL``, ``CLIPTextConfig``,
``UNet2DConditionModel``, ``DDIMScheduler``), so a config names the same fields as the
``config.json`` files of Stable Diffusion 2.0's folder.
"""
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from cdmx.utils.errors import CdmxError
from .clip_tokenizer import BOS_TOKEN, EOS_TOKEN


def build_vae(cfg: dict) -> AutoencoderKL:
    """``AutoencoderKL(**cfg)``: ``(B, 3, H, W)`` in ``[-1, 1]`` <-> ``(B, C_z, H/f, W/f)``,
    ``f = 2 ** (len(block_out_channels) - 1)``."""
    return AutoencoderKL(**cfg)


def build_text_encoder(cfg: dict, tokenizer: CLIPTokenizer) -> CLIPTextModel:
    """A ``CLIPTextModel`` whose vocabulary, context length and special ids are the tokenizer's.

    ``cfg`` holds the sizes (``hidden_size``, ``intermediate_size``, ``num_hidden_layers``,
    ``num_attention_heads``, ...); output ``last_hidden_state`` is ``(B, L, hidden_size)``.
    """
    fixed = dict(vocab_size=len(tokenizer), max_position_embeddings=tokenizer.model_max_length,
                 bos_token_id=tokenizer.convert_tokens_to_ids(BOS_TOKEN),
                 eos_token_id=tokenizer.convert_tokens_to_ids(EOS_TOKEN),
                 pad_token_id=tokenizer.pad_token_id)
    clash = sorted(set(cfg) & set(fixed))
    if clash:
        raise CdmxError(f'text_encoder settings {clash} are fixed by the tokenizer; remove them '
                        'from the config.')
    return CLIPTextModel(CLIPTextConfig(**cfg, **fixed))


def build_unet(cfg: dict, vae: AutoencoderKL, text_encoder: CLIPTextModel,
               image_size: int) -> UNet2DConditionModel:
    """A ``UNet2DConditionModel`` sized to the autoencoder's latents and the text width.

    ``ε_θ(x_t, t, c)``: ``(B, C_z, h, w)``, ``(B,)``, ``(B, L, hidden_size)`` ->
    ``(B, C_z, h, w)`` with ``h = w = image_size / f``.
    """
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    fixed = dict(sample_size=image_size // factor, in_channels=vae.config.latent_channels,
                 out_channels=vae.config.latent_channels,
                 cross_attention_dim=text_encoder.config.hidden_size)
    clash = sorted(set(cfg) & set(fixed))
    if clash:
        raise CdmxError(f'unet settings {clash} follow from the autoencoder and text encoder; '
                        'remove them from the config.')
    return UNet2DConditionModel(**cfg, **fixed)


def build_pipeline(vae: AutoencoderKL, text_encoder: CLIPTextModel, tokenizer: CLIPTokenizer,
                   unet: UNet2DConditionModel, scheduler_cfg: dict) -> StableDiffusionPipeline:
    """Assemble a ``StableDiffusionPipeline`` (no safety checker) with a ``DDIMScheduler``."""
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, scheduler=DDIMScheduler(**scheduler_cfg),
                                   safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
