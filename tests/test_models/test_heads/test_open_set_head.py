"""ClosedSetHead and OpenSetHead: shapes, the (N, 2, K) layout, pair softmax, config, bad input."""
import math

import pytest
import torch

from cdmx.models.heads import ClosedSetHead, OpenSetHead
from cdmx.registry import HEADS, MODELS
from cdmx.utils.errors import CdmxError


def test_closed_head_shape_and_tuple_input():
    head = ClosedSetHead(num_classes=3, in_channels=5)
    feats = torch.randn(4, 5)
    assert head(feats).shape == (4, 3)
    assert torch.equal(head((torch.randn(4, 5), feats)), head(feats))


def test_open_head_layout_reads_first_k_as_inliers():
    head = OpenSetHead(num_classes=3, in_channels=2)
    with torch.no_grad():
        head.fc.weight.zero_()
        head.fc.bias.copy_(torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 30.0]))
    logits = head(torch.zeros(2, 2))
    assert logits.shape == (2, 2, 3)
    assert logits[0, 0].tolist() == [1.0, 2.0, 3.0]
    assert logits[0, 1].tolist() == [10.0, 20.0, 30.0]


def test_pair_probs_softmax_over_each_class_pair():
    logits = torch.tensor([[[math.log(3), 0.0], [0.0, math.log(4)]]])  # (1, 2, K=2)
    probs = OpenSetHead.pair_probs(logits)
    assert probs[0, 0].tolist() == pytest.approx([3 / 4, 1 / 5])
    assert probs[0, 1].tolist() == pytest.approx([1 / 4, 4 / 5])
    with pytest.raises(CdmxError, match=r'\(N, 2, K\)'):
        OpenSetHead.pair_probs(torch.zeros(1, 4))


def test_built_from_heads_and_models():
    assert isinstance(HEADS.build(dict(type='OpenSetHead', num_classes=2, in_channels=8)),
                      OpenSetHead)
    assert isinstance(MODELS.build(dict(type='ClosedSetHead', num_classes=2, in_channels=8)),
                      ClosedSetHead)


@pytest.mark.parametrize('head', [ClosedSetHead, OpenSetHead])
@pytest.mark.parametrize('kwargs', [dict(num_classes=0, in_channels=8),
                                    dict(num_classes=2, in_channels=2.5)])
def test_bad_sizes(head, kwargs):
    with pytest.raises(CdmxError, match='positive integer'):
        head(**kwargs)
