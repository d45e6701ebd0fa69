"""Classifier-free guidance (UCDM Eq. 2) and classifier guidance."""
import pytest
import torch

from cdmx.diffusion import ClassifierGuidance, DDIMSampler, UNetNoisePredictor
from cdmx.utils.errors import CdmxError
from test_ddim import SD_SCHEDULER
from test_inversion import tiny_unet


@pytest.fixture(scope='module')
def unet_and_inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8, 8, generator=g)
    cond = {'encoder_hidden_states': torch.randn(3, 5, 16, generator=g)}
    uncond = {'encoder_hidden_states': torch.randn(1, 5, 16, generator=g).expand(3, -1, -1)}
    return tiny_unet(), x, cond, uncond


@torch.no_grad()
def test_guidance_scale_interpolates_between_unconditional_and_conditional(unet_and_inputs):
    unet, x, cond, uncond = unet_and_inputs
    eps_c = unet(x, 401, **cond).sample
    eps_u = unet(x, 401, **uncond).sample
    assert not torch.allclose(eps_c, eps_u, atol=1e-4)
    for gamma, expected in ((1.0, eps_c), (0.0, eps_u), (7.5, eps_u + 7.5 * (eps_c - eps_u))):
        got = UNetNoisePredictor(unet, cond, uncond, guidance_scale=gamma)(x, 401)
        assert torch.allclose(got, expected, atol=1e-5), gamma


@torch.no_grad()
def test_guidance_scale_changes_the_sample(unet_and_inputs):
    unet, x, cond, uncond = unet_and_inputs
    sampler = DDIMSampler(SD_SCHEDULER, num_inference_steps=4, eta=0.0)
    samples = [sampler.sample(x, UNetNoisePredictor(unet, cond, uncond, gamma)) for gamma in
               (0.0, 1.0, 7.5)]
    assert not torch.allclose(samples[0], samples[1], atol=1e-4)
    assert not torch.allclose(samples[1], samples[2], atol=1e-4)


def test_predictor_input_checks(unet_and_inputs):
    unet, x, cond, uncond = unet_and_inputs
    with pytest.raises(CdmxError, match='unconditional embedding'):
        UNetNoisePredictor(unet, cond, guidance_scale=7.5)
    with pytest.raises(CdmxError, match='batch'):
        UNetNoisePredictor(unet, cond)(x[:2], 1)
    with pytest.raises(CdmxError, match='keys'):
        UNetNoisePredictor(unet, cond, {'class_labels': torch.zeros(3)}, guidance_scale=2.0)


def test_classifier_guidance_shifts_eps_by_the_scaled_gradient():
    """log p(y | x) = -|x - m|^2 / 2 has gradient m - x, so
    eps^ = eps - s sqrt(1 - abar_t) (m - x)."""
    alphas_cumprod = DDIMSampler(SD_SCHEDULER).scheduler.alphas_cumprod
    g = torch.Generator().manual_seed(0)
    x, m, eps = (torch.randn(2, 4, 3, 3, generator=g) for _ in range(3))

    def log_prob(x_t, t):
        return -((x_t - m)**2).flatten(1).sum(1) / 2

    guided = ClassifierGuidance(lambda x_t, t: eps, log_prob, 2.0, alphas_cumprod)
    expected = eps - 2.0 * (1 - alphas_cumprod[301]).sqrt() * (m - x)
    assert torch.allclose(guided(x, 301), expected, atol=1e-5)
    assert torch.equal(ClassifierGuidance(lambda x_t, t: eps, log_prob, 0.0,
                                          alphas_cumprod)(x, 301), eps)
    with torch.no_grad():  # the gradient is taken even inside a no_grad sampling loop
        assert torch.allclose(guided(x, 301), expected, atol=1e-5)
    for scale in (-1.0, float('nan'), float('inf'), float('-inf')):
        with pytest.raises(CdmxError, match='finite number >= 0'):
            ClassifierGuidance(lambda x_t, t: eps, log_prob, scale, alphas_cumprod)
    bad = ClassifierGuidance(lambda x_t, t: eps, lambda x_t, t: x_t.sum(), 1.0, alphas_cumprod)
    with pytest.raises(CdmxError, match='log-probability per sample'):
        bad(x, 301)
