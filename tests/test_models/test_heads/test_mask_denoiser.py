"""MaskDenoiser: shapes, the CPU deformable attention path, time FiLM, label encodings,
readouts and Algorithm 3's re-encoding."""
import math

import pytest
import torch

from cdmx.models.heads import MaskDenoiser
from cdmx.models.heads.mask_denoiser import pyramid, reference_points
from cdmx.models.layers import deformable_attention
from cdmx.registry import HEADS, MODELS
from cdmx.utils.errors import CdmxError

TINY = dict(in_channels=12, embed_dims=16, num_layers=2, num_heads=2, num_levels=3,
            num_points=2, feedforward_channels=32)


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield


def inputs(denoiser, n=2, size=8):
    return (torch.randn(n, denoiser.in_channels, size, size),
            torch.randn(n, denoiser.label_channels, size, size), torch.tensor([-5.0, 3.0])[:n])


def test_output_shape_and_bits():
    denoiser = MaskDenoiser(num_classes=19, **TINY)
    assert denoiser.label_channels == 5
    z, y_t, logsnr = inputs(denoiser)
    assert denoiser(z, y_t, logsnr).shape == (2, 5, 8, 8)


def test_runs_the_points_first_attention_on_cpu(monkeypatch):
    calls = []
    original = deformable_attention.deformable_attention_points_first

    def counting(*args, **kwargs):
        calls.append(args[1].tolist())  # the spatial shapes of the levels
        return original(*args, **kwargs)

    monkeypatch.setattr(deformable_attention, 'deformable_attention_points_first', counting)
    denoiser = MaskDenoiser(num_classes=4, **TINY)
    denoiser(*inputs(denoiser, size=7))
    assert calls == [[[7, 7], [4, 4], [2, 2]]] * 2  # one call per layer, ceil-pooled levels


def test_pyramid_and_reference_points():
    value, shapes, starts = pyramid(torch.randn(2, 4, 8, 6), 3)
    assert shapes.tolist() == [[8, 6], [4, 3], [2, 2]]
    assert starts.tolist() == [0, 48, 60] and value.shape == (2, 64, 4)
    ref = reference_points(2, 4, 3, 5, torch.device('cpu'))
    assert ref.shape == (5, 8, 3, 2)
    assert ref[0, 0, 0].tolist() == [0.125, 0.25] and ref[0, -1, 2].tolist() == [0.875, 0.75]


def test_time_film_starts_as_identity_and_learns():
    denoiser = MaskDenoiser(num_classes=4, **TINY).eval()
    z, y_t, _ = inputs(denoiser, n=1)
    early = denoiser(z, y_t, torch.tensor([-10.0]))
    assert torch.allclose(early, denoiser(z, y_t, torch.tensor([10.0])))  # zero-init FiLM
    early.sum().backward()
    assert all(layer.film.weight.grad.abs().sum() > 0 for layer in denoiser.layers)
    with torch.no_grad():
        for layer in denoiser.layers:
            layer.film.weight.normal_()
    assert not torch.allclose(denoiser(z, y_t, torch.tensor([-10.0])),
                              denoiser(z, y_t, torch.tensor([10.0])))


def test_every_parameter_gets_a_gradient():
    denoiser = MaskDenoiser(num_classes=5, label_encoding='embedding', **TINY)
    z, _, logsnr = inputs(denoiser)
    y0 = denoiser.encode(torch.randint(0, 5, (2, 8, 8)))
    (denoiser(z, y0 + torch.randn_like(y0), logsnr) ** 2).sum().backward()
    missing = [name for name, p in denoiser.named_parameters() if p.grad is None]
    assert not missing


def test_self_conditioning_reads_the_previous_estimate():
    denoiser = MaskDenoiser(num_classes=5, label_encoding='one_hot', self_condition=True,
                            **TINY).eval()
    assert denoiser.mask_embed.in_channels == 10  # y_t and the previous estimate
    z, y_t, logsnr = inputs(denoiser)
    first = denoiser(z, y_t, logsnr)
    assert torch.equal(first, denoiser(z, y_t, logsnr, torch.zeros_like(y_t)))
    assert not torch.allclose(first, denoiser(z, y_t, logsnr, first))
    with pytest.raises(CdmxError, match='same shape'):
        denoiser(z, y_t, logsnr, first[:, :3])
    plain = MaskDenoiser(num_classes=5, label_encoding='one_hot', **TINY)
    with pytest.raises(CdmxError, match='self_condition=True'):
        plain(z, y_t, logsnr, first)
    with pytest.raises(CdmxError, match='self_condition'):
        MaskDenoiser(num_classes=5, self_condition=1, **TINY)


