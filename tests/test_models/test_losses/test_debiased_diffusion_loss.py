"""DebiasedDiffusionLoss: Eqs. 4-6 and 9-11, the prior choice, ignored pixels, bad input;
DebiasedCrossEntropyLoss, the same for a logits readout."""
import pytest
import torch

from cdmx.diffusion import bits_to_log_probs
from cdmx.models.losses import DebiasedCrossEntropyLoss, DebiasedDiffusionLoss
from cdmx.models.losses.debiased_diffusion_loss import debias_shift
from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError

B = 0.1  # bit scale
ONE_BIT = torch.tensor([[-B], [B]])  # (C, K) codes of two classes in one analog bit


def one_pixel(pred: float, target: float, label: int, t: float):
    """A one-bit, one-pixel batch and its class log-probabilities (two classes)."""
    pred = torch.tensor([[[[pred]]]], requires_grad=True)
    return (pred, torch.tensor([[[[target]]]]), torch.tensor([t]), torch.tensor([[[label]]]),
            bits_to_log_probs(pred.detach(), 2, B))


def test_hand_computed_value():
    # f = 0: P = (0.5, 0.5); p = (0.25, 0.75), C p = (0.5, 1.5): P~ = (0.75, 0.25), its mean
    # 0.75 * -0.1 + 0.25 * 0.1 = -0.05, delta = -0.05 - 0 = -0.05, f~ = -0.05.
    # L_diff = (0 - 0.1)^2 = 0.01, L_adj = tau t (f - f~)^2 = 0.1 * 0.5 * 0.0025 = 1.25e-4.
    pred, target, t, labels, log_probs = one_pixel(0.0, 0.1, 1, 0.5)
    losses = DebiasedDiffusionLoss(tau=0.1)(pred, target, t, labels,
                                            torch.tensor([0.25, 0.75]), log_probs, ONE_BIT)
    assert losses['loss_diffusion'].item() == pytest.approx(0.01)
    assert losses['loss_adjust'].item() == pytest.approx(1.25e-4)
    losses['loss_adjust'].backward()
    # gradient 2 tau t (f - f~) = 0.1 * 0.05 > 0: descent moves f towards the rare class 0
    assert float(pred.grad) == pytest.approx(0.005)


def test_uniform_prior_makes_the_adjustment_vanish():
    pred, target = torch.randn(2, 4, 4, 4) * B, torch.randn(2, 4, 4, 4)
    labels = torch.randint(0, 11, (2, 4, 4))
    codes = torch.randint(0, 2, (11, 4)).float() * 2 * B - B
    losses = DebiasedDiffusionLoss()(pred, target, torch.rand(2), labels,
                                     torch.full((11, ), 1 / 11), bits_to_log_probs(pred, 11),
                                     codes)
    assert float(losses['loss_adjust']) == pytest.approx(0.0, abs=1e-12)
    assert float(losses['loss_diffusion']) == pytest.approx(float(((pred - target) ** 2).mean()))


def test_shift_leans_to_rare_classes_and_is_bounded():
    codes = torch.tensor([[-B, -B], [-B, B], [B, -B]])  # three classes in two bits
    prior = torch.tensor([0.9, 0.09, 0.01])
    # a prediction that cannot tell class 0 from class 2 (first bit 0) but excludes class 1
    log_probs = bits_to_log_probs(torch.tensor([0.0, -0.09]).reshape(1, 2, 1, 1), 3, B)
    shift = debias_shift(log_probs, codes, prior)[0, :, 0, 0]
    assert float(shift[0]) > 0.05  # the first bit moves towards class 2 (the rare one)
    # however rare the class, the debiased mean stays inside the codes' box
    extreme = debias_shift(log_probs, codes, torch.tensor([1 - 2e-9, 1e-9, 1e-9]))
    assert float(extreme.abs().max()) <= 2 * B + 1e-6
    # a prediction sure of its class is hardly moved
    sure = bits_to_log_probs(torch.tensor([-B, -B]).reshape(1, 2, 1, 1), 3, B)
    assert float(debias_shift(sure, codes, prior).abs().max()) < 0.05 * B


def test_time_weighting_and_tau_zero():
    pred, target, _, labels, log_probs = one_pixel(0.02, 0.1, 0, 0.0)
    prior = torch.tensor([0.1, 0.9])
    loss = DebiasedDiffusionLoss(tau=0.1)
    at = {t: float(loss(pred, target, torch.tensor([t]), labels, prior, log_probs,
                        ONE_BIT)['loss_adjust']) for t in (0.0, 0.25, 0.5)}
    assert at[0.0] == 0 and at[0.5] == pytest.approx(2 * at[0.25]) and at[0.5] > 0
    assert 'loss_adjust' not in DebiasedDiffusionLoss(tau=0)(pred, target, torch.tensor([0.5]),
                                                              labels, prior)


def test_ignored_pixels_contribute_nothing():
    loss = DebiasedDiffusionLoss()
    prior = torch.tensor([0.2, 0.3, 0.5])
    codes = torch.tensor([[-B, -B], [-B, B], [B, -B]])
    pred, target = torch.randn(1, 2, 3, 3) * B, torch.randn(1, 2, 3, 3)
    labels = torch.randint(0, 3, (1, 3, 3))
    labels[0, 0] = 255
    changed = pred.clone()
    changed[:, :, 0] += 5.0
    a = loss(pred, target, torch.tensor([0.7]), labels, prior, bits_to_log_probs(pred, 3),
             codes)
    b = loss(changed, target, torch.tensor([0.7]), labels, prior,
             bits_to_log_probs(changed, 3), codes)
    for key in a:
        assert float(a[key]) == pytest.approx(float(b[key]))
    valid = labels[0] != 255
    expected = ((pred - target) ** 2)[0][:, valid].mean()
    assert float(a['loss_diffusion']) == pytest.approx(float(expected))


