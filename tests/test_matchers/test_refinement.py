"""LabelMatchingRefinement (§3.4, Eqs. 13-18) on a hand-made pool of fifteen samples.

Three clusters of five members; member j of cluster m has ``P[i, m] = CONF[m][j]`` and
``(1 - CONF[m][j]) / 2`` on each other cluster, so every off-cluster probability (<= 0.325) is
below each cluster's two most confident members and T_m (N_top = 2) is those two. With N_btm = 2,
B_m is the last two members of each row of CONF. CLIP votes the true class everywhere.

    cluster 0 (named 2): truth 2 2 0 1 0   T agree, B disagree   delta 0.5   r_btm 0.45
    cluster 1 (named 0): truth 0 1 0 0 0   T half,  B agree      delta 0.75  r_btm 0.65
    cluster 2 (named 1): truth 1 1 2 1 1   T agree, B agree      delta 1.0   r_btm 0.40
"""
import numpy as np
import pytest

from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError

CONF = np.array([[0.9, 0.8, 0.6, 0.5, 0.4],
                 [0.95, 0.9, 0.8, 0.7, 0.6],
                 [0.9, 0.85, 0.7, 0.45, 0.35]])
PROBS = np.zeros((15, 3))
for _m in range(3):
    _rows = np.arange(5 * _m, 5 * _m + 5)
    PROBS[_rows] = ((1 - CONF[_m]) / 2)[:, None]
    PROBS[_rows, _m] = CONF[_m]
MAPPING = np.array([2, 0, 1])
TRUTH = np.array([2, 2, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 2, 1, 1])
CLIP = np.eye(3)[TRUTH] * 0.7 + 0.1
PLM = MAPPING[PROBS.argmax(1)]  # the matched labels before refinement: 10 of 15 right


def build(**kwargs):
    cfg = dict(type='LabelMatchingRefinement', n_top=2, n_btm=2, w_top=0.5, w_btm=0.5,
               lambda_delta=0.8, lambda_top=0.9, lambda_btm=0.6, sigma_btm=0.5)
    cfg.update(kwargs)
    return MATCHERS.build(cfg)


def refine(**kwargs):
    return build(**kwargs)(PROBS, MAPPING, CLIP)


def test_ratios_follow_eqs_14_to_17():
    _, report = refine(w_top=0.25, w_btm=0.75)
    first, second, third = report['clusters']
    # Eq. 14 over T_0 = {0, 1}; Eq. 15 over B_0 = {4, 3}; Eq. 16 weighted; Eq. 17 mean P of B_0.
    assert (first['delta_top'], first['delta_btm']) == (1.0, 0.0)
    assert first['delta'] == pytest.approx(0.25)
    assert first['r_btm'] == pytest.approx(0.45)
    assert (second['delta_top'], second['delta_btm']) == (0.5, 1.0)
    assert second['delta'] == pytest.approx(0.25 * 0.5 + 0.75 * 1.0)
    assert second['r_btm'] == pytest.approx(0.65)
    assert (third['delta_top'], third['delta_btm'], third['delta']) == (1.0, 1.0, 1.0)
    assert third['r_btm'] == pytest.approx(0.4)


def test_each_cluster_takes_the_papers_branch():
    _, report = refine()
    assert [c['case'] for c in report['clusters']] == ['bottom_mismatch', 'top_mismatch',
                                                       'trusted']
    # Cluster 2 with delta = 1 not above lambda_delta = 1 and both ratios at their thresholds:
    # the paper's unnamed case, left alone.
    _, report = refine(lambda_delta=1.0, sigma_btm=1.0)
    assert report['clusters'][2]['case'] == 'uncovered'
    assert not report['clusters'][2]['refined'] and report['clusters'][2]['adjusted'] == 0


def test_decision_unit_cases():
    refinement = build()
    assert refinement.case(delta_top=1.0, delta_btm=0.0, delta=0.81) == 'trusted'
    assert refinement.case(delta_top=1.0, delta_btm=0.0, delta=0.8) == 'bottom_mismatch'
    assert refinement.case(delta_top=0.89, delta_btm=1.0, delta=0.5) == 'top_mismatch'
    assert refinement.case(delta_top=0.9, delta_btm=0.59, delta=0.7) == 'bottom_mismatch'
    assert refinement.case(delta_top=0.9, delta_btm=0.6, delta=0.75) == 'uncovered'


# sigma_btm -> (refined clusters, labels): hand-computed from the table in the docstring.
SWEEP = {
    # r_btm > 0 everywhere: nothing refined, the +PLM labels.
    0.0: ([False, False, False], PLM),
    # Cluster 0: r_btm 0.45 <= 0.5 -> X_adj = {P < 0.5} = {4} (P = 0.5 of sample 3 is not
    # below). Cluster 1: r_btm 0.65 > 0.5, kept.
    0.5: ([True, False, False], np.where(np.arange(15) == 4, 0, PLM)),
    # X_adj of cluster 0 = {3, 4}.
    0.55: ([True, False, False], np.where(np.isin(np.arange(15), [3, 4]), TRUTH, PLM)),
    # X_adj of cluster 0 = {2, 3, 4} (sample 2 is outside B_0: Eq. 18 reaches past N_btm);
    # cluster 1 now refined (0.65 <= 0.66), X_adj = {9}, whose vote is its own class 0.
    0.66: ([True, True, False], np.where(np.isin(np.arange(15), [2, 3, 4]), TRUTH, PLM)),
    # Every member of the examined clusters 0 and 1 takes CLIP's (= the true) label; the
    # trusted cluster 2 keeps its name, so sample 12 stays wrong.
    1.0: ([True, True, False], np.where(np.arange(15) < 10, TRUTH, PLM)),
}


