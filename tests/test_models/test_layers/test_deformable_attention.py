"""The points-first deformable attention agrees with mmcv's pure-PyTorch path and module, and
replaces mmcv's compiled op where mmcv has none for the device."""
import pytest
import torch
from mmcv.ops import MultiScaleDeformableAttention
from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch

from cdmx.models.layers import (PointsFirstDeformableAttention, deformable_attention,
                                deformable_attention_points_first)
from cdmx.utils.errors import CdmxError

SHAPES = torch.tensor([[7, 5], [4, 3], [2, 2]])  # non-square, ceil-pooled levels


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield


def test_matches_mmcv_values_and_gradients():
    torch.manual_seed(0)
    n, queries, heads, dims, points = 2, 9, 3, 4, 2
    keys = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    value = torch.randn(n, keys, heads, dims, requires_grad=True)
    # locations beyond the borders too (zero padding)
    locations = (torch.rand(n, queries, heads, 3, points, 2) * 1.6 - 0.3).requires_grad_()
    weights = torch.rand(n, queries, heads, 3, points).requires_grad_()
    ours = deformable_attention_points_first(value, SHAPES, locations, weights)
    reference = multi_scale_deformable_attn_pytorch(value, SHAPES, locations, weights)
    assert ours.shape == (n, queries, heads * dims)
    torch.testing.assert_close(ours, reference)
    grad = torch.randn_like(ours)
    for a, b in zip(torch.autograd.grad(ours, (value, locations, weights), grad),
                    torch.autograd.grad(reference, (value, locations, weights), grad)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def modules():
    torch.manual_seed(1)
    cfg = dict(embed_dims=12, num_heads=3, num_levels=3, num_points=2, dropout=0.0,
               batch_first=True)
    ours, mmcv = PointsFirstDeformableAttention(**cfg), MultiScaleDeformableAttention(**cfg)
    for module in (ours, mmcv):
        module.init_weights()
    for p in ours.attention_weights.parameters():  # non-uniform attention
        torch.nn.init.normal_(p)
    mmcv.load_state_dict(ours.state_dict())
    return ours, mmcv


@pytest.mark.parametrize('box', [False, True])
def test_module_matches_mmcv_module(box):
    ours, mmcv = modules()
    keys = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    query, value = torch.randn(2, 6, 12), torch.randn(2, keys, 12)
    reference_points = torch.rand(2, 6, 3, 4 if box else 2)  # boxes go to mmcv's forward
    starts = torch.tensor([0, 35, 47])
    args = dict(query=query, value=value, reference_points=reference_points,
                spatial_shapes=SHAPES, level_start_index=starts)
    out, expected = ours(**args), mmcv(**args)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    for (name, p), q in zip(ours.named_parameters(), mmcv.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.fixture
def forced_accelerator(monkeypatch):
    """Every value counts as a CUDA tensor, so the layer asks for mmcv's compiled op; on this
    machine's CPU tensors the op fails as an mmcv without CUDA ops fails on CUDA ("implementation
    for device ... not found"). Returns the warnings logged."""
    logged = []
    monkeypatch.setattr(deformable_attention, 'on_accelerator', lambda value: True)
    monkeypatch.setattr(deformable_attention, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    probe = deformable_attention.compiled_op_available
    probe.cache_clear()
    yield logged
    probe.cache_clear()


def test_without_the_compiled_op_falls_back_with_one_warning(forced_accelerator, monkeypatch):
    used = []
    points_first = deformable_attention.deformable_attention_points_first
    monkeypatch.setattr(deformable_attention, 'deformable_attention_points_first',
                        lambda *args: used.append(1) or points_first(*args))
    ours, mmcv = modules()
    keys = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    args = dict(query=torch.randn(2, 6, 12), value=torch.randn(2, keys, 12),
                reference_points=torch.rand(2, 6, 3, 2), spatial_shapes=SHAPES,
                level_start_index=torch.tensor([0, 35, 47]))
    for _ in range(3):
        torch.testing.assert_close(ours(**args), mmcv(**args))
    assert len(used) == 3 and len(forced_accelerator) == 1  # the PyTorch path, warned once
    message, kwargs = forced_accelerator[0]
    assert 'not found' in message and '\n' not in message and kwargs['level'] == 30
    with pytest.raises(CdmxError, match='batch_first with 2-d reference points'):
        ours(**dict(args, reference_points=torch.rand(2, 6, 3, 4)))


def test_with_the_compiled_op_goes_to_mmcv(forced_accelerator, monkeypatch):
    monkeypatch.setattr(deformable_attention, 'compiled_op_available', lambda device: True)
    calls = []
    monkeypatch.setattr(MultiScaleDeformableAttention, 'forward',
                        lambda self, **kwargs: calls.append(kwargs) or kwargs['query'])
    ours, _ = modules()
    keys = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    ours(query=torch.randn(2, 6, 12), value=torch.randn(2, keys, 12),
         reference_points=torch.rand(2, 6, 3, 2), spatial_shapes=SHAPES,
         level_start_index=torch.tensor([0, 35, 47]))
    assert len(calls) == 1 and not forced_accelerator
