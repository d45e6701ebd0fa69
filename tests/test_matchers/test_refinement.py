"""LabelMatchingRefinement (Eqs. 13-18) on a hand-made pool of twelve samples."""
import numpy as np
import pytest

from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError

# Cluster 0 = samples 0..5 (confidence falling with the index), cluster 1 = samples 6..11.
CONF = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6])
PROBS = np.concatenate([np.stack([CONF, 1 - CONF], 1), np.stack([1 - CONF, CONF], 1)])
MAPPING = np.array([1, 0])  # cluster 0 is class 1, cluster 1 is class 0
# CLIP agrees with the match everywhere but on sample 5 (votes class 0) and sample 4 is
# agreed on; class 0 for cluster 1 throughout.
VOTES = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
CLIP = np.eye(2)[VOTES] * 0.8 + 0.1
# Features: cluster 0 near (1, 0), cluster 1 near (0, 1); sample 5 sits inside cluster 1.
FEATURES = np.array([[1, 0.05 * i] for i in range(6)] + [[0.05 * i, 1] for i in range(6)],
                    dtype=np.float64)
FEATURES[5] = [0.02, 1]


def refine(**kwargs):
    cfg = dict(type='LabelMatchingRefinement', n_top=3, n_btm=2, w_top=0.5, w_btm=0.5,
               lambda_delta=0.8, lambda_top=0.9, lambda_btm=0.4, sigma_btm=0.5,
               num_neighbors=3)
    cfg.update(kwargs)
    return MATCHERS.build(cfg)(PROBS, MAPPING, CLIP, FEATURES)


def test_matching_ratios_follow_eqs_13_to_15():
    _, report = refine(w_top=0.25, w_btm=0.75)
    first, second = report['clusters']
    # Eq. 13 over T_0 = {0, 1, 2}; Eq. 14 over B_0 = {5, 4}; Eq. 15 weighted.
    assert (first['delta_top'], first['delta_btm']) == (1.0, 0.5)
    assert first['delta'] == pytest.approx(0.25 * 1.0 + 0.75 * 0.5)
    assert (second['delta_top'], second['delta_btm'], second['delta']) == (1.0, 1.0, 1.0)


def test_inconsistent_bottom_sample_of_a_refined_cluster_goes_to_clip():
    labels, report = refine()
    # delta_0 = 0.75 < lambda_delta = 0.8: cluster 0 is refined (Eq. 16). Sample 5's three
    # neighbours are cluster-1 samples (r_btm = 0 < 0.5, Eq. 17) -> CLIP's class 0 (Eq. 18);
    # sample 4's neighbours are its own cluster (r_btm = 1): it keeps class 1.
    expected = MAPPING[PROBS.argmax(1)]
    expected[5] = 0
    assert labels.tolist() == expected.tolist()
    assert [c['refined'] for c in report['clusters']] == [True, False]
    assert report['reassigned'] == 1 and report['clusters'][0]['reassigned'] == 1


@pytest.mark.parametrize('thresholds', [dict(lambda_delta=0.7),  # no ratio below its bar
                                        dict(sigma_btm=0.0)])  # refined, but r_btm >= 0
def test_thresholds_from_the_config_switch_refinement_off(thresholds):
    labels, report = refine(**thresholds)
    assert labels.tolist() == MAPPING[PROBS.argmax(1)].tolist()
    assert report['reassigned'] == 0


def test_each_ratio_threshold_alone_triggers_refinement():
    # delta_btm_0 = 0.5 < lambda_btm = 0.6 with lambda_delta low: still refined.
    _, report = refine(lambda_delta=0.1, lambda_btm=0.6)
    assert report['clusters'][0]['refined'] and report['reassigned'] == 1
    # lambda_top = 1 with delta_top = 1: not refined by the top ratio.
    _, report = refine(lambda_delta=0.1, lambda_top=1.0, lambda_btm=0.0)
    assert not report['clusters'][0]['refined']


@pytest.mark.parametrize('bad', [dict(w_top=0.7, w_btm=0.7), dict(lambda_delta=1.5),
                                 dict(n_btm=0), dict(sigma_btm='high')])
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(CdmxError, match='LabelMatchingRefinement'):
        refine(**bad)


def test_mismatched_inputs_are_refused():
    refinement = MATCHERS.build(dict(type='LabelMatchingRefinement', n_top=3, n_btm=2,
                                     num_neighbors=3))
    with pytest.raises(CdmxError, match='cluster_to_class'):
        refinement(PROBS, np.array([0, 1, 2]), CLIP, FEATURES)
    with pytest.raises(CdmxError, match='cluster_to_class'):
        refinement(PROBS, MAPPING, CLIP[:5], FEATURES)


def test_only_the_top_and_bottom_samples_need_clip_scores():
    refinement = MATCHERS.build(dict(type='LabelMatchingRefinement', n_top=3, n_btm=2,
                                     lambda_delta=0.8, lambda_btm=0.4, num_neighbors=3))
    needed = refinement.needed_indices(PROBS)
    assert needed.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 10, 11]  # T_k and B_k of both clusters
    partial = np.full_like(CLIP, np.nan)
    partial[needed] = CLIP[needed]
    labels, _ = refinement(PROBS, MAPPING, partial, FEATURES)
    assert labels[5] == 0  # the same refinement as with every score
    partial[5] = np.nan
    with pytest.raises(CdmxError, match='CLIP scores are missing'):
        refinement(PROBS, MAPPING, partial, FEATURES)


def test_a_cluster_without_members_is_reported_and_never_refined():
    probs = np.concatenate([PROBS * 0.9, np.full((12, 1), 0.1)], axis=1)  # cluster 2: no argmax
    clip = np.concatenate([CLIP, np.zeros((12, 1))], axis=1)
    labels, report = MATCHERS.build(dict(
        type='LabelMatchingRefinement', n_top=3, n_btm=2, w_top=0.5, w_btm=0.5,
        lambda_delta=0.8, lambda_top=0.9, lambda_btm=0.4, sigma_btm=0.5,
        num_neighbors=3))(probs, np.array([1, 0, 2]), clip, FEATURES)
    lonely = report['clusters'][2]
    assert (lonely['delta_btm'], lonely['delta'], lonely['refined']) == (None, None, False)
    assert lonely['delta_top'] == 0.0  # CLIP never votes class 2
    assert 2 not in labels.tolist()