@pytest.mark.parametrize('sigma', sorted(SWEEP))
def test_sigma_btm_sets_which_clusters_and_members_change(sigma):
    refined_clusters, expected = SWEEP[sigma]
    labels, report = refine(sigma_btm=sigma)
    assert [c['refined'] for c in report['clusters']] == refined_clusters
    assert labels.tolist() == expected.tolist()
    assert report['changed'] == int(np.sum(labels != PLM))


def test_sigma_btm_one_gives_clip_labels_of_every_untrusted_cluster():
    labels, report = refine(sigma_btm=1.0)
    assert [c['adjusted'] for c in report['clusters']] == [5, 5, 0]
    assert [c['changed'] for c in report['clusters']] == [3, 1, 0]
    assert np.mean(labels == TRUTH) == pytest.approx(14 / 15)
    # No cluster is trusted when no delta can exceed lambda_delta = 1; once CLIP doubts one of
    # cluster 2's top samples it is examined too (top_mismatch), and at sigma_btm = 1 every label
    # of the pool is CLIP's: the ground truth when CLIP is right (Fig. 4's limit).
    clip = CLIP.copy()
    clip[10] = [0.1, 0.1, 0.8]  # CLIP now says class 2 for cluster 2's top sample 10
    labels, report = build(lambda_delta=1.0, sigma_btm=1.0)(PROBS, MAPPING, clip)
    assert report['clusters'][2]['case'] == 'top_mismatch'
    assert labels.tolist() == clip.argmax(1).tolist()  # every label is CLIP's


def test_adjustment_indices_are_the_members_reassigned():
    refinement = build(sigma_btm=0.66)
    assert refinement.adjustment_indices(PROBS, MAPPING, CLIP).tolist() == [2, 3, 4, 9]
    _, report = refinement(PROBS, MAPPING, CLIP)
    assert [c['adjusted'] for c in report['clusters']] == [3, 1, 0]
    assert report['adjusted'] == 4 and report['changed'] == 3  # 2, 3, 4 (9 keeps 0)


def test_only_the_scored_rows_are_read():
    refinement = build(sigma_btm=0.55)
    needed = refinement.needed_indices(PROBS)
    assert needed.tolist() == [0, 1, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14]  # T_m and B_m
    partial = np.full_like(CLIP, np.nan)
    partial[needed] = CLIP[needed]
    assert refinement.adjustment_indices(PROBS, MAPPING, partial).tolist() == [3, 4]
    labels, _ = refinement(PROBS, MAPPING, partial)
    assert labels.tolist() == SWEEP[0.55][1].tolist()
    # X_adj reaching an unscored member is refused, not guessed.
    with pytest.raises(CdmxError, match='X_adj'):
        build(sigma_btm=0.66)(PROBS, MAPPING, partial)
    partial[4] = np.nan
    with pytest.raises(CdmxError, match='top and bottom samples'):
        refinement(PROBS, MAPPING, partial)


def test_a_cluster_without_members_is_reported_and_never_refined():
    probs = np.concatenate([PROBS * 0.9, np.full((15, 1), 0.1)], axis=1)  # cluster 3: no argmax
    clip = np.concatenate([CLIP, np.zeros((15, 1))], axis=1)
    labels, report = build(sigma_btm=1.0)(probs, np.array([2, 0, 1, 3]), clip)
    lonely = report['clusters'][3]
    assert (lonely['delta_btm'], lonely['delta'], lonely['r_btm']) == (None, None, None)
    assert (lonely['case'], lonely['refined'], lonely['adjusted']) == ('empty', False, 0)
    assert lonely['delta_top'] == 0.0  # CLIP never votes class 3
    assert 3 not in labels.tolist()


@pytest.mark.parametrize('bad', [dict(w_top=0.7, w_btm=0.7), dict(lambda_delta=1.5),
                                 dict(n_btm=0), dict(sigma_btm='high'), dict(sigma_btm=-0.1)])
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(CdmxError, match='LabelMatchingRefinement'):
        build(**bad)


def test_the_removed_neighbour_count_is_refused():
    with pytest.raises(TypeError, match='num_neighbors'):
        build(num_neighbors=20)


def test_mismatched_inputs_are_refused():
    refinement = build()
    with pytest.raises(CdmxError, match='cluster_to_class'):
        refinement(PROBS, np.array([0, 1]), CLIP)
    with pytest.raises(CdmxError, match='cluster_to_class'):
        refinement(PROBS, MAPPING, CLIP[:5])
