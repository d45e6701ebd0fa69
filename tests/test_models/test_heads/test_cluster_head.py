"""ClusterHead: shapes, independent heads, bad sizes."""
import pytest
import torch

from cdmx.registry import HEADS, MODELS
from cdmx.utils.errors import CdmxError


def test_heads_give_stacked_logits_and_one_head_on_request():
    torch.manual_seed(0)
    head = HEADS.build(dict(type='ClusterHead', num_clusters=4, in_channels=8, num_heads=3))
    feats = torch.randn(5, 8)
    logits = head(feats)
    assert logits.shape == (3, 5, 4)
    assert torch.equal(head(feats, head=1), logits[1])
    assert torch.equal(head((torch.zeros(1), feats)), logits)  # a neck's tuple
    assert not torch.allclose(logits[0], logits[1])  # independent initialisations


def test_hidden_layer_and_models_registry_find_the_head():
    head = MODELS.build(dict(type='ClusterHead', num_clusters=3, in_channels=8,
                             hidden_channels=16))
    assert head(torch.randn(2, 8)).shape == (1, 2, 3)
    assert isinstance(head.heads[0], torch.nn.Sequential)


@pytest.mark.parametrize('bad', [dict(num_clusters=1), dict(in_channels=0),
                                 dict(num_heads=True), dict(hidden_channels=-2)])
def test_bad_sizes_are_refused(bad):
    cfg = dict(type='ClusterHead', num_clusters=4, in_channels=8)
    cfg.update(bad)
    with pytest.raises(CdmxError, match='ClusterHead'):
        HEADS.build(cfg)
