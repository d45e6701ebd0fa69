"""DDIM inversion (UCDM Eq. 6): the step, the alignment with the reverse grid, the round trip."""
import math

import pytest
import torch
from diffusers import UNet2DConditionModel, UNet2DModel

from cdmx.diffusion import DDIMInversion, DDIMSampler, UNetNoisePredictor, inversion_gap
from cdmx.utils.errors import CdmxError
from test_ddim import SD_SCHEDULER, abar


def x_free_eps(x, t):
    """A noise prediction that depends on t only: DDIM inversion is then exact."""
    g = torch.Generator().manual_seed(int(t))
    return torch.randn(x.shape[1:], generator=g).expand_as(x)


def round_trip(config, x0, eps_fn, steps, strength=1.0):
    inversion = DDIMInversion(config, steps, strength)
    sampler = DDIMSampler(config, steps, eta=0.0, strength=strength)
    x_t = inversion.invert(x0, eps_fn)
    return sampler.sample(x_t, eps_fn), inversion, sampler


def test_inversion_step_is_eq6():
    inversion = DDIMInversion(SD_SCHEDULER, 20)
    g = torch.Generator().manual_seed(0)
    x_s, eps = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g)
    for s, t in ((451, 501), (-49, 1)):  # an inner step and the first one, from abar_0
        a_s, a_t = abar(s), abar(t)
        x0_hat = (x_s - math.sqrt(1 - a_s) * eps) / math.sqrt(a_s)
        expected = math.sqrt(a_t) * x0_hat + math.sqrt(1 - a_t) * eps
        assert torch.allclose(inversion.step(eps, t, x_s), expected, atol=1e-5)


@pytest.mark.parametrize('spacing,strength', [('leading', 1.0), ('trailing', 1.0),
                                              ('leading', 0.4)])
def test_inversion_mirrors_the_reverse_grid_exactly(spacing, strength):
    config = dict(SD_SCHEDULER, timestep_spacing=spacing)
    x0 = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    recon, inversion, sampler = round_trip(config, x0, x_free_eps, 10, strength)
    assert inversion.timesteps.flip(0).tolist() == sampler.timesteps.tolist()
    assert inversion.end_timestep == sampler.start_timestep
    assert torch.allclose(recon, x0, atol=1e-4), (recon - x0).abs().max()


def test_misaligned_reverse_does_not_reconstruct():
    """The exactness above is a property of the alignment: a shifted grid breaks it."""
    x0 = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    x_t = DDIMInversion(SD_SCHEDULER, 10).invert(x0, x_free_eps)
    shifted = DDIMSampler(dict(SD_SCHEDULER, steps_offset=0), 10)
    assert (shifted.sample(x_t, x_free_eps) - x0).abs().max() > 1e-2


def test_spacing_without_inverse_grid_is_refused():
    with pytest.raises(CdmxError, match='timestep_spacing'):
        DDIMInversion(dict(SD_SCHEDULER, timestep_spacing='linspace'), 10)


def tiny_unet(seed=0):
    torch.manual_seed(seed)
    return UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                layers_per_block=1, block_out_channels=(16, 32),
                                down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
                                up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
                                cross_attention_dim=16, attention_head_dim=4,
                                norm_num_groups=8).eval()


def gaussian_eps(alphas_cumprod, mu, std):
    """The exact noise prediction E[eps | x_t] for data x_0 ~ N(mu, std^2 I):
    ``sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar std^2 + 1 - abar)``."""

    def eps(x, t):
        a = alphas_cumprod[int(t)]
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * std**2 + 1 - a)

    return eps


def relative_error(recon, x0):
    return float((recon - x0).norm() / x0.norm())


def test_round_trip_with_the_exact_denoiser_of_gaussian_data_converges():
    """eta = 0 with the ideal predictor of N(0.5, 0.8^2) data: the only error left is DDIM
    inversion's first-order one (10 steps: ~9e-2, 50 steps: ~2e-2 relative)."""
    alphas_cumprod = DDIMSampler(SD_SCHEDULER).scheduler.alphas_cumprod
    eps_fn = gaussian_eps(alphas_cumprod, 0.5, 0.8)
    x0 = 0.5 + 0.8 * torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    errors = {n: relative_error(round_trip(SD_SCHEDULER, x0, eps_fn, n)[0], x0) for n in (10, 50)}
    assert errors[50] < 0.03, errors
    assert errors[50] < errors[10] / 3, errors


@torch.no_grad()
def test_unconditional_round_trip_with_a_random_unet_converges():
    """eta = 0: unconditional inversion then unconditional reverse with a random UNet.

    An untrained UNet's prediction is not the noise of its input, so the substitution in each
    inversion step is poor (20 steps: ~0.6, 100 steps: ~0.2 relative error on this one); the
    error still falls like 1 / steps, as a correct first-order inversion's must.
    """
    unet = tiny_unet()
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    eps_fn = UNetNoisePredictor(unet, cond={'encoder_hidden_states': torch.zeros(2, 3, 16)})
    errors = {n: relative_error(round_trip(SD_SCHEDULER, x0, eps_fn, n)[0], x0) for n in (20, 100)}
    assert errors[100] < errors[20] / 2, errors


@torch.no_grad()
def test_pixel_space_unet_round_trip():
    """The same sampler and inversion drive a pixel-space UNet2DModel (DiffMatch, GDUI).

    Half the grid (strength 0.5) of DDPM's linear schedule: over the full grid an untrained
    UNet's error is amplified by 1 / sqrt(abar_999) ~ 160 and does not converge in 100 steps.
    """
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=(8, 16), norm_num_groups=8,
                       down_block_types=('DownBlock2D', 'DownBlock2D'),
                       up_block_types=('UpBlock2D', 'UpBlock2D')).eval()
    config = dict(SD_SCHEDULER, beta_schedule='linear', beta_start=1e-4, beta_end=0.02)
    x0 = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    eps_fn = UNetNoisePredictor(unet)
    errors = {n: relative_error(round_trip(config, x0, eps_fn, n, strength=0.5)[0], x0)
              for n in (20, 100)}
    assert errors[100] < errors[20] / 2, errors


@torch.no_grad()
def test_inversion_gap_is_zero_for_x_free_predictions_and_positive_otherwise():
    inversion = DDIMInversion(SD_SCHEDULER, 10)
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    timesteps, gaps = inversion_gap(inversion, x_free_eps, x0)
    assert timesteps == inversion.timesteps.tolist()
    assert gaps.shape == (10, 2)
    assert gaps.abs().max() < 1e-5
    eps_fn = UNetNoisePredictor(tiny_unet(), cond={'encoder_hidden_states': torch.zeros(2, 3, 16)})
    gaps = inversion_gap(inversion, eps_fn, x0)[1]
    assert (gaps > 0).all() and (gaps < 1).all()
