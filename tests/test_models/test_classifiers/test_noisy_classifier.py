"""NoisyClassifier: GDUI's timestep-conditioned classifier of noisy images (§3.5)."""
import copy
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

SCHEDULER = dict(num_train_timesteps=50, beta_schedule='linear', beta_start=0.002,
                 beta_end=0.4, prediction_type='epsilon')


def tiny_classifier(**overrides):
    cfg = dict(type='NoisyClassifier',
               backbone=dict(type='WideResNet', depth=10, widen_factor=1, in_channels=1),
               feat_channels=64,
               cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=64,
                                 num_heads=1, hidden_channels=16),
               cls_head=dict(type='ClosedSetHead', num_classes=3, in_channels=4),
               noise_scheduler=SCHEDULER)
    cfg.update(overrides)
    return MODELS.build(cfg)


def labelled_batch(num: int = 6) -> dict:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(num) % 3
    # Class k images are bright in proportion to k, so a few steps learn them.
    images = (labels.view(-1, 1, 1, 1) * 100 + torch.randint(0, 40, (num, 1, 8, 8), generator=g))
    samples = [DataSample().set_gt_label(int(k)) for k in labels]
    return dict(inputs=list(images.to(torch.uint8)), data_samples=samples)


def test_forward_backward_and_training_steps(single_thread):
    torch.manual_seed(0)
    model = tiny_classifier()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    data = labelled_batch(12)
    losses = [float(model.train_step(copy.deepcopy(data), wrapper)['loss'].detach())
              for _ in range(8)]
    assert all(math.isfinite(v) for v in losses)
    assert losses[0] == pytest.approx(math.log(3), abs=0.6)
    model.zero_grad()
    model(**model.data_preprocessor(copy.deepcopy(data), True), mode='loss')['loss'].backward()
    for part in (model.backbone, model.time_embedding, model.cluster_head, model.cls_head):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def test_logits_depend_on_the_timestep(single_thread):
    model = tiny_classifier().eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        early, late = model.logits(x, 0), model.logits(x, 40)
        per_sample = model.logits(x, torch.tensor([0, 40]))
    assert early.shape == (2, 3)
    assert not torch.allclose(early, late)
    assert torch.allclose(per_sample[0], early[0]) and torch.allclose(per_sample[1], late[1])


def test_log_prob_is_the_log_softmax_of_the_labels(single_thread):
    model = tiny_classifier().eval()
    x = torch.randn(3, 1, 8, 8, requires_grad=True)
    labels = torch.tensor([2, 0, 1])
    log_prob = model.log_prob(x, 10, labels)
    expected = model.logits(x, 10).log_softmax(1)[torch.arange(3), labels]
    assert log_prob.shape == (3, ) and torch.allclose(log_prob, expected)
    grad = torch.autograd.grad(log_prob.sum(), x)[0]
    assert grad.shape == x.shape and grad.abs().sum() > 0


def test_predict_sets_scores_at_the_test_timestep(single_thread):
    model = tiny_classifier(test_timestep=5).eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        samples = model(x, mode='predict')
        logits = model(x, mode='tensor')
    assert torch.allclose(logits, model.logits(x, 5))
    for sample, row in zip(samples, logits.softmax(1)):
        assert torch.allclose(sample.pred_score, row)
        assert int(sample.pred_label) == int(row.argmax())


def test_bad_input_is_refused(single_thread):
    with pytest.raises(CdmxError, match='feat_channels'):
        tiny_classifier(feat_channels=32,
                        cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=32))(
                            torch.zeros(1, 1, 8, 8))
    with pytest.raises(CdmxError, match='num_heads=1'):
        tiny_classifier(cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=64,
                                          num_heads=2))(torch.zeros(1, 1, 8, 8))
    with pytest.raises(CdmxError, match='test_timestep'):
        tiny_classifier(test_timestep=50)
    with pytest.raises(CdmxError, match='epsilon'):
        tiny_classifier(noise_scheduler=dict(SCHEDULER, prediction_type='sample'))
    model = tiny_classifier()
    data = labelled_batch(3)
    data['data_samples'][0].set_gt_label(5)
    batch = model.data_preprocessor(data, True)
    with pytest.raises(CdmxError, match='3 classes'):
        model(**batch, mode='loss')
    with pytest.raises(CdmxError, match='gt_label'):
        model(batch['inputs'], None, mode='loss')
    with pytest.raises(CdmxError, match='forward mode'):
        model(batch['inputs'], mode='sample')
