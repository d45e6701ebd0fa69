"""Classifier-guided sampling checked against an exact model, independent of any training.

Data: a two-class 1-D Gaussian mixture ``x_0 ~ sum_y pi_y N(mu_y, sigma^2)`` with an unequal
prior. Under the DDPM forward process ``x_t | y ~ N(sqrt(abar_t) mu_y, abar_t sigma^2 + 1 -
abar_t)``, so both models of GDUI's guided synthesis are known in closed form:

* the noise prediction of the marginal, ``eps(x_t, t) = -sqrt(1 - abar_t) grad log p_t(x_t)``
  (what a perfectly trained UNet predicts), and
* the noisy classifier ``p(y | x_t, t) = pi_y N(x_t; m_y, v_y) / sum_c pi_c N(x_t; m_c, v_c)``.

With them, guidance at scale ``s = 1`` samples ``p(x_0 | y)`` (``grad log p_t(x) + grad log
p_t(y | x) = grad log p_t(x | y)``), so the fraction of guided samples that the Bayes rule with
the prior assigns to ``y`` must be the analytic ``P(Bayes(x) = y | x ~ N(mu_y, sigma^2))``
(0.923 and 0.718 here). The tests run :class:`~cdmx.generators.ClassifierGuidedSampler` end to
end (uint8 output included) and allow 4 standard errors of 4,000 samples per class.

Discretisation (measured with 20,000 samples per class, minority class y = 1, analytic 0.718):
Eq. 19's mean shift ``s Sigma_t g`` is a first-order approximation whose bias shrinks with the
step size: rate 0.616 on the 100-step grid of the mini sampling config, 0.693 on all 500 steps
of the mini schedule, 0.709 with the same beta curve on 2,000 steps. DDIM's ``eps`` form is
0.715 on all 500 steps (0.722 on 100). The DDPM test therefore runs the mini schedule's linear
beta curve on 2,000 timesteps, where the bias (0.009) is well inside the tolerance (0.028).
Wrong guidance is far outside it: s = 0.8 or 1.25 miss the minority rate by 11 to 14 standard
errors in both tests, a flipped sign or a missing ``sqrt(1 - abar_t)`` by more than 18.
"""
import math
import os

import pytest
import torch
from mmengine.config import Config

from cdmx.generators import ClassifierGuidedSampler
from cdmx.registry import MODELS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The noise schedule of GDUI's mini world (T = 500, linear betas), as the UNet config sets it.
MINI_SCHEDULE = dict(Config.fromfile(
    os.path.join(REPO_ROOT, 'configs', 'gdui', 'unet_fashion-mnist-mini.py')).noise_scheduler)
MEANS, SIGMA, PRIOR = (-0.25, 0.25), 0.25, (0.7, 0.3)
NUM_PER_CLASS = 4000


def refined(schedule: dict, factor: int) -> dict:
    """The same linear beta curve over ``factor`` times as many timesteps (abar_t of the same
    fraction t / T nearly unchanged), so that every reverse step is ``factor`` times smaller."""
    assert schedule['beta_schedule'] == 'linear'
    return dict(schedule, num_train_timesteps=schedule['num_train_timesteps'] * factor,
                beta_start=schedule['beta_start'] / factor, beta_end=schedule['beta_end'] / factor)


class GaussianMixture:
    """The exact ``eps`` and ``log p(y | x_t, t)`` of the mixture under a DDPM schedule."""

    def __init__(self, alphas_cumprod: torch.Tensor):
        self.abar = alphas_cumprod.double()
        self.means = torch.tensor(MEANS, dtype=torch.float64)
        self.log_prior = torch.tensor(PRIOR, dtype=torch.float64).log()

    def log_joint(self, x: torch.Tensor, t) -> tuple:
        """``(B, 1, 1, 1)`` ``x_t`` -> ``(B, 2)`` ``log pi_y N(x_t; m_y, v_y)``, ``m``, ``v``."""
        abar = self.abar[int(t)]
        m, v = abar.sqrt() * self.means, abar * SIGMA**2 + 1 - abar
        x = x.double().reshape(-1, 1)
        return self.log_prior - (x - m)**2 / (2 * v) - 0.5 * torch.log(2 * math.pi * v), m, v

    def eps(self, x: torch.Tensor, t) -> torch.Tensor:
        log_joint, m, v = self.log_joint(x, t)
        score = (log_joint.softmax(dim=1) * (m - x.double().reshape(-1, 1)) / v).sum(dim=1)
        return (-(1 - self.abar[int(t)]).sqrt() * score).to(x.dtype).reshape(x.shape)

    def log_posterior(self, x: torch.Tensor, t, labels: torch.Tensor) -> torch.Tensor:
        log_post = self.log_joint(x, t)[0].log_softmax(dim=1)
        return log_post.gather(1, labels.view(-1, 1)).squeeze(1).to(x.dtype)