def test_all_ignored_gives_zero_with_gradient():
    pred = torch.randn(1, 1, 2, 2, requires_grad=True)
    losses = DebiasedDiffusionLoss()(pred, torch.zeros(1, 1, 2, 2), torch.tensor([0.5]),
                                     torch.full((1, 2, 2), 255), torch.tensor([0.5, 0.5]),
                                     bits_to_log_probs(pred.detach(), 2), ONE_BIT)
    total = sum(losses.values())
    total.backward()
    assert float(total) == 0 and pred.grad is not None


def test_built_from_losses_registry():
    assert isinstance(LOSSES.build(dict(type='DebiasedDiffusionLoss', tau=0.2)),
                      DebiasedDiffusionLoss)


def test_bad_input():
    loss = DebiasedDiffusionLoss()
    pred, target, t, labels, log_probs = one_pixel(0.1, 0.1, 0, 0.5)
    with pytest.raises(CdmxError, match='sum to 1'):
        loss(pred, target, t, labels, torch.tensor([0.5, 0.6]), log_probs, ONE_BIT)
    with pytest.raises(CdmxError, match='prior probability 0'):
        loss(pred, target, t, labels, torch.tensor([0.0, 1.0]), log_probs, ONE_BIT)
    with pytest.raises(CdmxError, match='outside|range over'):
        loss(pred, target, t, torch.tensor([[[7]]]), torch.tensor([0.5, 0.5]), log_probs,
             ONE_BIT)
    with pytest.raises(CdmxError, match='one shape'):
        loss(pred, torch.zeros(1, 2, 1, 1), t, labels, torch.tensor([0.5, 0.5]))
    with pytest.raises(CdmxError, match='needs the class log-probabilities'):
        loss(pred, target, t, labels, torch.tensor([0.5, 0.5]))
    with pytest.raises(CdmxError, match='class_vectors'):
        loss(pred, target, t, labels, torch.tensor([0.5, 0.5]), log_probs, torch.zeros(3, 1))
    with pytest.raises(CdmxError, match='non-negative'):
        DebiasedDiffusionLoss(tau=-1)


def test_cross_entropy_readout_hand_computed_value():
    # logits (0, 0), label 1, t = 0.5, p = (0.25, 0.75): L_ce = log 2; P = (0.5, 0.5),
    # P~ = (0.75, 0.25); L_adj = tau t ||P - P~||^2 = 0.1 * 0.5 * (0.0625 + 0.0625) = 0.00625.
    # d L_adj / d logits = J^T 2 tau t (P - P~), J = diag(P) - P P^T = [[.25, -.25], [-.25, .25]]:
    # 2 * 0.05 * (-0.25, 0.25) = (-0.025, 0.025) -> (-0.0125, 0.0125): descent raises the rare
    # class 0.
    logits = torch.zeros(1, 2, 1, 1, requires_grad=True)
    loss = DebiasedCrossEntropyLoss(tau=0.1)
    losses = loss(logits, None, torch.tensor([0.5]), torch.tensor([[[1]]]),
                  torch.tensor([0.25, 0.75]))
    assert set(losses) == {'loss_ce', 'loss_adjust'}
    assert float(losses['loss_ce']) == pytest.approx(0.6931472)
    assert float(losses['loss_adjust']) == pytest.approx(0.00625)
    losses['loss_adjust'].backward()
    assert logits.grad.flatten().tolist() == pytest.approx([-0.0125, 0.0125])
    assert 'loss_adjust' not in DebiasedCrossEntropyLoss(tau=0)(
        logits, None, torch.tensor([0.5]), torch.tensor([[[1]]]), torch.tensor([0.25, 0.75]))


def test_cross_entropy_readout_ignores_pixels_and_checks_input():
    loss = DebiasedCrossEntropyLoss(loss_weight=2.0)
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    labels = torch.tensor([[[0, 2], [255, 1]]])
    prior = torch.tensor([0.2, 0.3, 0.5])
    losses = loss(logits, None, torch.tensor([0.0]), labels, prior)
    valid = labels[0] != 255
    expected = -logits.log_softmax(1)[0][:, valid].gather(0, labels[0][valid][None]).mean()
    assert float(losses['loss_ce']) == pytest.approx(2 * float(expected), rel=1e-5)
    assert float(losses['loss_adjust']) == 0  # t = 0
    ignored = loss(logits, None, torch.tensor([0.5]), torch.full((1, 2, 2), 255), prior)
    sum(ignored.values()).backward()
    assert float(sum(ignored.values())) == 0 and logits.grad is not None
    with pytest.raises(CdmxError, match='class prior has 2 classes'):
        loss(logits, None, torch.tensor([0.5]), labels, torch.tensor([0.5, 0.5]))
    with pytest.raises(CdmxError, match='prior probability 0'):
        loss(logits, None, torch.tensor([0.5]), labels, torch.tensor([0.0, 0.5, 0.5]))
    with pytest.raises(CdmxError, match='range over'):
        loss(logits, None, torch.tensor([0.5]), torch.full((1, 2, 2), 3), prior)
    assert isinstance(LOSSES.build(dict(type='DebiasedCrossEntropyLoss')),
                      DebiasedCrossEntropyLoss)
