"""Analog bits: sizes, bit order, round trip, class log-probabilities and invalid codes."""
import pytest
import torch

from cdmx.diffusion import bits_to_ids, bits_to_log_probs, ids_to_bits, num_bits
from cdmx.diffusion.analog_bits import class_codes
from cdmx.utils.errors import CdmxError


@pytest.mark.parametrize('classes, bits', [(2, 1), (3, 2), (4, 2), (19, 5), (21, 5), (81, 7),
                                           (256, 8), (257, 9)])
def test_num_bits(classes, bits):
    assert num_bits(classes) == bits


@pytest.mark.parametrize('classes', [1, 0, 2.0, True])
def test_bad_num_classes(classes):
    with pytest.raises(CdmxError, match='at least 2'):
        num_bits(classes)


def test_most_significant_bit_first_in_plus_minus_b():
    bits = ids_to_bits(torch.tensor([[[1, 2]]]), num_classes=4, scale=0.1)  # (1, 2, 1, 2)
    assert bits.shape == (1, 2, 1, 2)
    assert bits[0, :, 0, 0].tolist() == pytest.approx([-0.1, 0.1])  # 1 = 01
    assert bits[0, :, 0, 1].tolist() == pytest.approx([0.1, -0.1])  # 2 = 10
    assert set(ids_to_bits(torch.arange(19)[None, None], 19, 0.5).unique().tolist()) == {-0.5,
                                                                                          0.5}


@pytest.mark.parametrize('classes', [2, 5, 19, 21])
def test_round_trip_and_log_probs_peak_at_the_code(classes):
    ids = torch.arange(classes).reshape(1, 1, classes)
    bits = ids_to_bits(ids, classes)
    assert torch.equal(bits_to_ids(bits, classes), ids)
    log_probs = bits_to_log_probs(bits, classes)
    assert log_probs.shape == (1, classes, 1, classes)
    assert torch.equal(log_probs.argmax(1), ids)
    # an exact code has probability ~1 (q = 1 - eps on every bit)
    assert torch.allclose(log_probs.max(1).values.exp(), torch.ones(1, 1, classes), atol=1e-3)


def test_bit_probability_is_the_posterior_mean_map():
    # y = b (2 q - 1)  <=>  q = (y / b + 1) / 2: a bit at 0.05 with b = 0.1 has q = 0.75
    log_probs = bits_to_log_probs(torch.tensor([0.05]).reshape(1, 1, 1, 1), 2, 0.1)
    assert log_probs.exp().flatten().tolist() == pytest.approx([0.25, 0.75])


def test_ids_are_the_argmax_of_the_log_probs():
    bits = torch.randn(3, 5, 6, 7) * 0.1
    assert torch.equal(bits_to_ids(bits, 21), bits_to_log_probs(bits, 21).argmax(1))


def test_invalid_code_goes_to_the_most_probable_valid_class_not_the_last():
    # C = 6 (3 bits): thresholding (0.1, 0.09, -0.02) reads 110 = 6, not a class. Clamping would
    # give 5 (101); the most probable valid code is 100 = 4: P = (1-e) * 0.05 * 0.6.
    bits = torch.tensor([0.1, 0.09, -0.02]).reshape(1, 3, 1, 1)
    assert int(bits_to_ids(bits, 6)) == 4
    assert int(bits_to_log_probs(bits, 6).argmax(1)) == 4


def test_class_codes_table():
    assert class_codes(3).tolist() == [[0, 0], [0, 1], [1, 0]]


def test_bad_ids_and_channel_count():
    with pytest.raises(CdmxError, match='mask ignored pixels'):
        ids_to_bits(torch.tensor([[[255]]]), 19)
    with pytest.raises(CdmxError, match='5 analog bits'):
        bits_to_log_probs(torch.zeros(1, 4, 2, 2), 19)
