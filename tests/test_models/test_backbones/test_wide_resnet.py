"""WideResNet: shapes, parameter count, initialisation, gradients and bad input."""
import math

import pytest
import torch
import torch.nn as nn

from cdmx.models import WideResNet
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


def expected_parameters(depth: int, k: int, in_channels: int, num_classes: int) -> int:
    """WRN-d-k parameters counted from the architecture of Zagoruyko & Komodakis (2016).

    Stem conv 3x3 (in -> 16); per block: BN(c_in), conv3x3 (c_in -> c), BN(c), conv3x3 (c -> c)
    and, where c_in != c, a 1x1 projection; then the final BN and a linear classifier with bias.
    """
    n = (depth - 4) // 6
    total = in_channels * 16 * 9
    c_in = 16
    for c in (16 * k, 32 * k, 64 * k):
        for i in range(n):
            total += 2 * c_in + c_in * c * 9 + 2 * c + c * c * 9
            if c_in != c:
                total += c_in * c
            c_in = c
    return total + 2 * c_in + c_in * num_classes + num_classes


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('depth,k,size', [(28, 2, 32), (16, 4, 32), (10, 1, 28)])
def test_output_shape(depth, k, size):
    model = WideResNet(depth=depth, widen_factor=k).eval()
    out = model(torch.randn(2, 3, size, size))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 64 * k, math.ceil(size / 4), math.ceil(size / 4))


def test_wrn28_2_parameter_count():
    backbone = WideResNet(depth=28, widen_factor=2)
    total = count(backbone) + count(nn.Linear(backbone.out_channels, 10))
    print(f'WRN-28-2 with a 10-class linear classifier: {total} parameters')
    assert total == expected_parameters(28, 2, 3, 10)
    # The size the semi-supervised literature reports for WRN-28-2 (FixMatch: 1.5M).
    assert 1.46e6 < total < 1.48e6


def test_single_channel_input():
    model = WideResNet(depth=10, widen_factor=1, in_channels=1).eval()
    assert model(torch.randn(2, 1, 32, 32))[0].shape == (2, 64, 8, 8)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = WideResNet(depth=16, widen_factor=2)
    head = nn.Linear(model.out_channels, 3)
    x = torch.randn(4, 3, 32, 32)
    logits = head(model(x)[0].mean(dim=(2, 3)))
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_init_weights_follows_init_cfg():
    torch.manual_seed(0)
    model = WideResNet(depth=28, widen_factor=2)
    model.init_weights()
    conv = model.groups[2][1].conv1  # 128 -> 128, 3x3: fan_out = 128 * 9
    gain = math.sqrt(2.0 / (1 + 0.1**2))  # Kaiming gain of LeakyReLU(0.1)
    assert conv.weight.std().item() == pytest.approx(gain / math.sqrt(128 * 9), rel=0.05)
    norm = model.groups[2][1].norm1
    assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)
    assert norm.momentum == 0.001
    assert isinstance(model.groups[0][0].act1, nn.LeakyReLU)
    assert model.groups[0][0].act1.negative_slope == 0.1


def test_shortcuts_project_only_where_shapes_change():
    model = WideResNet(depth=28, widen_factor=2)
    projected = [(g, i) for g, group in enumerate(model.groups) for i, block in enumerate(group)
                 if block.shortcut is not None]
    assert projected == [(0, 0), (1, 0), (2, 0)]
    assert model.groups[1][0].conv1.stride == (2, 2) and model.groups[0][0].conv1.stride == (1, 1)


def test_dropout_is_active_only_in_training():
    torch.manual_seed(0)
    model = WideResNet(depth=10, widen_factor=1, drop_rate=0.5)
    x = torch.randn(2, 3, 32, 32)
    model.train()
    assert not torch.allclose(model(x)[0], model(x)[0])
    model.eval()
    assert torch.allclose(model(x)[0], model(x)[0])


def test_built_from_registry():
    model = MODELS.build(dict(type='WideResNet', depth=10, widen_factor=1))
    assert isinstance(model, WideResNet)


@pytest.mark.parametrize('kwargs', [dict(depth=27), dict(depth=4), dict(widen_factor=0),
                                    dict(drop_rate=1.0)])
def test_bad_arguments_raise_cdmx_error(kwargs):
    with pytest.raises(CdmxError):
        WideResNet(**kwargs)


def test_wrong_input_channels_raise_cdmx_error():
    model = WideResNet(depth=10, widen_factor=1, in_channels=3)
    with pytest.raises(CdmxError, match='in_channels'):
        model(torch.randn(1, 1, 32, 32))
