"""Multi-scale deformable attention (Zhu et al. 2021, Deformable DETR, Eq. 3) with a faster
pure-PyTorch path.

mmcv's ``MultiScaleDeformableAttention`` runs its compiled op on CUDA and, everywhere else, the
pure-PyTorch ``multi_scale_deformable_attn_pytorch``. That function samples every level into
``(N heads, D_h, Q, P)``, stacks the levels into ``(N heads, D_h, Q, L P)`` and sums the
attention-weighted samples over that innermost, ``L P``-wide axis (6 in the mini DiffMatch).
On a CPU the stack and the narrow innermost reduction cost more than the bilinear sampling
itself. :func:`deformable_attention_points_first` computes the same sum with the points ahead of
the queries: the sampling grid is ``(N heads, P, Q, 2)``, so each level's samples are
``(N heads, D_h, P, Q)``, and the weighted sum over ``P`` runs along a non-innermost axis
(vectorised over the queries); levels are accumulated one at a time, so nothing is stacked.
Same values and gradients up to float rounding (tests); the speed-up is printed by
``tools/analysis_tools/benchmark_deformable_attention.py``.

On CUDA mmcv always calls its compiled op, and an mmcv built without CUDA ops fails there at the
first forward ("ms_deform_attn_impl_forward: implementation for device cuda:0 not found").
:func:`compiled_op_available` runs the op once on a one-pixel input of the device; where it
fails, :class:`PointsFirstDeformableAttention` warns once (per device) and runs the
points-first path instead.
"""
import functools
import logging
from typing import List

import torch
import torch.nn.functional as F
from mmcv.ops import MultiScaleDeformableAttention
from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
from mmengine.logging import print_log

from cdmx.utils.errors import CdmxError


@functools.lru_cache(maxsize=None)
def compiled_op_available(device: torch.device) -> bool:
    """Whether mmcv's compiled deformable-attention op runs on ``device``: one call on a
    one-pixel input, cached per device; where it raises, one warning line is logged."""
    with torch.no_grad():
        try:
            MultiScaleDeformableAttnFunction.apply(
                torch.zeros(1, 1, 1, 1, device=device),
                torch.ones(1, 2, dtype=torch.long, device=device),
                torch.zeros(1, dtype=torch.long, device=device),
                torch.full((1, 1, 1, 1, 1, 2), 0.5, device=device),
                torch.ones(1, 1, 1, 1, 1, device=device), 1)
        except (RuntimeError, NotImplementedError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            print_log(f'mmcv has no deformable-attention op for {device} ({reason}); using the '
                      'PyTorch path of cdmx.models.layers.deformable_attention.',
                      logger='current', level=logging.WARNING)
            return False
    return True


def on_accelerator(value: torch.Tensor) -> bool:
    """Whether mmcv's forward would call its compiled op on ``value`` (a CUDA tensor)."""
    return value.is_cuda


def deformable_attention_points_first(value: torch.Tensor, spatial_shapes: torch.Tensor,
                                      sampling_locations: torch.Tensor,
                                      attention_weights: torch.Tensor) -> torch.Tensor:
    """``sum_l sum_p A_qlp * V_l(loc_qlp)`` per head (Deformable DETR, Eq. 3), the arguments and
    result of mmcv's ``multi_scale_deformable_attn_pytorch``.

    Args:
        value (Tensor): ``(N, sum_l H_l W_l, heads, D_h)`` projected values.
        spatial_shapes (Tensor): ``(L, 2)`` ``(H_l, W_l)`` of the levels.
        sampling_locations (Tensor): ``(N, Q, heads, L, P, 2)`` normalised ``(x, y)`` in
            ``[0, 1]`` (outside reads zeros, bilinear, ``align_corners=False``).
        attention_weights (Tensor): ``(N, Q, heads, L, P)`` weights ``A``.

    Returns:
        Tensor: ``(N, Q, heads D_h)``.
    """
    n, _, heads, dims = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    sizes: List[List[int]] = spatial_shapes.tolist()
    values = value.split([h * w for h, w in sizes], dim=1)
    # (N, Q, heads, L, P, 2) -> (N heads, L, P, Q, 2): the points ahead of the queries
    grids = (2 * sampling_locations - 1).permute(0, 2, 3, 4, 1, 5).flatten(0, 1)
    weights = attention_weights.permute(0, 2, 3, 4, 1).flatten(0, 1).unsqueeze(1)
    out = None
    for level, (height, width) in enumerate(sizes):
        level_value = values[level].flatten(2).transpose(1, 2).reshape(
            n * heads, dims, height, width)
        sampled = F.grid_sample(level_value, grids[:, level], mode='bilinear',
                                padding_mode='zeros', align_corners=False)  # (N h, D_h, P, Q)
        part = (sampled * weights[:, :, level]).sum(2)  # (N heads, D_h, Q)
        out = part if out is None else out + part
    return out.view(n, heads * dims, queries).transpose(1, 2).contiguous()


class PointsFirstDeformableAttention(MultiScaleDeformableAttention):
    """mmcv's ``MultiScaleDeformableAttention`` (same parameters, initialisation and CUDA op)
    whose path without the compiled op (off CUDA, or an mmcv built without CUDA ops) is
    :func:`deformable_attention_points_first`.

    The projections below restate mmcv's forward for the case the mask denoiser uses
    (``batch_first``, 2-d reference points, no query position or padding mask): mmcv's forward
    calls its module-level CPU function directly, so the only other way in is to patch mmcv.
    Other cases go to mmcv's forward unchanged (off CUDA), or fail with a clear error on a CUDA
    device without the op.
    """

    def forward(self, query: torch.Tensor, value: torch.Tensor,
                reference_points: torch.Tensor, spatial_shapes: torch.Tensor,
                level_start_index: torch.Tensor) -> torch.Tensor:
        """``(N, Q, D)`` queries, ``(N, sum_l H_l W_l, D)`` values, ``(N, Q, L, 2)``
        normalised reference points -> ``(N, Q, D)`` (with the residual ``+ query``)."""
        restated = self.batch_first and reference_points.shape[-1] == 2
        compiled = on_accelerator(value) and compiled_op_available(value.device)
        if on_accelerator(value) and not compiled and not restated:
            raise CdmxError(f'mmcv has no deformable-attention op for {value.device} and the '
                            'PyTorch fallback covers batch_first with 2-d reference points '
                            'only; install an mmcv built with CUDA ops.')
        if compiled or not restated:
            return super().forward(query=query, value=value, reference_points=reference_points,
                                   spatial_shapes=spatial_shapes,
                                   level_start_index=level_start_index)
        n, num_query, _ = query.shape
        heads, levels, points = self.num_heads, self.num_levels, self.num_points
        value = self.value_proj(value).view(n, value.shape[1], heads, -1)
        offsets = self.sampling_offsets(query).view(n, num_query, heads, levels, points, 2)
        weights = self.attention_weights(query).view(n, num_query, heads, levels * points)
        weights = weights.softmax(-1).view(n, num_query, heads, levels, points)
        normaliser = spatial_shapes.flip(-1).to(offsets.dtype)  # (L, 2) as (W_l, H_l)
        locations = reference_points[:, :, None, :, None, :] + \
            offsets / normaliser[None, None, None, :, None, :]
        output = deformable_attention_points_first(value, spatial_shapes, locations, weights)
        return self.dropout(self.output_proj(output)) + query