@pytest.mark.parametrize('encoding,channels', [('analog_bits', 3), ('one_hot', 5),
                                               ('embedding', 3)])
def test_encode_decode_round_trip_and_ignore(encoding, channels):
    denoiser = MaskDenoiser(num_classes=5, label_encoding=encoding, bit_scale=0.1, **TINY)
    labels = torch.randint(0, 5, (2, 6, 6))
    labels[0, 0, 0] = 255
    y0 = denoiser.encode(labels)
    assert y0.shape == (2, channels, 6, 6)
    assert torch.all(y0[0, :, 0, 0] == 0)
    norms = y0.norm(dim=1)[labels != 255]
    assert torch.allclose(norms, torch.full_like(norms, 0.1 * channels ** 0.5), atol=1e-5)
    decoded = denoiser.decode(y0)
    assert torch.equal(decoded[labels != 255], labels[labels != 255])
    scores = denoiser.class_log_probs(y0)
    assert scores.shape == (2, 5, 6, 6) and torch.equal(scores.argmax(1), decoded)


def test_one_hot_scores_are_the_posterior_that_the_squared_error_predicts():
    # The MSE-optimal prediction of a pixel with class posterior P is b (2 P - 1) per channel;
    # its scores must give P back, and its argmax must be the most probable class even where
    # the per-bit marginals of analog bits would decode another class.
    posterior = torch.tensor([0.3, 0.0, 0.0, 0.3, 0.0, 0.4])  # classes 0, 3 and 5
    one_hot = MaskDenoiser(num_classes=6, label_encoding='one_hot', bit_scale=0.1, **TINY)
    y0 = (one_hot.class_vectors() * posterior[:, None]).sum(0)[None, :, None, None]
    probs = one_hot.class_log_probs(y0).exp()[0, :, 0, 0]
    assert torch.allclose(probs, posterior.clamp(min=1e-4) / posterior.clamp(min=1e-4).sum(),
                          atol=1e-4)
    assert int(one_hot.decode(y0)) == 5
    bits = MaskDenoiser(num_classes=6, label_encoding='analog_bits', bit_scale=0.1, **TINY)
    marginals = (bits.class_vectors() * posterior[:, None]).sum(0)[None, :, None, None]
    assert int(bits.decode(marginals)) != 5  # 101 vs 011 vs 000: the marginals give 001


def test_built_from_heads_and_models():
    assert isinstance(HEADS.build(dict(type='MaskDenoiser', num_classes=3, **TINY)), MaskDenoiser)
    assert isinstance(MODELS.build(dict(type='MaskDenoiser', num_classes=3, **TINY)), MaskDenoiser)


def test_bad_configs_and_inputs():
    with pytest.raises(CdmxError, match='label_encoding'):
        MaskDenoiser(num_classes=3, label_encoding='gray_code', **TINY)
    with pytest.raises(CdmxError, match='divisible'):
        MaskDenoiser(num_classes=3, **dict(TINY, num_heads=3))
    with pytest.raises(CdmxError, match='embedding_dims'):
        MaskDenoiser(num_classes=3, embedding_dims=8, **TINY)
    with pytest.raises(CdmxError, match='positive integer'):
        MaskDenoiser(num_classes=3, **dict(TINY, num_layers=0))
    denoiser = MaskDenoiser(num_classes=3, **TINY)
    z, y_t, logsnr = inputs(denoiser)
    with pytest.raises(CdmxError, match='in_channels'):
        denoiser(z[:, :4], y_t, logsnr)
    with pytest.raises(CdmxError, match='y_t'):
        denoiser(z, y_t[:, :, :4], logsnr)
    with pytest.raises(CdmxError, match='outside'):
        denoiser.encode(torch.full((1, 2, 2), 3))


def test_logits_readout_predicts_class_logits():
    denoiser = MaskDenoiser(num_classes=5, readout='logits', **TINY)
    assert denoiser.label_channels == 3 and denoiser.out_channels == 5
    z, y_t, logsnr = inputs(denoiser)
    logits = denoiser(z, y_t, logsnr)
    assert logits.shape == (2, 5, 8, 8)
    assert torch.allclose(denoiser.class_log_probs(logits), logits.log_softmax(1))
    assert torch.equal(denoiser.decode(logits), logits.argmax(1))


