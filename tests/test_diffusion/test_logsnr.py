"""Log-SNR schedules (Algorithm 2's and the clipped cosine), noising, the DDIM step and
Algorithm 3's sampling loop against hand-computed values."""
import math

import pytest
import torch

from cdmx.diffusion import (CosineLogSNRSchedule, LogSNRSchedule, OffsetCosineLogSNRSchedule,
                            build_logsnr_schedule)
from cdmx.diffusion.analog_bits import bits_to_ids, ids_to_bits
from cdmx.utils.errors import CdmxError


def test_algorithm_2_schedule_values():
    # lambda(t) = -log(max(cos((t + 0.0002) / 1.00025 * pi / 2)^-2 - 1, 1e-5)), by hand:
    # t = 0: tan^2(3.14e-4) = 9.9e-8 < 1e-5, clamped: -log(1e-5) = 11.5129254650
    # t = 1/2: angle = 0.5002 / 1.00025 * pi / 2 = 0.78551..., tan^2 = 1.000471 -> -0.0004711211
    # t = 1: angle = pi / 2 - 7.852e-5, tan^2 = 1.6218e8 -> -18.9043096279
    schedule = OffsetCosineLogSNRSchedule()
    logsnr = schedule.logsnr(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    assert logsnr.tolist() == pytest.approx([11.5129254650, -0.0004711211, -18.9043096279],
                                            abs=1e-9)
    # unclamped, sigmoid(lambda) = 1 / (1 + tan^2) = cos^2 of the angle: abar(0.3) = 0.7937337931
    alpha, sigma = schedule.alpha_sigma(schedule.logsnr(torch.tensor([0.3], dtype=torch.float64)))
    assert float(alpha ** 2) == pytest.approx(0.7937337931, abs=1e-9)
    assert float(alpha ** 2 + sigma ** 2) == pytest.approx(1.0, abs=1e-12)
    t = torch.linspace(0.002, 1, 100)
    assert (schedule.logsnr(t)[1:] < schedule.logsnr(t)[:-1]).all()


def test_clipped_cosine_end_points_midpoint_and_monotone():
    schedule = CosineLogSNRSchedule(-20.0, 20.0)
    t = torch.linspace(0, 1, 101)
    logsnr = schedule.logsnr(t)
    assert float(logsnr[0]) == pytest.approx(20.0, abs=1e-4)
    assert float(logsnr[-1]) == pytest.approx(-20.0, abs=1e-4)
    # symmetric range: atan(x) + atan(1/x) = pi/2, so t = 0.5 is the angle pi/4, log-SNR 0
    assert float(logsnr[50]) == pytest.approx(0.0, abs=1e-5)
    assert (logsnr[1:] < logsnr[:-1]).all()
    # with a_min ~ 0 and a_max ~ pi/2 the schedule is -2 log tan(pi t / 2) to within 1e-4
    t = torch.tensor([0.2, 0.4, 0.7])
    assert torch.allclose(schedule.logsnr(t), -2 * torch.log(torch.tan(math.pi * t / 2)),
                          atol=1e-3)


def test_alpha_sigma_identities():
    logsnr = torch.linspace(-10, 10, 21)
    alpha, sigma = LogSNRSchedule.alpha_sigma(logsnr)
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


@pytest.mark.parametrize('schedule', [OffsetCosineLogSNRSchedule(), CosineLogSNRSchedule()])
def test_ddim_step_with_the_true_y0_follows_the_same_noise(schedule):
    y0, noise = torch.randn(2, 2, 3, 3) * 0.1, torch.randn(2, 2, 3, 3)
    t_now, t_next = torch.tensor([0.8, 0.6]), torch.tensor([0.5, 0.0])
    y_t = schedule.add_noise(y0, t_now, noise)
    stepped = schedule.ddim_step(y_t, y0, t_now, t_next)
    assert torch.allclose(stepped, schedule.add_noise(y0, t_next, noise), atol=1e-5)
    assert torch.allclose(stepped[1], y0[1], atol=1e-2)  # t_next = 0 lands on the prediction


def test_time_pairs_of_algorithm_3():
    # t_now = 1 - i / steps, t_next = max(1 - (i + 1 + td) / steps, 0)
    assert sum(LogSNRSchedule.time_pairs(3), ()) == pytest.approx(  # td = 1, the default
        (1, 1 / 3, 2 / 3, 0, 1 / 3, 0))
    assert sum(LogSNRSchedule.time_pairs(3, td=0), ()) == pytest.approx(
        (1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0))
    assert sum(LogSNRSchedule.time_pairs(3, td=0.5), ()) == pytest.approx(
        (1, 0.5, 2 / 3, 1 / 6, 1 / 3, 0))
    assert sum(LogSNRSchedule.time_pairs(2, td=2.5), ()) == pytest.approx((1, 0, 0.5, 0))
    assert LogSNRSchedule.time_pairs(1) == [(1, 0.0)]


# Algorithm 3 by hand: y_T = [0.5, -1.0] (one analog bit, b = 0.1, two pixels); the fake
# denoiser answers [0.03, -0.2] at the first step and [-0.05, 0.07] at the second. Re-encoded
# (thresholded, written as bits again): e = [0.1, -0.1]. On Algorithm 2's schedule
# alpha(1) = 7.852018621e-05, sigma(1) = 0.9999999969, alpha(0) = 0.9999950000,
# sigma(0) = 0.0031622618, alpha(0.5) = 0.7070234930, sigma(0.5) = 0.7071900595, and
# y_1 = alpha(t_next) e + sigma(t_next) (y_T - alpha(1) e) / sigma(1):
#   td = 1: pairs (1, 0), (0.5, 0): y_1 = [0.1015806061, -0.1031617370]
#   td = 0: pairs (1, 0.5), (0.5, 0): y_1 = [0.4242918273, -0.7778868581]
# without the re-encoding (e = the raw [0.03, -0.2]):
#   td = 1: y_1 = [0.0315809735, -0.2031612122]; td = 0: y_1 = [0.3748040698, -0.8485836546]
@pytest.mark.parametrize('td, reencoded, expected', [
    (1, True, [0.1015806061, -0.1031617370]),
    (0, True, [0.4242918273, -0.7778868581]),
    (1, False, [0.0315809735, -0.2031612122]),
    (0, False, [0.3748040698, -0.8485836546]),
])
def test_algorithm_3_two_steps_by_hand(td, reencoded, expected):
    answers = [torch.tensor([0.03, -0.2], dtype=torch.float64).view(1, 1, 1, 2),
               torch.tensor([-0.05, 0.07], dtype=torch.float64).view(1, 1, 1, 2)]
    calls, encoded = [], []

    def denoise(y_t, t_now):
        calls.append((y_t.clone(), t_now.clone()))
        return answers[len(calls) - 1]

    def reencode(pred):
        encoded.append(pred)
        return ids_to_bits(bits_to_ids(pred, 2, 0.1), 2, 0.1).to(pred) if reencoded else pred

    y_T = torch.tensor([0.5, -1.0], dtype=torch.float64).view(1, 1, 1, 2)
    predictions = OffsetCosineLogSNRSchedule().sample(denoise, reencode, y_T, steps=2, td=td)
    assert len(predictions) == 2 and predictions[0] is answers[0] and predictions[1] is answers[1]
    assert [float(t) for _, t in calls] == [1.0, 0.5]  # the times the denoiser is told
    assert torch.equal(calls[0][0], y_T)
    # (1e-8: the re-encoded bits are float32 0.1s)
    assert calls[1][0].flatten().tolist() == pytest.approx(expected, abs=1e-8)
    assert len(encoded) == 1  # the update after the last prediction is not needed


@pytest.mark.parametrize('steps, td', [(0, 1.0), (2.5, 1.0), (True, 1.0), (3, -0.1),
                                       (3, float('nan')), (3, True), (3, '1')])
def test_bad_grid(steps, td):
    with pytest.raises(CdmxError, match='steps|td'):
        LogSNRSchedule.time_pairs(steps, td)


def test_negative_td_is_one_clear_sentence():
    with pytest.raises(CdmxError, match=r'^td is -1; give a time difference >= 0'):
        OffsetCosineLogSNRSchedule().sample(lambda y, t: y, lambda p: p, torch.zeros(1, 1, 2, 2),
                                            steps=3, td=-1)


def test_bad_schedules_and_times():
    with pytest.raises(CdmxError, match='empty'):
        CosineLogSNRSchedule(5.0, 5.0)
    with pytest.raises(CdmxError, match=r'\[0, 1\]'):
        OffsetCosineLogSNRSchedule().logsnr(torch.tensor([1.5]))
    with pytest.raises(CdmxError, match='ns < ds'):
        OffsetCosineLogSNRSchedule(ns=0.001, ds=0.0005)
    with pytest.raises(CdmxError, match='eps > 0'):
        OffsetCosineLogSNRSchedule(eps=0)
    with pytest.raises(CdmxError, match='>= 0'):
        OffsetCosineLogSNRSchedule(ns=-1)


def test_build_logsnr_schedule():
    built = build_logsnr_schedule(dict(type='CosineLogSNRSchedule', logsnr_min=-10.0))
    assert isinstance(built, CosineLogSNRSchedule) and built.logsnr_min == -10.0
    assert isinstance(build_logsnr_schedule(dict(type='OffsetCosineLogSNRSchedule')),
                      OffsetCosineLogSNRSchedule)
    with pytest.raises(CdmxError, match='OffsetCosineLogSNRSchedule'):
        build_logsnr_schedule(dict(type='Linear'))