#: The Bayes rule with the prior at t = 0 assigns class 1 above this point.
THRESHOLD = SIGMA**2 * math.log(PRIOR[0] / PRIOR[1]) / (MEANS[1] - MEANS[0])


def normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def posterior_rate(y: int) -> float:
    """``P(Bayes(x) = y)`` for ``x ~ N(mu_y, sigma^2)``: where guided samples of ``y`` land."""
    below = normal_cdf((THRESHOLD - MEANS[y]) / SIGMA)
    return below if y == 0 else 1 - below


class MixtureClassifier(torch.nn.Module):
    """The exact noisy classifier, with the attributes the sampler checks."""

    num_classes = 2

    def __init__(self, unet, mixture: GaussianMixture):
        super().__init__()
        self.noise_scheduler = unet.noise_scheduler
        self.data_preprocessor = unet.data_preprocessor
        self.mixture = mixture

    def log_prob(self, x, t, labels):
        return self.mixture.log_posterior(x, t, labels)


def exact_models(schedule: dict) -> tuple:
    """A ``PixelDiffusion`` of 1x1 grey images whose noise prediction is the mixture's exact
    ``eps``, and the exact classifier."""
    unet = MODELS.build(dict(
        type='PixelDiffusion', noise_scheduler=schedule,
        unet=dict(sample_size=1, in_channels=1, out_channels=1, block_out_channels=(4, ),
                  layers_per_block=1, down_block_types=('DownBlock2D', ),
                  up_block_types=('UpBlock2D', ), norm_num_groups=4, add_attention=False)))
    mixture = GaussianMixture(unet.noise_scheduler.alphas_cumprod)
    unet.predict_noise = mixture.eps
    return unet.eval(), MixtureClassifier(unet, mixture)


def sample_x0(sampler: ClassifierGuidedSampler, schedule: dict) -> dict:
    """``NUM_PER_CLASS`` samples guided to each class, back in the UNet's range: ``{y: (N,)}``."""
    unet, classifier = exact_models(schedule)
    labels = [0] * NUM_PER_CLASS + [1] * NUM_PER_CLASS
    images = sampler(unet, classifier, labels, generator=torch.Generator().manual_seed(0))
    x0 = (images.double().reshape(-1) - 127.5) / 127.5
    return {0: x0[:NUM_PER_CLASS], 1: x0[NUM_PER_CLASS:]}


def assert_posterior_rates(samples: dict) -> None:
    for y, x0 in samples.items():
        rate, expected = float(((x0 > THRESHOLD) == bool(y)).double().mean()), posterior_rate(y)
        error = math.sqrt(expected * (1 - expected) / len(x0))
        assert abs(rate - expected) < 4 * error, (y, rate, expected, error)
        assert abs(float(x0.mean()) - MEANS[y]) < 4 * SIGMA / math.sqrt(len(x0)), (y, x0.mean())


def test_the_analytic_rates():
    assert THRESHOLD == pytest.approx(0.0625 * math.log(7 / 3) / 0.5)
    assert posterior_rate(0) == pytest.approx(0.92273, abs=1e-5)
    assert posterior_rate(1) == pytest.approx(0.71781, abs=1e-5)


def test_unguided_sampling_reproduces_the_mixture():
    """Scale 0: the exact eps alone gives the mixture, each component at its prior (checks the
    stand-in and the sampler before the guidance is judged)."""
    x0 = torch.cat(list(sample_x0(ClassifierGuidedSampler('ddpm', scale=0.0),
                                  MINI_SCHEDULE).values()))
    expected = sum(PRIOR[y] * (posterior_rate(y) if y else 1 - posterior_rate(y))
                   for y in (0, 1))  # P(x > threshold) under the mixture
    rate = float((x0 > THRESHOLD).double().mean())
    assert abs(rate - expected) < 4 * math.sqrt(expected * (1 - expected) / len(x0))


def test_ddim_guidance_lands_at_the_posterior_rate():
    """``eps^ = eps - sqrt(1 - abar_t) grad log p(y | x_t, t)`` (ClassifierGuidance) at s = 1, on
    all 500 steps of the mini schedule."""
    sampler = ClassifierGuidedSampler('ddim', num_inference_steps=500, scale=1.0, eta=0.0)
    assert_posterior_rates(sample_x0(sampler, MINI_SCHEDULE))


def test_ddpm_eq19_guidance_lands_at_the_posterior_rate():
    """GDUI Eq. 19, ``x_{t-1} ~ N(mu + s Sigma grad log p(y | x_t, t), Sigma)``, at s = 1 on the
    mini schedule's beta curve over 2,000 timesteps (module docstring)."""
    sampler = ClassifierGuidedSampler('ddpm', scale=1.0)
    assert_posterior_rates(sample_x0(sampler, refined(MINI_SCHEDULE, 4)))
