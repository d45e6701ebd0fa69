"""UCDMLoss: Eqs. 13, 14, 15, 9 and 12 against values computed by hand from chosen probabilities."""
import math

import pytest
import torch

from cdmx.models.losses import BRANCHES, UCDMLoss
from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError

LN = math.log


def pair_logits(inlier, outlier):
    """(2, K) open-set logits of one image from its inlier and outlier rows."""
    return [list(inlier), list(outlier)]


# Three pairs, K = 2. Logits are logs of small integers, so every softmax is a simple fraction.
# pair 0 (generated, k=0): closed softmax [3/4, 1/4]; p_0(in|x+) = 3/(3+1); inlier row softmax
#     [3/4, 1/4]; p_0(out|x-) = 4/(4+1).
# pair 1 (pseudo_known, k=1): closed softmax [1/5, 4/5]; p_1(in|x+) = 2/(2+1); inlier row
#     softmax [1/3, 2/3]; p_1(out|x-) = 9/(9+1).
# pair 2 (generated, k=1): closed softmax [1/2, 1/2]; p_1(in|x+) = 1/(1+1); inlier row softmax
#     [1/2, 1/2]; p_1(out|x-) = 1/(1+1).
CLOSED = torch.tensor([[LN(3), 0.0], [0.0, LN(4)], [0.0, 0.0]])
OPEN_POS = torch.tensor([pair_logits([LN(3), 0.0], [0.0, 0.0]),
                         pair_logits([0.0, LN(2)], [0.0, 0.0]),
                         pair_logits([0.0, 0.0], [0.0, 0.0])])
OPEN_NEG = torch.tensor([pair_logits([0.0, 0.0], [LN(4), 0.0]),
                         pair_logits([0.0, 0.0], [0.0, LN(9)]),
                         pair_logits([0.0, 0.0], [0.0, 0.0])])
LABELS = torch.tensor([0, 1, 1])
BRANCH_IDS = torch.tensor([BRANCHES.index('generated'), BRANCHES.index('pseudo_known'),
                           BRANCHES.index('generated')])

L13 = [-LN(3 / 4) - LN(4 / 5), -LN(2 / 3) - LN(9 / 10), -LN(1 / 2) - LN(1 / 2)]
L14 = [-LN(3 / 4), -LN(2 / 3), -LN(1 / 2)]
L15 = [-LN(3 / 4), -LN(4 / 5), -LN(1 / 2)]


def l9(i, lambda1, lambda2):
    return lambda1 * L13[i] + lambda2 * (L14[i] + L15[i])


@pytest.mark.parametrize('lambda1,lambda2', [(1.0, 2.0), (0.5, 20.0)])
def test_values_match_hand_computation(lambda1, lambda2):
    out = UCDMLoss(lambda1=lambda1, lambda2=lambda2)(CLOSED, OPEN_POS, OPEN_NEG, LABELS,
                                                      BRANCH_IDS)
    assert set(out) == {'loss_generated', 'loss_pseudo_known', 'eq13', 'eq14', 'eq15'}
    generated = (l9(0, lambda1, lambda2) + l9(2, lambda1, lambda2)) / 2
    assert out['loss_generated'].item() == pytest.approx(generated, rel=1e-5)
    assert out['loss_pseudo_known'].item() == pytest.approx(l9(1, lambda1, lambda2), rel=1e-5)
    for key, values in (('eq13', L13), ('eq14', L14), ('eq15', L15)):
        assert out[key].item() == pytest.approx(sum(values) / 3, rel=1e-5)


def test_eq12_is_the_sum_of_branch_means_not_the_mean_of_pairs():
    out = UCDMLoss()(CLOSED, OPEN_POS, OPEN_NEG, LABELS, BRANCH_IDS)
    total = sum(v for k, v in out.items() if 'loss' in k)
    expected = (l9(0, 1, 2) + l9(2, 1, 2)) / 2 + l9(1, 1, 2)
    assert total.item() == pytest.approx(expected, rel=1e-5)
    assert total.item() != pytest.approx(sum(l9(i, 1, 2) for i in range(3)) / 3, rel=1e-3)


def test_each_branch_is_averaged_on_its_own():
    unknown = torch.full((3, ), BRANCHES.index('pseudo_unknown'))
    out = UCDMLoss()(CLOSED, OPEN_POS, OPEN_NEG, LABELS, unknown)
    assert set(k for k in out if 'loss' in k) == {'loss_pseudo_unknown'}
    assert out['loss_pseudo_unknown'].item() == pytest.approx(
        sum(l9(i, 1, 2) for i in range(3)) / 3, rel=1e-5)


def test_eq13_uses_the_classifier_of_class_k_only():
    # Changing the logits of classifier 0 does not move the Eq. 13 term of a pair of class 1.
    pos, neg = OPEN_POS[2:].clone(), OPEN_NEG[2:].clone()
    base = UCDMLoss()(CLOSED[2:], pos, neg, LABELS[2:], BRANCH_IDS[2:])['eq13']
    pos[:, :, 0] += torch.tensor([5.0, -3.0])
    neg[:, :, 0] += torch.tensor([-2.0, 7.0])
    moved = UCDMLoss()(CLOSED[2:], pos, neg, LABELS[2:], BRANCH_IDS[2:])['eq13']
    assert moved.item() == pytest.approx(base.item(), rel=1e-6)


def test_gradients_reach_all_three_inputs():
    closed, pos, neg = (t.clone().requires_grad_() for t in (CLOSED, OPEN_POS, OPEN_NEG))
    out = UCDMLoss()(closed, pos, neg, LABELS, BRANCH_IDS)
    sum(v for k, v in out.items() if 'loss' in k).backward()
    for t in (closed, pos, neg):
        assert t.grad is not None and t.grad.abs().sum() > 0


def test_registered_and_built_from_config():
    loss = LOSSES.build(dict(type='UCDMLoss', lambda1=1, lambda2=5))
    assert isinstance(loss, UCDMLoss) and loss.lambda2 == 5.0


@pytest.mark.parametrize('kwargs', [dict(lambda1=-1.0), dict(lambda2='2'), dict(lambda1=True)])
def test_bad_weights(kwargs):
    with pytest.raises(CdmxError, match='non-negative number'):
        UCDMLoss(**kwargs)


def test_bad_labels_branches_and_nan():
    loss = UCDMLoss()
    with pytest.raises(CdmxError, match='known-class ids'):
        loss(CLOSED, OPEN_POS, OPEN_NEG, torch.tensor([0, 2, 1]), BRANCH_IDS)
    with pytest.raises(CdmxError, match='branch ids'):
        loss(CLOSED, OPEN_POS, OPEN_NEG, LABELS, torch.tensor([0, 3, 1]))
    closed = CLOSED.clone()
    closed[0, 0] = float('nan')
    with pytest.raises(CdmxError, match='not finite'):
        loss(closed, OPEN_POS, OPEN_NEG, LABELS, BRANCH_IDS)
