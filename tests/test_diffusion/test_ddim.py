"""Forward noising (UCDM Eq. 1) and the reverse DDIM step (Eq. 2) against hand computations."""
import math

import pytest
import torch

from cdmx.diffusion import DDIMSampler, forward_noise
from cdmx.utils.errors import CdmxError

SD_SCHEDULER = dict(_class_name='DDIMScheduler', num_train_timesteps=1000, beta_start=0.00085,
                    beta_end=0.012, beta_schedule='scaled_linear', clip_sample=False,
                    set_alpha_to_one=False, steps_offset=1, prediction_type='epsilon')


def abar(t):
    """``abar_t`` from the betas, independent of diffusers' cumulative product."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64)**2
    return float(torch.prod(1 - betas[:t + 1])) if t >= 0 else float(1 - betas[0])


def test_forward_noise_is_eq1():
    sampler = DDIMSampler(SD_SCHEDULER, num_inference_steps=20)
    x0, noise = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    a = abar(501)
    expected = math.sqrt(a) * x0 + math.sqrt(1 - a) * noise
    assert torch.allclose(forward_noise(sampler.scheduler, x0, noise, 501), expected, atol=1e-5)


def test_grid_and_strength():
    full = DDIMSampler(SD_SCHEDULER, num_inference_steps=20)
    assert full.timesteps.tolist() == list(range(951, 0, -50))
    assert full.start_timestep == 951
    half = DDIMSampler(SD_SCHEDULER, num_inference_steps=20, strength=0.5)
    assert half.timesteps.tolist() == list(range(451, 0, -50))
    for bad in (0, 1.5, -0.1):
        with pytest.raises(CdmxError, match='strength'):
            DDIMSampler(SD_SCHEDULER, strength=bad)
    with pytest.raises(CdmxError, match='eta'):
        DDIMSampler(SD_SCHEDULER, eta=-1)


@pytest.mark.parametrize('eta', [0.0, 0.2, 1.0])
def test_step_is_eq2(eta):
    """x_s = sqrt(abar_s) x0^ + sqrt(1 - abar_s - sigma^2) eps + sigma z on fixed tensors."""
    sampler = DDIMSampler(SD_SCHEDULER, num_inference_steps=20, eta=eta)
    g = torch.Generator().manual_seed(0)
    x_t, eps, z = (torch.randn(2, 4, 3, 3, generator=g) for _ in range(3))
    for t, s in ((501, 451), (1, -49)):  # an inner step and the final step to abar_0
        a_t, a_s = abar(t), abar(s)
        sigma = eta * math.sqrt((1 - a_s) / (1 - a_t)) * math.sqrt(1 - a_t / a_s)
        x0_hat = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        expected = math.sqrt(a_s) * x0_hat + math.sqrt(1 - a_s - sigma**2) * eps + sigma * z
        got = sampler.step(eps, t, x_t, variance_noise=z if eta else None)
        assert torch.allclose(got, expected, atol=1e-5), (t, eta)


def _eps(x, t):
    return 0.1 * x + math.sin(float(t))


def test_eta_zero_is_deterministic_and_eta_positive_follows_the_seed():
    x_t = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(1))
    ddim = DDIMSampler(SD_SCHEDULER, num_inference_steps=10, eta=0.0)
    a = ddim.sample(x_t, _eps, torch.Generator().manual_seed(0))
    b = ddim.sample(x_t, _eps, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    noisy = DDIMSampler(SD_SCHEDULER, num_inference_steps=10, eta=1.0)
    c = noisy.sample(x_t, _eps, torch.Generator().manual_seed(0))
    d = noisy.sample(x_t, _eps, torch.Generator().manual_seed(0))
    e = noisy.sample(x_t, _eps, torch.Generator().manual_seed(1))
    assert torch.equal(c, d)
    assert not torch.allclose(c, e, atol=1e-3)
    assert not torch.allclose(c, a, atol=1e-3)


def test_per_sample_generators_make_samples_independent_of_the_batch():
    x_t = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(1))
    sampler = DDIMSampler(SD_SCHEDULER, num_inference_steps=5, eta=1.0)
    batched = sampler.sample(x_t, _eps, [torch.Generator().manual_seed(i) for i in range(3)])
    for i in range(3):
        single = sampler.sample(x_t[i:i + 1], _eps, [torch.Generator().manual_seed(i)])
        assert torch.allclose(batched[i:i + 1], single, atol=1e-6)
