"""ReliableSampleLabeler (Eqs. 7-8), ConfidentLabeler (Eq. 9) and the consistency ratio."""
import numpy as np
import pytest
import torch

from cdmx.pseudo_labelers import consistency_ratio, cosine_neighbors
from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError


def test_neighbours_by_cosine_exclude_the_sample_itself():
    feats = np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [0.2, 1.0]])
    neighbors = cosine_neighbors(feats, 2)
    assert neighbors.tolist() == [[1, 3], [0, 3], [3, 1], [2, 1]]
    assert cosine_neighbors(feats, 1, queries=np.array([2])).tolist() == [[3]]


def test_consistency_ratio_by_hand():
    feats = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [0.0, 1.0], [0.1, 1.0]])
    labels = np.array([0, 0, 1, 1, 1])
    # Sample 0's two neighbours are 1 (label 0) and 2 (label 1): r = 1/2; sample 2's are 0, 1.
    np.testing.assert_allclose(consistency_ratio(feats, labels, 2), [0.5, 0.5, 0.0, 0.5, 0.5])


def test_reliable_samples_are_the_correctly_labelled_ones():
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 5
    truth = np.repeat(np.arange(4), 50)
    feats = centres[truth] + 0.3 * rng.standard_normal((200, 4))
    labels = truth.copy()
    wrong = rng.choice(200, size=20, replace=False)
    labels[wrong] = (truth[wrong] + 1) % 4  # 10% of the cluster labels are wrong
    probs = np.eye(4)[labels] * 0.7 + 0.075
    labeler = PSEUDO_LABELERS.build(dict(type='ReliableSampleLabeler', num_neighbors=10,
                                         threshold=0.7))
    indices, chosen = labeler(feats, probs)
    assert indices.dtype == chosen.dtype == torch.int64
    # A wrong label disagrees with its (correct) neighbours: r <= 0.2 < 0.7; right labels see
    # at most a few wrong neighbours.
    assert set(indices.tolist()).isdisjoint(wrong.tolist())
    assert len(indices) >= 170
    assert (chosen.numpy() == truth[indices.numpy()]).all()


def test_min_per_cluster_tops_up_a_cluster_without_reliable_samples():
    rng = np.random.default_rng(1)
    feats = np.concatenate([np.eye(3)[[0] * 40 + [1] * 40] * 5, np.eye(3)[[2] * 6] * 5])
    feats = feats + 0.3 * rng.standard_normal(feats.shape)
    labels = np.array([0] * 40 + [1] * 40 + [0, 0, 0, 2, 2, 2])  # cluster 2: 3 mixed members
    probs = np.eye(3)[labels]
    plain = PSEUDO_LABELERS.build(dict(type='ReliableSampleLabeler', num_neighbors=5,
                                       threshold=0.8))
    topped = PSEUDO_LABELERS.build(dict(type='ReliableSampleLabeler', num_neighbors=5,
                                        threshold=0.8, min_per_cluster=2))
    assert 2 not in plain(feats, probs)[1].tolist()
    indices, chosen = topped(feats, probs)
    assert chosen.tolist().count(2) == 2
    assert set(plain(feats, probs)[0].tolist()) < set(indices.tolist())
    assert indices.tolist() == sorted(indices.tolist())


def test_confident_labeler_thresholds_the_weak_view():
    probs = torch.tensor([[0.96, 0.04], [0.5, 0.5], [0.05, 0.95], [0.949, 0.051]])
    indices, labels = PSEUDO_LABELERS.build(dict(type='ConfidentLabeler',
                                                 threshold=0.95))(probs)
    assert indices.tolist() == [0, 2] and labels.tolist() == [0, 1]


@pytest.mark.parametrize('cfg', [dict(type='ReliableSampleLabeler', num_neighbors=0),
                                 dict(type='ReliableSampleLabeler', min_per_cluster=-1),
                                 dict(type='ReliableSampleLabeler', threshold=1.2),
                                 dict(type='ConfidentLabeler', threshold=0)])
def test_bad_settings_are_refused(cfg):
    with pytest.raises(CdmxError):
        PSEUDO_LABELERS.build(cfg)


def test_too_many_neighbours_are_refused():
    with pytest.raises(CdmxError, match='num_neighbors'):
        consistency_ratio(np.eye(3), np.array([0, 1, 2]), 3)
