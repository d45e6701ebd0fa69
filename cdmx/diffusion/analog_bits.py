"""Analog bits (Chen et al. 2022, "Analog Bits"): class maps as real-valued bit planes.

A class id ``c`` in ``0..C-1`` is written in ``K = ceil(log2 C)`` binary digits (most significant
first) and each digit ``d`` becomes ``(2 d - 1) b``, i.e. ``{-b, b}`` (DiffMatch Table 8 uses
``b = 0.1``). Decoding thresholds each bit at 0.

Class scores. Trained with the squared error of Eqs. 4-6, the denoiser's prediction of a bit
is the posterior mean ``E[y0_k] = b (2 q_k - 1)`` with ``q_k = P(bit k = 1)``, so
``q_k = (y0^_k / b + 1) / 2`` (clipped to ``[eps, 1 - eps]``). The log-probability of class
``c`` under independent bits is ``sum_k log q_k`` over its one-bits plus ``sum_k log(1 - q_k)``
over its zero-bits; :func:`bits_to_log_probs` returns these ``(N, C, H, W)`` scores.

Codes ``>= C`` (when ``C`` is not a power of two) name no class. DDP clamps them to ``C - 1``,
which hands every such pixel to one class, a bias of exactly the kind DiffMatch removes; here a
pixel whose thresholded code is invalid goes to its most probable *valid* class. So
:func:`bits_to_ids` is the thresholding wherever it gives a class and equals the argmax of
:func:`bits_to_log_probs` (how mmseg's ``postprocess_result`` computes ``pred_sem_seg``) except
at exact ties (a bit of exactly 0).
"""
import math

import torch

from cdmx.utils.errors import CdmxError

PROB_EPS = 1e-4  # keeps log q finite where a predicted bit lies beyond +-b


def num_bits(num_classes: int) -> int:
    """``K = ceil(log2 C)`` bits (at least 1) for ``C`` classes."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise CdmxError(f'num_classes is {num_classes!r}; analog bits need an integer of at '
                        'least 2.')
    return max(1, math.ceil(math.log2(num_classes)))


def class_codes(num_classes: int, device=None) -> torch.Tensor:
    """``(C, K)`` float 0/1 digits of each class id, most significant first."""
    bits = num_bits(num_classes)
    ids = torch.arange(num_classes, device=device)
    shifts = torch.arange(bits - 1, -1, -1, device=device)
    return ((ids[:, None] >> shifts[None, :]) & 1).float()


def ids_to_bits(ids: torch.Tensor, num_classes: int, scale: float = 0.1) -> torch.Tensor:
    """Encode ``(N, H, W)`` int class ids as ``(N, K, H, W)`` analog bits in ``{-b, b}``."""
    if ids.numel() and (ids.min() < 0 or ids.max() >= num_classes):
        raise CdmxError(f'class ids range over {int(ids.min())}..{int(ids.max())} but must lie '
                        f'in 0..{num_classes - 1}; mask ignored pixels before encoding.')
    codes = class_codes(num_classes, ids.device)  # (C, K)
    digits = codes[ids.long()]  # (N, H, W, K)
    return ((2 * digits - 1) * scale).permute(0, 3, 1, 2).contiguous()


def bits_to_log_probs(bits: torch.Tensor, num_classes: int, scale: float = 0.1) -> torch.Tensor:
    """``(N, K, H, W)`` predicted analog bits -> ``(N, C, H, W)`` class log-probabilities.

    ``log P(c) = sum_k [code_ck] log q_k + [1 - code_ck] log(1 - q_k)``,
    ``q_k = clip((bits_k / b + 1) / 2, eps, 1 - eps)`` (module docstring). They sum to at most
    1 over the ``C`` valid codes (the rest is the mass of the invalid codes).
    """
    codes = class_codes(num_classes, bits.device).to(bits.dtype)
    if bits.shape[1] != codes.shape[1]:
        raise CdmxError(f'{num_classes} classes take {codes.shape[1]} analog bits but the '
                        f'prediction has {bits.shape[1]} channels; check num_classes.')
    q = ((bits / scale + 1) / 2).clamp(PROB_EPS, 1 - PROB_EPS)
    log_one, log_zero = torch.log(q), torch.log1p(-q)
    return (torch.einsum('ck,nkhw->nchw', codes, log_one)
            + torch.einsum('ck,nkhw->nchw', 1 - codes, log_zero))


def bits_to_ids(bits: torch.Tensor, num_classes: int, scale: float = 0.1) -> torch.Tensor:
    """``(N, K, H, W)`` analog bits -> ``(N, H, W)`` int64 ids: threshold at 0 and read the
    binary number; an invalid code (``>= C``) goes to the most probable valid class."""
    codes = class_codes(num_classes, bits.device)
    weights = 2 ** torch.arange(codes.shape[1] - 1, -1, -1, device=bits.device)
    ids = ((bits > 0).long() * weights[None, :, None, None]).sum(1)
    invalid = ids >= num_classes
    if invalid.any():
        nearest = bits_to_log_probs(bits, num_classes, scale).argmax(1)
        ids = torch.where(invalid, nearest, ids)
    return ids
