"""ClusterModel: EM on frozen features recovers known clusters; the joint stage's losses."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from cdmx.evaluation.metrics import cluster_accuracy
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

BACKBONE = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=2, base_channels=2)


def build(stage='self', in_channels=8, num_heads=3, **kwargs):
    init_default_scope('cdmx')
    return MODELS.build(dict(type='ClusterModel', stage=stage, backbone=BACKBONE,
                             head=dict(type='ClusterHead', num_clusters=4,
                                       in_channels=in_channels, num_heads=num_heads),
                             **kwargs))


def blobs(seed, n_per=100, k=4, d=8):
    """Four well-separated Gaussian blobs, as (N, D, 1, 1) "images" and their blob ids."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g) * 2
    labels = torch.arange(k).repeat_interleave(n_per)
    x = centres[labels] + 0.3 * torch.randn(len(labels), d, generator=g)
    return x[:, :, None, None], labels


def feature_model(model):
    """Replace the ResNet by the identity: the "images" are the features themselves."""
    model.backbone = nn.Identity()
    return model


@pytest.mark.parametrize('seed', [0, 4])
def test_em_recovers_known_clusters_and_picks_the_best_head(seed, single_thread):
    torch.manual_seed(seed)
    model = feature_model(build())
    x, y = blobs(seed)
    optimizer = torch.optim.Adam(model.head.parameters(), lr=0.01)
    model.train()
    for _ in range(60):
        batch = x[torch.randperm(len(x))[:200]]
        losses = model.loss([batch, batch + 0.1 * torch.randn_like(batch)], None)
        assert sorted(losses) == ['loss_head0', 'loss_head1', 'loss_head2']
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        per_head = [cluster_accuracy(logits.argmax(1).numpy(), y.numpy())
                    for logits in model.head(x.flatten(1))]
        samples = model.predict(x)
    predicted = np.array([int(s.pred_label) for s in samples])
    assert cluster_accuracy(predicted, y.numpy()) == 1.0
    assert model.best_head == int(np.argmin(model.head_losses.numpy()))
    assert min(per_head) < 1.0  # some head got stuck, so choosing mattered
    assert samples[0].pred_score.shape == (4, )


def test_self_stage_freezes_the_feature_model(single_thread):
    model = build(in_channels=16)  # the 2-channel ResNet-18 pools 16 channels
    model.train()
    assert not model.backbone.training
    assert all(not p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    images = torch.randn(40, 3, 8, 8)
    before = model.backbone.conv1.weight.clone()
    losses = model.loss([images, images.flip(-1)], None)
    sum(losses.values()).backward()
    assert model.backbone.conv1.weight.grad is None
    assert torch.equal(model.backbone.conv1.weight, before)


def test_joint_stage_trains_on_reliable_and_confident_samples(single_thread):
    torch.manual_seed(0)
    model = feature_model(build('joint', num_heads=2,
                                confident_labeler=dict(type='ConfidentLabeler', threshold=0.5)))
    model.head_losses.copy_(torch.tensor([2.0, 1.0]))
    model.loss_steps.fill_(1)
    assert model.best_head == 1
    x, y = blobs(1, n_per=10)
    samples = [DataSample(metainfo=dict(pseudo_label=int(label) if i % 2 else -1))
               for i, label in enumerate(y)]
    model.train()
    losses = model.loss([x, x + 0.1 * torch.randn_like(x)], samples)
    assert sorted(losses) == ['loss_confident', 'loss_reliable']
    sum(losses.values()).backward()
    assert model.head.heads[0].weight.grad is None  # only the chosen head learns
    assert model.head.heads[1].weight.grad.abs().sum() > 0
    # The reliable loss is the cross-entropy of the labelled half on the weak view.
    logits = model.head(x.flatten(1), head=1)
    reliable = torch.arange(len(y)) % 2 == 1
    expected = nn.functional.cross_entropy(logits[reliable], y[reliable])
    assert losses['loss_reliable'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_joint_stage_needs_pseudo_labels_and_two_views():
    model = build('joint')
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(CdmxError, match='pseudo_label'):
        model.loss([x, x], [DataSample(), DataSample()])
    with pytest.raises(CdmxError, match='MultiView'):
        model.loss(x, None)
    with pytest.raises(CdmxError, match="stage 'semi'"):
        build('semi')