def test_algorithm_3_reencodes_the_decoded_prediction():
    # Analog bits of 3 classes (2 bits, b = 0.1): a prediction (0.03, -0.2) thresholds to the
    # bits 1, 0 = class 2, written again as (0.1, -0.1); (-0.01, 0.002) -> 0, 1 = class 1.
    bits = MaskDenoiser(num_classes=3, **TINY)
    pred = torch.tensor([[0.03, -0.01], [-0.2, 0.002]]).view(1, 2, 1, 2)
    expected = torch.tensor([[0.1, -0.1], [-0.1, 0.1]]).view(1, 2, 1, 2)
    assert torch.allclose(bits.encode_prediction(pred), expected)
    raw = MaskDenoiser(num_classes=3, reencode=False, **TINY)
    assert torch.equal(raw.encode_prediction(pred), pred)  # the raw prediction, an option
    # Logits of 3 classes with one-hot codes: argmax class 1 -> (-0.1, 0.1, -0.1); without
    # re-encoding the softmax-weighted codes, sum_c P_c (2 onehot(c) - 1) b = (2 P - 1) b.
    logits = torch.tensor([0.0, 2.0, 1.0]).view(1, 3, 1, 1)
    one_hot = MaskDenoiser(num_classes=3, label_encoding='one_hot', readout='logits', **TINY)
    assert one_hot.encode_prediction(logits).flatten().tolist() == pytest.approx(
        [-0.1, 0.1, -0.1])
    mean = MaskDenoiser(num_classes=3, label_encoding='one_hot', readout='logits',
                        reencode=False, **TINY)
    probs = torch.tensor([1.0, math.e ** 2, math.e]) / (1 + math.e ** 2 + math.e)
    assert mean.encode_prediction(logits).flatten().tolist() == pytest.approx(
        ((2 * probs - 1) * 0.1).tolist())


def test_debiased_divides_the_posterior_by_c_p():
    # Logits (0, 0) with p = (0.25, 0.75): logits - log(C p) = (-log 0.5, -log 1.5), the
    # posterior (0.5, 0.5) / (0.5, 1.5) normalised = (0.75, 0.25).
    logits = MaskDenoiser(num_classes=2, readout='logits', **TINY)
    moved = logits.debiased(torch.zeros(1, 2, 1, 1), torch.tensor([0.25, 0.75]))
    assert moved.flatten().tolist() == pytest.approx([math.log(2), -math.log(1.5)])
    assert moved.softmax(1).flatten().tolist() == pytest.approx([0.75, 0.25])
    # Regression: the mean code moves by debias_shift; one bit, f = 0: P = (0.5, 0.5) ->
    # (0.75, 0.25), mean 0.75 * -0.1 + 0.25 * 0.1 = -0.05.
    bits = MaskDenoiser(num_classes=2, **TINY)
    assert float(bits.debiased(torch.zeros(1, 1, 1, 1), torch.tensor([0.25, 0.75]))) == \
        pytest.approx(-0.05, abs=1e-6)


def test_self_conditioning_of_a_logits_readout_reads_the_posterior_mean(monkeypatch):
    denoiser = MaskDenoiser(num_classes=5, label_encoding='one_hot', readout='logits',
                            self_condition=True, **TINY).eval()
    z, y_t, logsnr = inputs(denoiser)
    first = denoiser(z, y_t, logsnr)
    seen = []
    monkeypatch.setattr(denoiser.mask_embed, 'forward', lambda x: seen.append(x) or
                        torch.zeros(x.shape[0], 16, *x.shape[2:]))
    denoiser(z, y_t, logsnr, first)
    assert torch.allclose(seen[0][:, 5:], denoiser.posterior_mean(first))
    with pytest.raises(CdmxError, match='same shape'):
        denoiser(z, y_t, logsnr, y_t[:, :3])


def test_bad_readout_options():
    with pytest.raises(CdmxError, match='readout'):
        MaskDenoiser(num_classes=3, readout='softmax', **TINY)
    with pytest.raises(CdmxError, match='reencode'):
        MaskDenoiser(num_classes=3, reencode='yes', **TINY)
