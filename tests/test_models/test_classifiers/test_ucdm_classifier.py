"""UCDMClassifier: pair batches through the data preprocessor, loss wiring, a training step,
Eq. 10 / Eq. 11 scores by hand, predictions and bad input."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from cdmx.models.classifiers import known_driven_scores, open_set_scores
from cdmx.models.losses import UCDMLoss
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

MEAN, STD = [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]


def config(num_open=2, **kwargs):
    cfg = dict(
        type='UCDMClassifier',
        backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=64),
        open_head=dict(type='OpenSetHead', num_classes=num_open, in_channels=64),
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=MEAN, std=STD,
                               to_rgb=False))
    cfg.update(kwargs)
    return cfg


def pair_batch(branches=('generated', 'pseudo_known', 'pseudo_unknown', 'generated'),
               labels=(0, 1, 1, 0), seed=0):
    """What a pair dataset yields after pseudo_collate: lists of (2, 3, 8, 8) uint8 pairs."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (2, 3, 8, 8), generator=gen, dtype=torch.uint8)
              for _ in branches]
    samples = [DataSample(metainfo=dict(branch=b)).set_gt_label(k)
               for b, k in zip(branches, labels)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MODELS.build(config())


def test_preprocessor_normalises_both_images_of_each_pair(model):
    data = pair_batch()
    out = model.data_preprocessor(data, True)
    assert out['inputs'].shape == (4, 2, 3, 8, 8)
    mean, std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)
    for i, pair in enumerate(data['inputs']):
        for j in range(2):
            assert torch.allclose(out['inputs'][i, j], (pair[j].float() - mean) / std)


def test_loss_is_ucdm_loss_of_positives_and_negatives(model):
    data = model.data_preprocessor(pair_batch(), True)
    inputs = data['inputs']
    model.train()
    with torch.no_grad():
        losses = model(inputs, data['data_samples'], mode='loss')
        closed, opened = model(torch.cat([inputs[:, 0], inputs[:, 1]]), mode='tensor')
        expected = UCDMLoss()(closed[:4], opened[:4], opened[4:], torch.tensor([0, 1, 1, 0]),
                              torch.tensor([0, 1, 2, 0]))
        swapped = model(inputs.flip(1), data['data_samples'], mode='loss')
    assert set(losses) == set(expected)
    for key in expected:
        assert losses[key].item() == pytest.approx(expected[key].item(), rel=1e-5)
    assert swapped['eq13'].item() != pytest.approx(losses['eq13'].item(), rel=1e-3)


def test_train_step_updates_every_part():
    torch.manual_seed(1)
    model = MODELS.build(config())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train()
    log = model.train_step(pair_batch(), wrapper)
    assert {'loss', 'loss_generated', 'loss_pseudo_known', 'loss_pseudo_unknown'} <= set(log)
    assert log['loss'].item() == pytest.approx(
        sum(log[k].item() for k in log if k.startswith('loss_')), rel=1e-5)
    for prefix in ('backbone.', 'closed_head.', 'open_head.'):
        assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters()
                   if n.startswith(prefix)), prefix


def test_eq10_and_eq11_by_hand():
    # closed softmax [3/4, 1/4]; p_0(out) = 1/2, p_1(out) = 4/5, so p_0(in) = 1/2, p_1(in) = 1/5.
    closed = torch.tensor([[math.log(3), 0.0]])
    opened = torch.tensor([[[0.0, 0.0], [0.0, math.log(4)]]])
    other = (1 / 2) * (4 / 5)
    assert open_set_scores(closed, opened)[0].tolist() == pytest.approx(
        [(1 - other) * 3 / 4, (1 - other) * 1 / 4, other])
    assert known_driven_scores(closed, opened)[0].tolist() == pytest.approx(
        [3 / 8, 1 / 20, 1 - 3 / 8 - 1 / 20])


def test_predict_sets_closed_and_open_scores(model):
    model.eval()
    images = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        samples = model(images, mode='predict')
        closed, opened = model(images, mode='tensor')
    q = open_set_scores(closed, opened)
    for i, sample in enumerate(samples):
        assert torch.allclose(sample.pred_score, closed[i].softmax(0))
        assert int(sample.pred_label) == int(closed[i].argmax())
        assert torch.allclose(sample.open_score, q[i])
        assert float(sample.open_score.sum()) == pytest.approx(1.0, abs=1e-6)
        assert int(sample.open_label) == int(q[i].argmax())
        assert sample.known_driven_score.shape == (3, )
        assert float(sample.known_driven_score.sum()) == pytest.approx(1.0, abs=1e-6)


def test_bad_configs():
    with pytest.raises(CdmxError, match='to_rgb'):
        MODELS.build(config(data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                                   to_rgb=True)))
    with pytest.raises(CdmxError, match='number of known classes'):
        MODELS.build(config(num_open=3))


def test_bad_batches(model):
    data = model.data_preprocessor(pair_batch(), True)
    with pytest.raises(CdmxError, match=r'\(N, 2, C, H, W\)'):
        model(data['inputs'][:, 0], data['data_samples'], mode='loss')
    no_branch = [DataSample().set_gt_label(0) for _ in range(4)]
    with pytest.raises(CdmxError, match='branch'):
        model(data['inputs'], no_branch, mode='loss')
    with pytest.raises(CdmxError, match='single images'):
        model(data['inputs'], mode='predict')
    with pytest.raises(CdmxError, match="'loss', 'predict' or 'tensor'"):
        model(data['inputs'][:, 0], mode='logits')

