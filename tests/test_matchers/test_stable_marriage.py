"""StableMarriageMatcher and HungarianMatcher: properties checked by brute force."""
import itertools

import numpy as np
import pytest

from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError


def _matcher(name, **kwargs):
    return MATCHERS.build(dict(type=name, **kwargs))


def blocking_pairs(priority, assignment):
    """Every (row, col) that would both rather be together than with their partners."""
    holder = {int(c): r for r, c in enumerate(assignment) if c >= 0}
    pairs = []
    for row, col in itertools.product(range(priority.shape[0]), range(priority.shape[1])):
        if col == assignment[row]:
            continue
        row_wants = priority[row, col] > priority[row, assignment[row]]
        col_wants = col not in holder or priority[row, col] > priority[holder[col], col]
        if row_wants and col_wants:
            pairs.append((row, col))
    return pairs


@pytest.mark.parametrize('shape', [(5, 5), (4, 7), (10, 10)])
def test_stable_marriage_is_a_stable_one_to_one_matching(shape):
    rng = np.random.default_rng(sum(shape))
    matcher = _matcher('StableMarriageMatcher')
    for _ in range(50):
        priority = rng.random(shape)
        assignment = matcher(priority)
        assert assignment.shape == (shape[0], ) and assignment.dtype == np.int64
        assert len(set(assignment.tolist())) == shape[0] and (assignment >= 0).all()
        assert blocking_pairs(priority, assignment) == []


def test_stable_marriage_is_the_best_stable_matching_for_every_cluster():
    rng = np.random.default_rng(1)
    matcher = _matcher('StableMarriageMatcher')
    for _ in range(20):
        priority = rng.random((5, 5))
        assignment = matcher(priority)
        stable = [np.array(p) for p in itertools.permutations(range(5))
                  if not blocking_pairs(priority, np.array(p))]
        for other in stable:  # no stable matching gives any cluster a better class
            assert (priority[np.arange(5), assignment] >= priority[np.arange(5), other]).all()


def test_stable_marriage_differs_from_hungarian_on_a_hand_example():
    # Cluster 0 and class 0 want each other most (0.9): stability forces that pair, while
    # the maximum total (0.8 + 0.8 = 1.6 > 0.9 + 0.1) crosses them.
    priority = np.array([[0.9, 0.8], [0.8, 0.1]])
    assert _matcher('StableMarriageMatcher')(priority).tolist() == [0, 1]
    assert _matcher('HungarianMatcher')(priority).tolist() == [1, 0]


def test_both_agree_when_every_cluster_has_its_own_favourite():
    rng = np.random.default_rng(2)
    for _ in range(30):
        perm = rng.permutation(8)
        priority = rng.random((8, 8)) * 0.5
        priority[np.arange(8), perm] = 0.6 + rng.random(8) * 0.4  # distinct row maxima
        for name in ('StableMarriageMatcher', 'HungarianMatcher'):
            assert _matcher(name)(priority).tolist() == perm.tolist()


def test_hungarian_maximises_the_total_by_brute_force():
    rng = np.random.default_rng(3)
    matcher = _matcher('HungarianMatcher')
    for _ in range(20):
        priority = rng.random((5, 5))
        best = max(priority[np.arange(5), list(p)].sum()
                   for p in itertools.permutations(range(5)))
        assert priority[np.arange(5), matcher(priority)].sum() == pytest.approx(best)


@pytest.mark.parametrize('name', ['StableMarriageMatcher', 'HungarianMatcher'])
def test_costs_are_minimised_with_maximize_false(name):
    cost = np.array([[0.1, 0.9], [0.2, 0.95]])
    assert _matcher(name, maximize=False)(cost).tolist() in ([0, 1], [1, 0])
    assert _matcher(name, maximize=False)(-np.array([[0.9, 0.1], [0.1, 0.9]])).tolist() == [0, 1]


@pytest.mark.parametrize('name', ['StableMarriageMatcher', 'HungarianMatcher'])
@pytest.mark.parametrize('bad', [np.zeros((0, 3)), np.ones(3), np.array([[np.nan, 1.0]]),
                                 np.ones((4, 3))])
def test_bad_priority_matrices_are_refused(name, bad):
    with pytest.raises(CdmxError, match='priority matrix|clusters for'):
        _matcher(name)(bad)
