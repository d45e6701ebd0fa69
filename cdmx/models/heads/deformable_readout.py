"""The discriminative readout of DiffMatch's Table 5 "Dis. Baseline".

The paper builds "a discriminative baseline (Dis. Baseline) with the same extra deformable
attention layers" as the mask denoiser (Sec. 4.3, Table 5: 44.9M parameters, as DiffMatch w/o
adj.). It gives no further detail; here it is the mask denoiser (:mod:`.mask_denoiser`) without
what only diffusion needs:

* :class:`DeformableReadout`: a 1x1 conv maps the pixel embedding ``z`` (``D_z`` channels) to
  ``D`` channels (the denoiser's fusion conv without the ``D`` input channels of the embedded
  noisy mask), then ``L`` :class:`ReadoutLayer`\\ s (the denoiser's layers without the time FiLM:
  multi-scale deformable attention over an average-pooled pyramid of the hidden map, every pixel a
  query at its centre, + LayerNorm + FFN + LayerNorm, post-norm);
* :class:`DeformableReadoutASPPHead`: mmseg's DeepLabv3+ head (``DepthwiseSeparableASPPHead``)
  whose classifier reads the readout's output: ``z`` -> readout -> dropout -> 1x1 conv to ``C``
  class logits (the denoiser's last conv predicts ``K`` code channels instead), trained with the
  head's cross-entropy. So the parameters are the denoiser's minus the mask embedding, the time
  MLP, the FiLM layers and the noisy-mask half of the fusion conv, with ``C`` instead of ``K``
  output channels (tested).

No noise, no time, no sampling: one forward gives the logits.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead

from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError

from .mask_denoiser import ReadoutLayer


@HEADS.register_module()
class DeformableReadout(BaseModule):
    """``(N, D_z, H, W)`` pixel embedding -> ``(N, D, H, W)`` refined map (module docstring).

    Args:
        in_channels (int): ``D_z``.
        embed_dims (int): ``D`` (256).
        num_layers (int): ``L`` (4).
        num_heads (int): Attention heads (8).
        num_levels (int): Pyramid levels of the attention values (3).
        num_points (int): Sampling points per head and level (4).
        feedforward_channels (int): FFN hidden width (1024).
        dropout (float): Dropout in the layers (0).
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self, in_channels: int, embed_dims: int = 256, num_layers: int = 4,
                 num_heads: int = 8, num_levels: int = 3, num_points: int = 4,
                 feedforward_channels: int = 1024, dropout: float = 0.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        for name, value in (('in_channels', in_channels), ('embed_dims', embed_dims),
                            ('num_layers', num_layers), ('num_heads', num_heads),
                            ('num_levels', num_levels), ('num_points', num_points),
                            ('feedforward_channels', feedforward_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CdmxError(f'DeformableReadout {name} is {value!r}; give a positive '
                                'integer.')
        if embed_dims % num_heads:
            raise CdmxError(f'DeformableReadout embed_dims {embed_dims} is not divisible by '
                            f'num_heads {num_heads}; choose values that divide.')
        self.in_channels, self.embed_dims = in_channels, embed_dims
        self.input_proj = nn.Conv2d(in_channels, embed_dims, 1)
        self.layers = nn.ModuleList(
            ReadoutLayer(embed_dims, num_heads, num_levels, num_points, feedforward_channels,
                         dropout) for _ in range(num_layers))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 4 or z.shape[1] != self.in_channels:
            raise CdmxError(f'DeformableReadout expects z (N, {self.in_channels}, H, W), got '
                            f'{tuple(z.shape)}; check in_channels and the extractor output.')
        h = self.input_proj(z)
        for layer in self.layers:
            h = layer(h)
        return h


@HEADS.register_module()
class DeformableReadoutASPPHead(DepthwiseSeparableASPPHead):
    """DeepLabv3+ whose classifier reads a :class:`DeformableReadout` (module docstring):
    ``inputs`` (the backbone's outputs) -> ``(N, C, H/4, W/4)`` logits.

    Args:
        readout (dict): :class:`DeformableReadout` config; ``in_channels`` defaults to the
            head's ``channels`` (the pixel embedding ``z``).
        **kwargs: ``mmseg.DepthwiseSeparableASPPHead``'s arguments.
    """

    def __init__(self, readout: dict, **kwargs):
        super().__init__(**kwargs)
        readout = dict(readout)
        readout.setdefault('type', 'DeformableReadout')
        readout.setdefault('in_channels', self.channels)
        self.readout = HEADS.build(readout)
        # the classifier now reads the readout's D channels instead of z's
        self.conv_seg = nn.Conv2d(self.readout.embed_dims, self.out_channels, kernel_size=1)

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """``(N, channels, h, w)`` z -> readout -> mmseg's dropout + 1x1 classifier."""
        return super().cls_seg(self.readout(feat))
