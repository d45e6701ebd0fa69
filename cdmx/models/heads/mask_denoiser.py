"""DiffMatch's mask denoiser ``f(y_t, z, lambda(t))``: predicts the encoded mask ``y_0``.

The design follows the one DiffMatch borrows from DDP (Ji et al. 2023):

* the noisy mask ``y_t`` (``K`` channels) is embedded by a 1x1 conv to ``D`` channels and a 1x1
  conv fuses ``concat(z, embed(y_t))`` (``z``: the extractor's ``D_z = 256``-d pixel
  embedding at 1/4 scale) into the ``D``-d hidden map;
* the diffusion time enters as its log-SNR ``lambda``: sinusoidal features of ``lambda`` and an
  MLP (diffusers' ``Timesteps`` + ``TimestepEmbedding``) give a time vector, from which each
  layer predicts a FiLM scale and shift applied after the layer, ``h <- h (1 + s) + b``
  (zero-initialised, so the FiLM starts as the identity);
* ``L`` (default 4) layers of multi-scale deformable attention (mmcv's
  ``MultiScaleDeformableAttention`` with its CUDA op where mmcv has it; elsewhere the faster
  pure-PyTorch path of :mod:`cdmx.models.layers.deformable_attention`) + LayerNorm + FFN +
  LayerNorm, post-norm as in Deformable DETR's encoder. Every pixel of the 1/4-scale map is a
  query; its reference point is the pixel centre.
* Multi-scale values: the extractor gives one 1/4-scale map, so each layer builds its
  ``num_levels`` levels from its own input ``h`` by average pooling with stride ``2^l``
  (``l = 0 .. num_levels - 1``; 1/4, 1/8, 1/16 of the image by default). This is a choice: the
  denoiser attends over a pyramid of the fused map rather than over backbone stages, so it runs
  on any extractor's single output and the levels carry the current mask estimate.
* a 1x1 conv maps ``h`` to the prediction: ``K`` channels of ``y_0``'s encoding, or ``C``
  class logits (``readout``, below);
* optional self-conditioning (``self_condition``, Chen et al. 2022, the paper of analog bits,
  Sec. 3.2): the denoiser also reads a previous estimate ``y0~`` of ``y_0``, concatenated
  with ``y_t`` before the embedding, ``f(concat(y_t, y0~), z, lambda)``; ``y0~ = 0`` when
  there is none (the segmentor's training and the first sampling step).

Label encodings (``label_encoding``):

* ``'analog_bits'`` (DiffMatch, Table 8): ``K = ceil(log2 C)`` bits in ``{-b, b}``, see
  :mod:`cdmx.diffusion.analog_bits`;
* ``'one_hot'``: ``K = C`` analog bits, one per class, ``b (2 onehot(c) - 1)``. Trained with
  the squared error, channel ``c`` predicts ``b (2 P(c) - 1)``, so the class posterior is read
  off directly, ``P(c) ~ q_c = clip((y_c / b + 1) / 2)`` normalised over the classes, and its
  argmax is the decoded class. ``ceil(log2 C)`` analog bits only give the per-bit marginals, and
  thresholding them is not the most probable class where the model hesitates between classes
  (a unit test shows such a posterior); the price is ``C`` instead of ``log2 C`` channels;
* ``'embedding'`` (DDP's learned class embedding): a learned table ``E`` (``C x K``); class
  ``c`` is ``b sqrt(K) E_c / ||E_c||`` (the norm of a ``K``-bit analog code, so the noise level
  means the same for both encodings). Class scores are the Gaussian log-likelihoods
  ``-||y - e_c||^2 / (2 b^2)``.

Ignored pixels are encoded as all-zero vectors (no class; equidistant from every code).

Readouts (``readout``), the two readings of the paper (see docs/diffmatch.md):

* ``'regression'`` (the paper: Eqs. 4-6 and Algorithm 2's ``l2_loss``; Sec. 3.4's "thresholding
  the generated analog bits"): the head predicts the ``K``-channel encoding of ``y_0``, scored
  by the squared error (:class:`~cdmx.models.losses.DebiasedDiffusionLoss`);
* ``'logits'`` (DDP's, whose Algorithms DiffMatch's Algorithms 2-3 reproduce): the head predicts
  ``C`` class logits, scored by cross-entropy
  (:class:`~cdmx.models.losses.DebiasedCrossEntropyLoss`); the class posterior is their softmax.

Algorithm 3 re-encodes each prediction before its DDIM update, ``encoding(mask_pred)``:
:meth:`MaskDenoiser.encode_prediction` writes the decoded classes (thresholded bits or the
argmax) in the label encoding again (``reencode=True``, the algorithm); ``reencode=False`` uses
the posterior mean code instead (the raw prediction of the regression readout; the
softmax-weighted class codes of the logits readout), an option. A self-conditioned denoiser
reads its previous prediction as that posterior mean code.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule

from cdmx.diffusion.analog_bits import (PROB_EPS, bits_to_ids, bits_to_log_probs, class_codes,
                                       ids_to_bits, num_bits)
from cdmx.models.layers import PointsFirstDeformableAttention
from cdmx.models.losses.debiased_diffusion_loss import debias_shift
from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError

LABEL_ENCODINGS = ('analog_bits', 'one_hot', 'embedding')
READOUTS = ('regression', 'logits')


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CdmxError(f'MaskDenoiser {name} is {value!r}; give a positive integer.')
    return value


def pyramid(x: torch.Tensor, num_levels: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Average-pooled levels of ``x`` as deformable-attention values.

    Args:
        x (Tensor): ``(N, D, H, W)`` map.
        num_levels (int): Levels with strides ``1, 2, ..., 2^(num_levels - 1)``.

    Returns:
        tuple: ``value`` ``(N, sum_l H_l W_l, D)``, ``spatial_shapes`` ``(num_levels, 2)``
        int64 ``(H_l, W_l)`` and ``level_start_index`` ``(num_levels,)`` int64.
    """
    levels = [x] + [F.avg_pool2d(x, 2 ** level, ceil_mode=True) for level in range(1, num_levels)]
    shapes = torch.tensor([level.shape[2:] for level in levels], dtype=torch.long,
                          device=x.device)
    starts = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    value = torch.cat([level.flatten(2).transpose(1, 2) for level in levels], dim=1)
    return value, shapes, starts


