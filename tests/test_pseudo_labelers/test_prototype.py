"""PrototypeLabeler, the E-step (E1)-(E2), on features with known clusters."""
import math

import pytest
import torch

from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError


def blobs(n_per=30, k=3, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(d)[:k] * 5
    labels = torch.arange(k).repeat_interleave(n_per)
    return centres[labels] + 0.5 * torch.randn(len(labels), d, generator=g), labels


def test_prototypes_of_confident_samples_label_their_nearest_samples():
    feats, truth = blobs()
    # Probabilities that lean weakly to the true cluster, and strongly for five per cluster.
    probs = torch.full((len(truth), 3), 0.3)
    probs[torch.arange(len(truth)), truth] = 0.4
    for k in range(3):
        members = torch.nonzero(truth == k).reshape(-1)[:5]
        probs[members] = 0.05
        probs[members, k] = 0.9
    labeler = PSEUDO_LABELERS.build(dict(type='PrototypeLabeler', ratio=0.5))
    indices, labels = labeler(feats, probs)
    m = math.ceil(0.5 * 90 / 3)  # 15 per cluster
    assert len(indices) == 3 * m and torch.equal(indices, indices.sort().values)
    assert torch.equal(labels, truth[indices])  # every pseudo-label is the true cluster
    assert torch.bincount(labels).tolist() == [m, m, m]  # balanced (E2)


def test_a_sample_chosen_by_two_prototypes_takes_the_nearer():
    feats = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    probs = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4]])
    indices, labels = PSEUDO_LABELERS.build(dict(type='PrototypeLabeler', ratio=1.0))(
        feats, probs)
    # M = ceil(3 / 2) = 2: mu_0 ~ (0.949, 0.316) from {0, 2}, mu_1 ~ (0.447, 0.894) from
    # {1, 2}; sample 2 is among the two nearest of both, cosine 0.949 to mu_0 and 0.894 to mu_1.
    assert indices.tolist() == [0, 1, 2] and labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize('ratio', [0, 1.5, True])
def test_bad_ratio_is_refused(ratio):
    with pytest.raises(CdmxError, match='ratio'):
        PSEUDO_LABELERS.build(dict(type='PrototypeLabeler', ratio=ratio))


def test_mismatched_batches_are_refused():
    with pytest.raises(CdmxError, match='same batch'):
        PSEUDO_LABELERS.build(dict(type='PrototypeLabeler'))(torch.zeros(3, 2),
                                                              torch.zeros(4, 2))
