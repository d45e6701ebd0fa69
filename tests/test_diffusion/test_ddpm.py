"""Ancestral DDPM sampling with the classifier-guidance mean shift (GDUI Eq. 19)."""
import pytest
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from cdmx.diffusion import ClassifierGuidance, DDPMSampler
from cdmx.utils.errors import CdmxError

SCHEDULER = dict(num_train_timesteps=50, beta_schedule='linear', beta_start=0.002,
                 beta_end=0.4, variance_type='fixed_small', clip_sample=False,
                 prediction_type='epsilon')


def gaussian_eps(sampler: DDPMSampler):
    """The exact noise prediction for data x_0 ~ N(0, I): E[eps | x_t] = sqrt(1 - abar_t) x_t."""
    abar = sampler.scheduler.alphas_cumprod

    def eps(x, t):
        return (1 - abar[int(t)]).sqrt() * x
    return eps


def sum_classifier(weight: float):
    """log p(y | x_t): class 1 if the pixel sum is large, p(y=1 | x) = sigmoid(weight * sum x)."""

    def log_prob(x, t, labels):
        logit = weight * x.flatten(1).sum(dim=1)
        return torch.where(labels == 1, F.logsigmoid(logit), F.logsigmoid(-logit))
    return log_prob


@pytest.mark.parametrize('variance_type', ['fixed_small', 'fixed_large'])
@pytest.mark.parametrize('steps', [None, 10])
def test_variance_is_the_schedulers(variance_type, steps):
    config = dict(SCHEDULER, variance_type=variance_type)
    sampler = DDPMSampler(config, steps)
    reference = DDPMScheduler(**config)
    reference.set_timesteps(sampler.num_inference_steps)
    for t in sampler.timesteps[:-1]:  # diffusers adds no noise on the last step (Sigma = 0)
        assert sampler.variance(t) == pytest.approx(float(reference._get_variance(int(t))),
                                                     rel=1e-5)
    assert float(sampler.variance(sampler.timesteps[-1])) == 0.0
    assert len(sampler.timesteps) == (50 if steps is None else 10)


def test_step_shifts_the_mean_by_scale_sigma_grad():
    sampler = DDPMSampler(SCHEDULER, 10)
    x, eps, grad = (torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(i))
                    for i in range(3))
    t = sampler.timesteps[3]
    plain = sampler.step(eps, t, x, generator=torch.Generator().manual_seed(7))
    shifted = sampler.step(eps, t, x, generator=torch.Generator().manual_seed(7), grad=grad,
                           scale=2.5)
    assert torch.allclose(shifted - plain, 2.5 * sampler.variance(t) * grad, atol=1e-6)
    assert torch.equal(sampler.step(eps, t, x, torch.Generator().manual_seed(7), grad, 0.0),
                       plain)


def test_unguided_sampling_of_gaussian_data_is_standard_normal():
    # Ho et al. (2020, §3.2): Sigma_t = beta_t is the optimal reverse variance for
    # x_0 ~ N(0, I), so with the exact noise prediction the samples are N(0, I); the posterior
    # variance beta~_t (fixed_small) is the lower bound and gives narrower samples.
    x_T = torch.randn(4000, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    stds = {}
    for variance_type in ('fixed_large', 'fixed_small'):
        sampler = DDPMSampler(dict(SCHEDULER, variance_type=variance_type))
        x0 = sampler.sample(x_T, gaussian_eps(sampler),
                            generator=torch.Generator().manual_seed(1))
        assert x0.mean().abs() < 0.03
        stds[variance_type] = float(x0.std())
    assert stds['fixed_large'] == pytest.approx(1.0, abs=0.03)
    assert 0.85 < stds['fixed_small'] < stds['fixed_large'] - 0.03


def test_guidance_moves_samples_towards_the_class():
    sampler = DDPMSampler(SCHEDULER)
    eps_fn = gaussian_eps(sampler)
    x_T = torch.randn(1000, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    sums = {}
    for label in (0, 1):
        for scale in (0.0, 1.0, 4.0):
            labels = torch.full((1000, ), label)
            classifier = sum_classifier(1.0)
            guidance = ClassifierGuidance(eps_fn, lambda x, t: classifier(x, t, labels), scale,
                                          sampler.scheduler.alphas_cumprod)
            x0 = sampler.sample(x_T, eps_fn, guidance.gradient, scale,
                                generator=torch.Generator().manual_seed(1))
            sums[label, scale] = float(x0.flatten(1).sum(dim=1).mean())
    # Unguided: the pixel sum of N(0, I_4) has mean 0 (standard error 2 / sqrt(1000)).
    assert abs(sums[0, 0.0]) < 0.2 and sums[0, 0.0] == sums[1, 0.0]
    # Guided: towards large sums for class 1, small for class 0, more with a larger scale.
    assert sums[1, 4.0] > sums[1, 1.0] > 0.5
    assert sums[0, 4.0] < sums[0, 1.0] < -0.5


def test_bad_settings_are_refused():
    with pytest.raises(CdmxError, match='epsilon'):
        DDPMSampler(dict(SCHEDULER, prediction_type='v_prediction'))
    with pytest.raises(CdmxError, match='variance_type'):
        DDPMSampler(dict(SCHEDULER, variance_type='learned_range'))
    with pytest.raises(CdmxError, match='num_inference_steps'):
        DDPMSampler(SCHEDULER, 51)
    sampler = DDPMSampler(SCHEDULER, 5)
    with pytest.raises(CdmxError, match='grad_fn'):
        sampler.sample(torch.zeros(1, 1, 2, 2), gaussian_eps(sampler), scale=1.0)
    with pytest.raises(CdmxError, match='scale'):
        sampler.sample(torch.zeros(1, 1, 2, 2), gaussian_eps(sampler), scale=-1.0)