def reference_points(height: int, width: int, num_levels: int, batch: int,
                     device: torch.device) -> torch.Tensor:
    """``(N, H W, num_levels, 2)`` normalised ``(x, y)`` pixel centres of an ``H x W`` map."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    ref = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=-1)  # (HW, 2)
    return ref[None, :, None, :].expand(batch, -1, num_levels, -1)


class ReadoutLayer(nn.Module):
    """Deformable attention + FFN (post-norm) over a hidden map; the mask denoiser's layer
    without its time FiLM (the Dis. Baseline's readout, :mod:`.deformable_readout`).

    Args:
        embed_dims (int): ``D``.
        num_heads (int): Attention heads.
        num_levels (int): Pyramid levels of the values.
        num_points (int): Sampling points per head and level.
        feedforward_channels (int): Hidden width of the FFN.
        dropout (float): Dropout of the attention output and the FFN.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int, num_points: int,
                 feedforward_channels: int, dropout: float):
        super().__init__()
        self.num_levels = num_levels
        self.attn = PointsFirstDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads, num_levels=num_levels,
            num_points=num_points, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=feedforward_channels,
                       ffn_drop=dropout)
        self.norm2 = nn.LayerNorm(embed_dims)

    def attend(self, h: torch.Tensor) -> torch.Tensor:
        """``(N, D, H, W)`` hidden map -> ``(N, HW, D)`` after attention and FFN."""
        n, _, height, width = h.shape
        value, shapes, starts = pyramid(h, self.num_levels)
        x = self.attn(query=h.flatten(2).transpose(1, 2), value=value,
                      reference_points=reference_points(height, width, self.num_levels, n,
                                                        h.device),
                      spatial_shapes=shapes, level_start_index=starts)
        return self.norm2(self.ffn(self.norm1(x)))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(N, D, H, W)`` -> ``(N, D, H, W)``."""
        return self.attend(h).transpose(1, 2).reshape(h.shape)


class DenoiserLayer(ReadoutLayer):
    """:class:`ReadoutLayer`, then the time FiLM.

    Args:
        time_dims (int): Width of the time vector; the others as :class:`ReadoutLayer`.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int, num_points: int,
                 feedforward_channels: int, dropout: float, time_dims: int):
        super().__init__(embed_dims, num_heads, num_levels, num_points, feedforward_channels,
                         dropout)
        self.film = nn.Linear(time_dims, 2 * embed_dims)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, h: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """``(N, D, H, W)`` hidden map, ``(N, time_dims)`` time vector -> ``(N, D, H, W)``."""
        x = self.attend(h)
        scale, shift = self.film(F.silu(time)).chunk(2, dim=-1)
        x = x * (1 + scale[:, None]) + shift[:, None]
        return x.transpose(1, 2).reshape(h.shape)


