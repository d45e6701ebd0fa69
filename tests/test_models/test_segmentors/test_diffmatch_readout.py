"""DiffMatch with either readout (the paper's regression, DDP's logits) and Algorithm 3's
sampling: each DDIM update starts from the re-encoded prediction."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from tiny_segmentors import DENOISER, NUM_CLASSES, aux_head, batch, diffmatch_cfg, fixed_loss

from cdmx.diffusion import OffsetCosineLogSNRSchedule
from cdmx.registry import MODELS

LOGITS = dict(denoiser=dict(DENOISER, readout='logits'),
              loss=dict(type='DebiasedCrossEntropyLoss', tau=0.1))


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    init_default_scope('cdmx')
    yield


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(diffmatch_cfg(**kwargs))
    model.init_weights()
    return model


def test_defaults_are_algorithm_3s():
    model = build()
    assert isinstance(model.schedule, OffsetCosineLogSNRSchedule) and model.td == 1.0
    assert model.denoiser.readout == 'regression' and model.denoiser.reencode


def test_logits_readout_trains_with_cross_entropy_and_the_auxiliary_head():
    model = build(auxiliary_head=aux_head(16, 0), **LOGITS)
    assert model.denoiser.out_channels == NUM_CLASSES
    data = batch()
    before = fixed_loss(model, data)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=3e-3))
    for _ in range(3):
        logs = model.train_step(copy.deepcopy(data), optim)
        assert {'loss', 'loss_ce', 'loss_adjust', 'aux.loss_ce'} <= set(logs)
        assert 'loss_diffusion' not in logs
        assert all(torch.isfinite(value) for value in logs.values())
    for _ in range(12):
        model.train_step(copy.deepcopy(data), optim)
    assert fixed_loss(model, data) < 0.5 * before


def test_logits_readout_predicts_the_softmax_of_its_upsampled_logits():
    model = build(steps=2, **LOGITS).eval()
    data = batch(2)
    with torch.no_grad():
        out = model.test_step(copy.deepcopy(data))
        inputs = model.data_preprocessor(copy.deepcopy(data), False)['inputs']
        torch.manual_seed(7)
        logits = model.sample(model.extract_pixel_embedding(inputs))[-1]
        torch.manual_seed(7)
        scores = model.encode_decode(inputs, [])
    assert logits.shape == (2, NUM_CLASSES, 8, 8)
    assert torch.allclose(scores.exp().sum(1), torch.ones(2, 32, 32), atol=1e-5)
    assert torch.equal(out[0].pred_sem_seg.data[0], out[0].seg_logits.data.argmax(0))


@pytest.mark.parametrize('readout', ['regression', 'logits'])
@pytest.mark.parametrize('reencode', [True, False])
def test_each_ddim_update_starts_from_the_encoded_prediction(monkeypatch, readout, reencode):
    loss = 'DebiasedDiffusionLoss' if readout == 'regression' else 'DebiasedCrossEntropyLoss'
    model = build(denoiser=dict(DENOISER, readout=readout, reencode=reencode),
                  loss=dict(type=loss), steps=3, td=1.0).eval()
    calls = []
    forward = model.denoiser.forward

    def recording(z, y_t, logsnr, y0_prev=None):
        out = forward(z, y_t, logsnr, y0_prev)
        calls.append((y_t, logsnr, out))
        return out

    monkeypatch.setattr(model.denoiser, 'forward', recording)
    with torch.no_grad():
        predictions = model.sample(torch.randn(2, 16, 8, 8))
    assert len(calls) == 3 and all(c[2] is p for c, p in zip(calls, predictions))
    schedule = model.schedule
    # td = 1, 3 steps: the denoiser is told t = 1, 2/3, 1/3; the sample moves 1 -> 1/3 -> 0
    assert torch.allclose(torch.stack([c[1][0] for c in calls]),
                          schedule.logsnr(torch.tensor([1.0, 2 / 3, 1 / 3])))
    for (y_t, _, out), (y_next, _, _), (t_now, t_next) in zip(calls, calls[1:],
                                                              [(1.0, 1 / 3), (2 / 3, 0.0)]):
        encoded = model.denoiser.encode_prediction(out)
        if reencode:  # the codes of the decoded classes
            codes = model.denoiser.class_vectors()
            assert torch.equal(encoded, codes[model.denoiser.decode(out)].permute(0, 3, 1, 2))
        expected = schedule.ddim_step(y_t, encoded, torch.full((2, ), t_now),
                                      torch.full((2, ), t_next))
        assert torch.allclose(y_next, expected, atol=1e-6)


def test_sampling_debias_of_a_logits_readout_leans_to_the_rare_class():
    model = build(class_prior=[0.9, 0.05, 0.05], debias_sampling=1.0, **LOGITS)
    logits = torch.tensor([0.5, 0.0, -3.0]).view(1, 3, 1, 1)  # class 0 ahead of class 1
    # p^1 / sum = (0.9, 0.05, 0.05): logits - log(3 p) = (0.5 - 0.993, 0 + 1.897, -3 + 1.897)
    assert int(model.denoiser.decode(model.debias(logits))) == 1
