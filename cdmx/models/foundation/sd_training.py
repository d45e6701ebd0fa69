"""The two training stages of a latent diffusion model (Rombach et al., 2022), small and on CPU.

Stage 1 fits the autoencoder, stage 2 the text-conditioned denoiser and text encoder on the
autoencoder's latents. Each loop draws its batches with one ``torch.Generator``, so a seed fixes
the result on a given machine and library version.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from tqdm import tqdm
from transformers import CLIPTextModel


def _progress(steps: int, batch_size: int, desc: str) -> tqdm:
    """A bar counting images, so that tqdm shows the rate in img/s and the ETA."""
    return tqdm(total=steps * batch_size, desc=desc, unit='img', unit_scale=True,
                dynamic_ncols=True, mininterval=2.0)


def train_autoencoder(vae: AutoencoderKL, images: torch.Tensor, steps: int, batch_size: int,
                      lr: float, kl_weight: float, generator: torch.Generator) -> None:
    """Fit ``vae`` in place to ``images`` ``(N, 3, H, W)`` in ``[0, 1]``.

    With ``x = 2 * image - 1``, ``z ~ q(z | x) = N(mu(x), diag(s(x)^2))`` (reparameterised) and
    ``x^ = D(z)``, each step minimises LDM's autoencoder objective without its perceptual and
    adversarial terms::

        L = mean |x - x^| + kl_weight * KL(q(z | x) || N(0, I)) / (3 H W)

    (LDM sums both terms over pixels and uses ``kl_weight = 1e-6``; dividing both by the pixel
    count keeps that balance.) AdamW, constant learning rate.
    """
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    vae.train()
    pixels = images[0].numel()
    with _progress(steps, batch_size, 'autoencoder') as bar:
        for _ in range(steps):
            idx = torch.randint(len(images), (batch_size, ), generator=generator)
            x = images[idx] * 2 - 1
            posterior = vae.encode(x).latent_dist
            recon = vae.decode(posterior.sample(generator=generator)).sample
            rec_loss = (recon - x).abs().mean()
            loss = rec_loss + kl_weight * posterior.kl().mean() / pixels
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.update(batch_size)
            bar.set_postfix(l1=f'{rec_loss.item():.4f}', refresh=False)
    vae.eval()


@torch.no_grad()
def encode_posteriors(vae: AutoencoderKL, images: torch.Tensor,
                      batch_size: int = 500) -> Tuple[torch.Tensor, torch.Tensor]:
    """Means and standard deviations of ``q(z | x)`` for ``images`` ``(N, 3, H, W)`` in [0, 1].

    Returns:
        tuple: ``(mu, s)``, each ``(N, C_z, H / f, W / f)``.
    """
    means, stds = [], []
    for start in range(0, len(images), batch_size):
        dist = vae.encode(images[start:start + batch_size] * 2 - 1).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    return torch.cat(means), torch.cat(stds)


def latent_scaling_factor(mu: torch.Tensor, std: torch.Tensor,
                          generator: torch.Generator) -> float:
    """``1 / std(z)`` over all sampled latents ``z = mu + s * n``: Stable Diffusion's
    ``scaling_factor`` (0.18215 for its autoencoder), which gives the diffusion unit-variance data.
    """
    z = mu + std * torch.randn(mu.shape, generator=generator)
    return float(1.0 / z.std())


def train_denoiser(unet: UNet2DConditionModel, text_encoder: CLIPTextModel,
                   prompt_ids: torch.Tensor, mu: torch.Tensor, std: torch.Tensor,
                   labels: torch.Tensor, scaling_factor: float, noise_scheduler: DDPMScheduler,
                   steps: int, batch_size: int, lr: float, weight_decay: float,
                   warmup_steps: int, prompt_dropout: float,
                   generator: torch.Generator) -> None:
    """Fit ``unet`` and ``text_encoder`` jointly, in place, with the ε-prediction objective.

    ``prompt_ids`` ``(K + 1, L)`` holds the tokenised prompt of each class and, last, the empty
    prompt. For latents ``z0 = scaling_factor * (mu + s * n)``, ``t ~ U{0..T-1}``,
    ``eps ~ N(0, I)`` and ``x_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps`` (UCDM Eq. 1)::

        L = || eps - eps_theta(x_t, t, tau(c)) ||^2

    where ``c`` is the label's prompt, replaced by the empty prompt with probability
    ``prompt_dropout`` so that the same network also learns ``eps_theta(x_t, t, tau(""))`` for
    classifier-free guidance (Ho & Salimans, 2022). The K + 1 prompts are encoded once per step
    and indexed by label, which gives the same gradients as encoding every sample's prompt.
    AdamW with linear warm-up and cosine decay, gradient norm clipped to 1.
    """
    params = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = get_cosine_schedule_with_warmup(optimizer, warmup_steps, steps)
    empty = len(prompt_ids) - 1
    num_train_timesteps = noise_scheduler.config.num_train_timesteps
    unet.train()
    text_encoder.train()
    with _progress(steps, batch_size, 'denoiser') as bar:
        for _ in range(steps):
            idx = torch.randint(len(mu), (batch_size, ), generator=generator)
            z0 = scaling_factor * (mu[idx] + std[idx] * torch.randn(
                mu[idx].shape, generator=generator))
            eps = torch.randn(z0.shape, generator=generator)
            t = torch.randint(num_train_timesteps, (batch_size, ), generator=generator)
            x_t = noise_scheduler.add_noise(z0, eps, t)
            prompt = labels[idx].clone()
            prompt[torch.rand(batch_size, generator=generator) < prompt_dropout] = empty
            hidden = text_encoder(prompt_ids).last_hidden_state
            loss = F.mse_loss(unet(x_t, t, encoder_hidden_states=hidden[prompt]).sample, eps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            bar.update(batch_size)
            bar.set_postfix(loss=f'{loss.item():.4f}', refresh=False)
    unet.eval()
    text_encoder.eval()
