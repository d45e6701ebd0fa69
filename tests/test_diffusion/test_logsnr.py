"""CosineLogSNRSchedule: end points, alpha/sigma identities, noising and the DDIM step."""
import math

import pytest
import torch

from cdmx.diffusion import CosineLogSNRSchedule
from cdmx.utils.errors import CdmxError


def test_end_points_midpoint_and_monotone():
    schedule = CosineLogSNRSchedule(-20.0, 20.0)
    t = torch.linspace(0, 1, 101)
    logsnr = schedule.logsnr(t)
    assert float(logsnr[0]) == pytest.approx(20.0, abs=1e-4)
    assert float(logsnr[-1]) == pytest.approx(-20.0, abs=1e-4)
    # symmetric range: atan(x) + atan(1/x) = pi/2, so t = 0.5 is the angle pi/4, log-SNR 0
    assert float(logsnr[50]) == pytest.approx(0.0, abs=1e-5)
    assert (logsnr[1:] < logsnr[:-1]).all()


def test_unclipped_cosine_form_inside_the_range():
    schedule = CosineLogSNRSchedule(-20.0, 20.0)
    # with a_min ~ 0 and a_max ~ pi/2 the schedule is -2 log tan(pi t / 2) to within 1e-4
    t = torch.tensor([0.2, 0.4, 0.7])
    expected = -2 * torch.log(torch.tan(math.pi * t / 2))
    assert torch.allclose(schedule.logsnr(t), expected, atol=1e-3)


def test_alpha_sigma_identities():
    logsnr = torch.linspace(-10, 10, 21)
    alpha, sigma = CosineLogSNRSchedule.alpha_sigma(logsnr)
    assert torch.allclose(alpha ** 2 + sigma ** 2, torch.ones(21), atol=1e-6)
    assert torch.allclose(torch.log(alpha ** 2 / sigma ** 2), logsnr, atol=1e-4)


def test_add_noise_per_sample_times():
    schedule = CosineLogSNRSchedule()
    y0 = torch.full((2, 3, 4, 4), 0.1)
    noise = torch.randn(2, 3, 4, 4)
    y_t = schedule.add_noise(y0, torch.tensor([0.0, 1.0]), noise)
    assert torch.allclose(y_t[0], y0[0], atol=1e-3)  # t = 0: clean (sigma = e^-10)
    assert torch.allclose(y_t[1], noise[1], atol=1e-3)  # t = 1: pure noise
    alpha, sigma = schedule.alpha_sigma(schedule.logsnr(torch.tensor([0.3])))
    mid = schedule.add_noise(y0[:1], torch.tensor([0.3]), noise[:1])
    assert torch.allclose(mid, alpha * y0[:1] + sigma * noise[:1])


def test_ddim_step_with_the_true_y0_follows_the_same_noise():
    schedule = CosineLogSNRSchedule()
    y0, noise = torch.randn(2, 2, 3, 3) * 0.1, torch.randn(2, 2, 3, 3)
    t_now, t_next = torch.tensor([0.8, 0.6]), torch.tensor([0.5, 0.0])
    y_t = schedule.add_noise(y0, t_now, noise)
    stepped = schedule.ddim_step(y_t, y0, t_now, t_next)
    assert torch.allclose(stepped, schedule.add_noise(y0, t_next, noise), atol=1e-5)
    assert torch.allclose(stepped[1], y0[1], atol=1e-3)  # t_next = 0 lands on the prediction


def test_time_pairs_with_and_without_time_difference():
    pairs = CosineLogSNRSchedule.time_pairs(3)
    assert sum(pairs, ()) == pytest.approx((1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0))
    shifted = CosineLogSNRSchedule.time_pairs(3, td=0.5)
    assert sum(shifted, ()) == pytest.approx((1, 0.5, 2 / 3, 1 / 6, 1 / 3, 0))
    assert CosineLogSNRSchedule.time_pairs(1) == [(1, 0.0)]


@pytest.mark.parametrize('steps, td', [(0, 0.0), (2.5, 0.0), (True, 0.0), (3, -0.1), (3, 1.0)])
def test_bad_grid(steps, td):
    with pytest.raises(CdmxError, match='steps|td'):
        CosineLogSNRSchedule.time_pairs(steps, td)


def test_bad_range_and_times():
    with pytest.raises(CdmxError, match='empty'):
        CosineLogSNRSchedule(5.0, 5.0)
    with pytest.raises(CdmxError, match=r'\[0, 1\]'):
        CosineLogSNRSchedule().logsnr(torch.tensor([1.5]))
