"""Wide residual network (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016).

mmpretrain has no WRN, so it is written here. This is the pre-activation variant that the
semi-supervised literature trains (FixMatch, Sohn et al. 2020, and its reference code; UCDM
keeps that backbone): WRN-d-k has a 3x3 stem with 16 channels, then three groups of
``n = (d - 4) / 6`` basic blocks with ``16k, 32k, 64k`` channels and strides 1, 2, 2, and a final
BN-activation (a pre-activation network ends un-normalised otherwise). Each block computes::

    a = act(BN(x))                                         # pre-activation
    y = conv3x3(dropout(act(BN(conv3x3_s(a)))))            # residual branch, stride s
    out = y + (x            if shapes agree                # identity shortcut
               else conv1x1_s(a))                          # projection of the activated input

with ``act = LeakyReLU(0.1)`` and BN momentum 0.001 (FixMatch's choices; the 2016 paper uses
ReLU and Torch's default momentum 0.1 — both are config options; short schedules need the
larger momentum, see configs/baselines/wrn28-2_fashion-mnist-mini.py). WRN-28-2 with a
10-class linear classifier has 1,467,610 parameters.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

DEFAULT_NORM = dict(type='BN', momentum=0.001)
DEFAULT_ACT = dict(type='LeakyReLU', negative_slope=0.1)
DEFAULT_INIT = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='leaky_relu', a=0.1,
         distribution='normal'),
    dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1.0, bias=0.0),
]


class PreActBasicBlock(BaseModule):
    """One pre-activation block: (N, C_in, H, W) -> (N, C_out, H / stride, W / stride).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        stride (int): Stride of the first 3x3 convolution and of the projection shortcut.
        drop_rate (float): Dropout probability between the two convolutions.
        norm_cfg (dict): Normalisation layer config (mmcv ``build_norm_layer``).
        act_cfg (dict): Activation config (mmcv ``build_activation_layer``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, drop_rate: float,
                 norm_cfg: dict, act_cfg: dict, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.act1 = build_activation_layer(act_cfg)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act2 = build_activation_layer(act_cfg)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False)
                         if needs_projection else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.act1(self.norm1(x))
        y = self.conv1(activated)
        y = self.conv2(self.dropout(self.act2(self.norm2(y))))
        identity = x if self.shortcut is None else self.shortcut(activated)
        return y + identity


@MODELS.register_module()
class WideResNet(BaseModule):
    """WRN-depth-widen_factor backbone: (N, in_channels, H, W) -> ((N, 64 k, H / 4, W / 4),).

    For 32x32 inputs and WRN-28-2 the output is one (N, 128, 8, 8) feature map (tuple of one, as
    mmpretrain backbones return), ready for ``mmpretrain.GlobalAveragePooling``.

    Args:
        depth (int): Total depth d; ``d - 4`` must be divisible by 6. Defaults to 28.
        widen_factor (int): Width multiplier k. Defaults to 2.
        in_channels (int): Input image channels. Defaults to 3.
        drop_rate (float): Dropout probability inside each block. Defaults to 0.
        norm_cfg (dict): Normalisation config; defaults to BN with momentum 0.001.
        act_cfg (dict): Activation config; defaults to LeakyReLU(0.1).
        init_cfg (dict | list[dict]): mmengine initialisation; defaults to Kaiming-normal
            (fan-out) convolutions and unit-weight, zero-bias norms.
    """

    def __init__(self, depth: int = 28, widen_factor: int = 2, in_channels: int = 3,
                 drop_rate: float = 0.0, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, Sequence[dict]]] = None):
        super().__init__(init_cfg=DEFAULT_INIT if init_cfg is None else init_cfg)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise CdmxError(f'WideResNet depth {depth} is not of the form 6n + 4 with n >= 1; '
                            'use a depth such as 10, 16, 22 or 28.')
        if widen_factor < 1:
            raise CdmxError(f'WideResNet widen_factor {widen_factor} is below 1; use a positive '
                            'integer such as 2.')
        if not 0.0 <= drop_rate < 1.0:
            raise CdmxError(f'WideResNet drop_rate {drop_rate} is outside [0, 1); use a '
                            'probability such as 0.0 or 0.3.')
        norm_cfg = dict(DEFAULT_NORM if norm_cfg is None else norm_cfg)
        act_cfg = dict(DEFAULT_ACT if act_cfg is None else act_cfg)
        blocks_per_group = (depth - 4) // 6
        widths = (16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
        self.out_channels = widths[-1]

        self.stem = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        groups = []
        for group, stride in enumerate((1, 2, 2)):
            blocks = [
                PreActBasicBlock(widths[group] if i == 0 else widths[group + 1],
                                 widths[group + 1], stride if i == 0 else 1, drop_rate,
                                 norm_cfg, act_cfg) for i in range(blocks_per_group)
            ]
            groups.append(nn.Sequential(*blocks))
        self.groups = nn.Sequential(*groups)
        self.final_norm = build_norm_layer(norm_cfg, widths[-1])[1]
        self.final_act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, in_channels, H, W) -> tuple of one (N, 64 k, H / 4, W / 4) map."""
        if x.dim() != 4 or x.shape[1] != self.stem.in_channels:
            raise CdmxError(f'WideResNet expects images of shape (N, {self.stem.in_channels}, H, '
                            f'W) but got {tuple(x.shape)}; set in_channels to match the data.')
        features = self.groups(self.stem(x))
        return (self.final_act(self.final_norm(features)), )
