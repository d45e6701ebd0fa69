"""ConfidencePairLabeler on hand-made score tensors."""
import pytest
import torch

from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError


def _labeler(delta=0.98):
    return PSEUDO_LABELERS.build(dict(type='ConfidencePairLabeler', delta=delta))


def test_agreeing_confident_rows_are_labelled_and_other_is_k():
    # K = 2 known classes; column 2 is "other".
    q = torch.tensor([[0.99, 0.005, 0.005],    # known 0, both confident -> 0
                      [0.005, 0.99, 0.005],    # q says 1, q~ says other -> disagree
                      [0.001, 0.001, 0.998],   # other in both -> K = 2
                      [0.90, 0.05, 0.05]])     # agree but q not confident
    q_tilde = torch.tensor([[0.985, 0.01, 0.005],
                            [0.005, 0.005, 0.99],
                            [0.01, 0.0, 0.99],
                            [0.99, 0.005, 0.005]])
    indices, labels = _labeler()(q, q_tilde)
    assert indices.tolist() == [0, 2]
    assert labels.tolist() == [0, 2]
    assert indices.dtype == labels.dtype == torch.int64


def test_threshold_is_inclusive_and_needs_both_scores():
    q = torch.tensor([[0.75, 0.25], [0.75, 0.25], [0.7499, 0.2501]], dtype=torch.float64)
    q_tilde = torch.tensor([[0.75, 0.25], [0.7499, 0.2501], [0.9, 0.1]], dtype=torch.float64)
    indices, labels = _labeler(0.75)(q, q_tilde)
    assert indices.tolist() == [0] and labels.tolist() == [0]


def test_nothing_confident_gives_empty_results():
    q = torch.full((4, 3), 1 / 3)
    indices, labels = _labeler()(q, q.clone())
    assert indices.numel() == 0 and labels.numel() == 0


@pytest.mark.parametrize('delta', [0, 1.5, True, '0.98'])
def test_bad_delta_is_refused(delta):
    with pytest.raises(CdmxError, match='delta'):
        _labeler(delta)


def test_mismatched_shapes_are_refused():
    with pytest.raises(CdmxError, match=r'\(N, K\+1\)'):
        _labeler()(torch.rand(3, 3), torch.rand(3, 4))