@HEADS.register_module()
class MaskDenoiser(BaseModule):
    """``f(y_t, z, lambda)``: ``(N, D_z, H, W)``, ``(N, K, H, W)``, ``(N,)`` -> ``(N, O, H, W)``
    with ``O = K`` (regression readout) or ``C`` (logits readout).

    See the module docstring for the architecture, the label encodings and the readouts.
    ``H, W`` are the 1/4-scale feature size.

    Args:
        num_classes (int): ``C``.
        in_channels (int): ``D_z``, channels of the image feature ``z`` (256 in DiffMatch).
        embed_dims (int): ``D``, hidden width (256).
        num_layers (int): ``L``, deformable-attention layers (4).
        num_heads (int): Attention heads (8).
        num_levels (int): Pyramid levels of the attention values (3).
        num_points (int): Sampling points per head and level (4).
        feedforward_channels (int): FFN hidden width (1024).
        dropout (float): Dropout in the layers (0).
        label_encoding (str): ``'analog_bits'``, ``'one_hot'`` or ``'embedding'``.
        bit_scale (float): ``b``, the magnitude of an encoded bit (0.1, Table 8).
        embedding_dims (int, optional): ``K`` of the ``'embedding'`` encoding (default: as
            many as analog bits would take).
        self_condition (bool): Read a previous estimate of ``y_0`` too (module docstring).
        readout (str): ``'regression'`` (the paper) or ``'logits'`` (DDP), module docstring.
        reencode (bool): Algorithm 3's re-encoding of each prediction before the DDIM update
            (True, the algorithm) or the posterior mean code (False).
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self, num_classes: int, in_channels: int = 256, embed_dims: int = 256,
                 num_layers: int = 4, num_heads: int = 8, num_levels: int = 3,
                 num_points: int = 4, feedforward_channels: int = 1024, dropout: float = 0.0,
                 label_encoding: str = 'analog_bits', bit_scale: float = 0.1,
                 embedding_dims: int = None, self_condition: bool = False,
                 readout: str = 'regression', reencode: bool = True, init_cfg=None):
        super().__init__(init_cfg)
        for name, value in (('in_channels', in_channels), ('embed_dims', embed_dims),
                            ('num_layers', num_layers), ('num_heads', num_heads),
                            ('num_levels', num_levels), ('num_points', num_points),
                            ('feedforward_channels', feedforward_channels)):
            _positive_int(name, value)
        if embed_dims % num_heads:
            raise CdmxError(f'MaskDenoiser embed_dims {embed_dims} is not divisible by '
                            f'num_heads {num_heads}; choose values that divide.')
        if label_encoding not in LABEL_ENCODINGS:
            raise CdmxError(f'label_encoding is {label_encoding!r}; choose one of '
                            f'{LABEL_ENCODINGS}.')
        if not bit_scale > 0:
            raise CdmxError(f'bit_scale is {bit_scale}; give a positive b (0.1 in DiffMatch).')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.label_encoding = label_encoding
        self.bit_scale = float(bit_scale)
        bits = num_bits(num_classes)
        if label_encoding == 'embedding':
            self.label_channels = _positive_int('embedding_dims', embedding_dims or bits)
            self.class_embedding = nn.Embedding(num_classes, self.label_channels)
        else:
            if embedding_dims is not None:
                raise CdmxError("embedding_dims is only read with label_encoding='embedding'; "
                                'remove it or switch the encoding.')
            self.label_channels = bits if label_encoding == 'analog_bits' else num_classes
        for name, value in (('self_condition', self_condition), ('reencode', reencode)):
            if not isinstance(value, bool):
                raise CdmxError(f'{name} is {value!r}; give True or False.')
        if readout not in READOUTS:
            raise CdmxError(f'readout is {readout!r}; choose one of {READOUTS}.')
        self.self_condition, self.reencode, self.readout = self_condition, reencode, readout
        self.out_channels = self.label_channels if readout == 'regression' else num_classes
        self.mask_embed = nn.Conv2d(self.label_channels * (1 + self_condition), embed_dims, 1)
        self.fuse = nn.Conv2d(in_channels + embed_dims, embed_dims, 1)
        self.time_embed = nn.Sequential(
            Timesteps(embed_dims, flip_sin_to_cos=True, downscale_freq_shift=0),
            TimestepEmbedding(embed_dims, embed_dims))
        self.layers = nn.ModuleList(
            DenoiserLayer(embed_dims, num_heads, num_levels, num_points, feedforward_channels,
                          dropout, embed_dims) for _ in range(num_layers))
        self.predict_y0 = nn.Conv2d(embed_dims, self.out_channels, 1)

    def class_vectors(self) -> torch.Tensor:
        """``(C, K)`` the encoded vector of each class."""
        device = self.predict_y0.weight.device
        if self.label_encoding == 'analog_bits':
            return (2 * class_codes(self.num_classes, device) - 1) * self.bit_scale
        if self.label_encoding == 'one_hot':
            return (2 * torch.eye(self.num_classes, device=device) - 1) * self.bit_scale
        weight = self.class_embedding.weight
        return self.bit_scale * math.sqrt(self.label_channels) * F.normalize(weight, dim=1)

    def encode(self, labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
        """``(N, H, W)`` class ids -> ``(N, K, H, W)`` clean masks ``y_0`` (0 where ignored).

        With the ``'embedding'`` encoding the result carries the gradient of the table; use it
        detached as the regression target (so the table cannot collapse to make the loss
        trivially small) and with its gradient as the denoiser input.
        """
        valid = labels != ignore_index
        ids = torch.where(valid, labels, torch.zeros_like(labels)).long()
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.num_classes):
            raise CdmxError(f'label maps hold values outside 0..{self.num_classes - 1} and the '
                            f'ignore index {ignore_index}; fix the annotations or num_classes.')
        if self.label_encoding == 'analog_bits':
            y0 = ids_to_bits(ids, self.num_classes, self.bit_scale)
        else:
            y0 = self.class_vectors()[ids].permute(0, 3, 1, 2).contiguous()
        return y0 * valid[:, None].to(y0.dtype)

    def class_log_probs(self, y0: torch.Tensor) -> torch.Tensor:
        """``(N, O, H, W)`` prediction -> ``(N, C, H, W)`` class scores (log-likelihoods, or the
        log-softmax of logits; see the module docstring); their argmax is :meth:`decode`."""
        if self.readout == 'logits':
            return y0.log_softmax(dim=1)
        if self.label_encoding == 'analog_bits':
            return bits_to_log_probs(y0, self.num_classes, self.bit_scale)
        if self.label_encoding == 'one_hot':
            q = ((y0 / self.bit_scale + 1) / 2).clamp(PROB_EPS, 1 - PROB_EPS).log()
            return q - q.logsumexp(dim=1, keepdim=True)
        vectors = self.class_vectors().to(y0.dtype)  # (C, K)
        dist = ((y0[:, None] - vectors[None, :, :, None, None]) ** 2).sum(2)
        return -dist / (2 * self.bit_scale ** 2)

    def decode(self, y0: torch.Tensor) -> torch.Tensor:
        """``(N, O, H, W)`` prediction -> ``(N, H, W)`` int64 class ids (thresholded analog
        bits, the largest one-hot channel, the nearest class embedding, or the largest logit)."""
        if self.readout == 'regression' and self.label_encoding == 'analog_bits':
            return bits_to_ids(y0, self.num_classes, self.bit_scale)
        return self.class_log_probs(y0).argmax(1)

    def posterior_mean(self, pred: torch.Tensor) -> torch.Tensor:
        """``(N, O, H, W)`` prediction -> ``(N, K, H, W)`` its mean code: the prediction itself
        (regression readout) or ``sum_c softmax(pred)_c v_c`` (logits readout)."""
        if self.readout == 'regression':
            return pred
        vectors = self.class_vectors().to(pred.dtype)
        return torch.einsum('nchw,ck->nkhw', pred.softmax(dim=1), vectors)

    def encode_prediction(self, pred: torch.Tensor) -> torch.Tensor:
        """Algorithm 3's ``encoding(mask_pred)``: ``(N, O, H, W)`` prediction -> ``(N, K, H, W)``
        encoded estimate of ``y_0`` for the DDIM update: the code of the decoded class
        (``reencode``) or :meth:`posterior_mean`."""
        if self.reencode:
            return self.class_vectors().to(pred.dtype)[self.decode(pred)].permute(0, 3, 1, 2)
        return self.posterior_mean(pred)

    def debiased(self, pred: torch.Tensor, class_prior: torch.Tensor) -> torch.Tensor:
        """``(N, O, H, W)`` prediction whose class posterior is divided by ``C p`` (``p``:
        ``(C,)`` positive, summing to 1) and renormalised, same shape: the mean code moved by
        :func:`~cdmx.models.losses.debiased_diffusion_loss.debias_shift` (regression) or the
        logits minus ``log(C p)`` (logits)."""
        prior = class_prior.to(pred.dtype)
        if self.readout == 'logits':
            return pred - torch.log(prior.numel() * prior)[None, :, None, None]
        return pred + debias_shift(self.class_log_probs(pred),
                                   self.class_vectors().to(pred.dtype), prior)

    def forward(self, z: torch.Tensor, y_t: torch.Tensor, logsnr: torch.Tensor,
                y0_prev: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predict ``y_0``.

        Args:
            z (Tensor): ``(N, D_z, H, W)`` image feature.
            y_t (Tensor): ``(N, K, H, W)`` noisy encoded mask.
            logsnr (Tensor): ``(N,)`` log-SNR ``lambda(t)`` of ``y_t``.
            y0_prev (Tensor, optional): ``(N, O, H, W)`` this denoiser's previous prediction
                (``self_condition`` only), read as its :meth:`posterior_mean`; None reads
                zeros.

        Returns:
            Tensor: ``(N, O, H, W)`` prediction of ``y_0`` (its encoding, or class logits).
        """
        self._check_inputs(z, y_t, logsnr)
        if self.self_condition:
            expected = (y_t.shape[0], self.out_channels, *y_t.shape[2:])
            if y0_prev is None:
                previous = torch.zeros_like(y_t)
            elif y0_prev.shape != expected:
                raise CdmxError(f'the previous prediction is {tuple(y0_prev.shape)} but the '
                                f'denoiser predicts {expected}; give one of the same shape.')
            else:
                previous = self.posterior_mean(y0_prev)
            y_t = torch.cat([y_t, previous], dim=1)
        elif y0_prev is not None:
            raise CdmxError('a previous estimate of y_0 was given to a denoiser without '
                            'self_condition; build it with self_condition=True.')
        h = self.fuse(torch.cat([z, self.mask_embed(y_t)], dim=1))
        time = self.time_embed(logsnr.float()).to(h.dtype)
        for layer in self.layers:
            h = layer(h, time)
        return self.predict_y0(h)

    def _check_inputs(self, z: torch.Tensor, y_t: torch.Tensor, logsnr: torch.Tensor) -> None:
        expected: List[str] = []
        if z.dim() != 4 or z.shape[1] != self.in_channels:
            expected.append(f'z (N, {self.in_channels}, H, W), got {tuple(z.shape)}')
        if y_t.dim() != 4 or y_t.shape[1] != self.label_channels or \
                y_t.shape[2:] != z.shape[2:] or y_t.shape[0] != z.shape[0]:
            expected.append(f'y_t (N, {self.label_channels}, H, W) matching z, got '
                            f'{tuple(y_t.shape)}')
        if logsnr.shape != z.shape[:1]:
            expected.append(f'log-SNR (N,), got {tuple(logsnr.shape)}')
        if expected:
            raise CdmxError('the mask denoiser expects ' + '; '.join(expected) +
                            '; check in_channels and the extractor output.')
