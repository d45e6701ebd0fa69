"""UCDM's confidence-based labelling rule (Du et al., ICML 2025) over q (Eq. 10), q~ (Eq. 11)."""
from typing import Tuple

import torch

from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError


@PSEUDO_LABELERS.register_module()
class ConfidencePairLabeler:
    """Label a sample when the two K+1-way scores agree and both are confident.

    With ``q`` the "other"-driven score (Eq. 10) and ``q~`` the known-driven score (Eq. 11) of
    the same image, sample ``i`` is labelled ``argmax q_i`` when::

        argmax q_i == argmax q~_i   and   max q_i >= delta   and   max q~_i >= delta

    Labels ``0..K-1`` are pseudo-known classes and ``K`` is "other" (pseudo-unknown). The
    official code compares with a strict ``>``; here ``>=`` (a score of exactly ``delta``
    counts as confident), which differs only on a set of measure zero.

    Args:
        delta (float): Confidence threshold in (0, 1]. Defaults to 0.98 (the paper's value).
    """

    def __init__(self, delta: float = 0.98):
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta <= 1:
            raise CdmxError(f'ConfidencePairLabeler delta is {delta!r}; give a confidence '
                            'threshold in (0, 1], e.g. 0.98.')
        self.delta = float(delta)

    def __call__(self, q: torch.Tensor, q_tilde: torch.Tensor) -> Tuple[torch.Tensor,
                                                                         torch.Tensor]:
        """(N, K+1), (N, K+1) scores -> (indices (M,), labels (M,)), both int64, M <= N.

        ``indices`` are row positions into ``q`` in increasing order and ``labels`` in 0..K.
        """
        if q.dim() != 2 or q.shape != q_tilde.shape or q.shape[1] < 2:
            raise CdmxError(f'q and q~ have shapes {tuple(q.shape)} and {tuple(q_tilde.shape)}; '
                            'give both as (N, K+1) scores of the same N samples with K >= 1.')
        conf, label = q.max(dim=1)
        conf_tilde, label_tilde = q_tilde.max(dim=1)
        keep = (label == label_tilde) & (conf >= self.delta) & (conf_tilde >= self.delta)
        indices = torch.nonzero(keep, as_tuple=False).reshape(-1)
        return indices.to(torch.int64), label[indices].to(torch.int64)
