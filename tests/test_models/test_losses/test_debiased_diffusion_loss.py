"""DebiasedDiffusionLoss: Eqs. 4-6 and 9-11, the prior choice, ignored pixels, bad input."""
import pytest
import torch

from cdmx.models.losses import DebiasedDiffusionLoss
from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError


def one_pixel(pred: float, target: float, label: int, t: float):
    return (torch.tensor([[[[pred]]]], requires_grad=True), torch.tensor([[[[target]]]]),
            torch.tensor([t]), torch.tensor([[[label]]]))


def test_hand_computed_value():
    # C = 2, p = (0.25, 0.75), class 0: L_diff = (0.2 - 0.1)^2 = 0.01; debiased 0.2 / (2 * 0.25)
    # = 0.4, L_adj = tau * t * (0.2 - 0.4)^2 = 0.1 * 0.5 * 0.04 = 0.002
    pred, target, t, labels = one_pixel(0.2, 0.1, 0, 0.5)
    losses = DebiasedDiffusionLoss(tau=0.1)(pred, target, t, labels, torch.tensor([0.25, 0.75]))
    assert float(losses['loss_diffusion']) == pytest.approx(0.01)
    assert float(losses['loss_adjust']) == pytest.approx(0.002)


def test_uniform_prior_makes_the_adjustment_vanish():
    pred, target = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    labels = torch.randint(0, 5, (2, 4, 4))
    losses = DebiasedDiffusionLoss()(pred, target, torch.rand(2), labels, torch.full((5, ), 0.2))
    assert float(losses['loss_adjust']) == pytest.approx(0.0, abs=1e-10)
    assert float(losses['loss_diffusion']) == pytest.approx(float(((pred - target) ** 2).mean()))


def test_rare_classes_weigh_more_and_get_enlarged():
    prior = torch.tensor([0.05, 0.15, 0.8])  # C = 3: class 0 rarer than 1/(2C), class 2 frequent
    loss = DebiasedDiffusionLoss(tau=0.1)
    adjust, grads = {}, {}
    for cls in range(3):
        pred, target, t, labels = one_pixel(0.1, 0.1, cls, 1.0)
        value = loss(pred, target, t, labels, prior)['loss_adjust']
        value.backward()
        adjust[cls], grads[cls] = float(value), float(pred.grad)
    assert adjust[0] > adjust[2] > 0 and adjust[0] > adjust[1]
    # the debiased prediction is a target: gradient descent enlarges a rare class's prediction
    # (negative gradient for a positive prediction) and shrinks a frequent one's
    assert grads[0] < 0 < grads[2]


def test_time_weighting_and_tau_zero():
    pred, target, _, labels = one_pixel(0.3, 0.1, 0, 0.0)
    prior = torch.tensor([0.1, 0.9])
    loss = DebiasedDiffusionLoss(tau=0.1)
    at = {t: float(loss(pred, target, torch.tensor([t]), labels, prior)['loss_adjust'])
          for t in (0.0, 0.25, 0.5)}
    assert at[0.0] == 0 and at[0.5] == pytest.approx(2 * at[0.25])
    assert 'loss_adjust' not in DebiasedDiffusionLoss(tau=0)(pred, target, torch.tensor([0.5]),
                                                              labels, prior)


def test_ignored_pixels_contribute_nothing():
    loss = DebiasedDiffusionLoss()
    prior = torch.tensor([0.2, 0.3, 0.5])
    pred, target = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    labels = torch.randint(0, 3, (1, 3, 3))
    labels[0, 0] = 255
    changed = pred.clone()
    changed[:, :, 0] += 5.0
    a = loss(pred, target, torch.tensor([0.7]), labels, prior)
    b = loss(changed, target, torch.tensor([0.7]), labels, prior)
    for key in a:
        assert float(a[key]) == pytest.approx(float(b[key]))
    valid = labels[0] != 255
    expected = ((pred - target) ** 2)[0][:, valid].mean()
    assert float(a['loss_diffusion']) == pytest.approx(float(expected))


def test_all_ignored_gives_zero_with_gradient():
    pred = torch.randn(1, 2, 2, 2, requires_grad=True)
    losses = DebiasedDiffusionLoss()(pred, torch.zeros(1, 2, 2, 2), torch.tensor([0.5]),
                                     torch.full((1, 2, 2), 255), torch.tensor([0.5, 0.5]))
    total = sum(losses.values())
    total.backward()
    assert float(total) == 0 and pred.grad is not None


def test_built_from_losses_registry():
    assert isinstance(LOSSES.build(dict(type='DebiasedDiffusionLoss', tau=0.2)),
                      DebiasedDiffusionLoss)


def test_bad_input():
    loss = DebiasedDiffusionLoss()
    pred, target, t, labels = one_pixel(0.1, 0.1, 0, 0.5)
    with pytest.raises(CdmxError, match='sum to 1'):
        loss(pred, target, t, labels, torch.tensor([0.5, 0.6]))
    with pytest.raises(CdmxError, match='prior probability 0'):
        loss(pred, target, t, labels, torch.tensor([0.0, 1.0]))
    with pytest.raises(CdmxError, match='outside|range over'):
        loss(pred, target, t, torch.tensor([[[7]]]), torch.tensor([0.5, 0.5]))
    with pytest.raises(CdmxError, match='one shape'):
        loss(pred, torch.zeros(1, 2, 1, 1), t, labels, torch.tensor([0.5, 0.5]))
    with pytest.raises(CdmxError, match='non-negative'):
        DebiasedDiffusionLoss(tau=-1)
