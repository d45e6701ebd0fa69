"""The E-step of SPICE-self's clustering head (GDUI §3.2, after Niu et al., SPICE, TIP 2022).

The feature model is fixed; the head ``h`` gives cluster probabilities ``p_i = softmax(h(f_i))``
(K,) for the unit features ``f_i`` (D,) of a batch of B images. The E-step turns them into
pseudo-labels through cluster prototypes; the M-step (:class:`cdmx.models.classifiers.
ClusterModel`, stage ``'self'``) fits the head to them with cross-entropy. With
``M = ceil(ratio * B / K)`` (GDUI §3.2 describes these steps without numbering them; the numbers
(E1), (E2), (M) are used across cdmx's docstrings):

- (E1) prototype of cluster k, the mean unit feature of its M most confident samples::

      mu_k = normalize( (1/M) * sum_{i in top_M(p[:, k])} f_i )

- (E2) pseudo-labels from the nearest prototypes: the M samples most similar to ``mu_k``,
  ``S_k = top_M(<f_i, mu_k>)``, are labelled k; a sample in several ``S_k`` takes the k of the
  largest ``<f_i, mu_k>``. Taking M per cluster keeps the labels balanced, which is what stops
  the head from collapsing into one cluster.

- (M) ``L = (1 / |S|) * sum_{i in S} CE(h(f(x~_i)), y_i)``, S the union of the ``S_k`` and
  ``x~_i`` an augmented view.
"""
import math
from typing import Tuple

import torch

from cdmx.registry import PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError


@PSEUDO_LABELERS.register_module()
class PrototypeLabeler:
    """(E1)–(E2): balanced prototype pseudo-labels of one batch.

    Args:
        ratio (float): M = ceil(ratio * B / K) samples per cluster, in (0, 1]. Defaults to 0.5.
    """

    def __init__(self, ratio: float = 0.5):
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
            raise CdmxError(f'PrototypeLabeler ratio is {ratio!r}; give a share of B / K in '
                            '(0, 1], e.g. 0.5.')
        self.ratio = float(ratio)

    @torch.no_grad()
    def __call__(self, features: torch.Tensor, probs: torch.Tensor) -> Tuple[torch.Tensor,
                                                                           torch.Tensor]:
        """(B, D) features and (B, K) probabilities -> (indices (S,), labels (S,)), int64.

        ``indices`` are increasing row positions; ``labels`` in 0..K-1.
        """
        if features.dim() != 2 or probs.dim() != 2 or features.shape[0] != probs.shape[0]:
            raise CdmxError(f'PrototypeLabeler got features {tuple(features.shape)} and '
                            f'probabilities {tuple(probs.shape)}; pass (B, D) and (B, K) of the '
                            'same batch.')
        batch, clusters = probs.shape
        m = min(batch, math.ceil(self.ratio * batch / clusters))
        feats = torch.nn.functional.normalize(features.float(), dim=1)
        confident = probs.topk(m, dim=0).indices  # (M, K)
        prototypes = torch.nn.functional.normalize(feats[confident].mean(dim=0), dim=1)  # (E1)
        sims = feats @ prototypes.T  # (B, K)
        chosen = torch.zeros_like(sims, dtype=torch.bool)
        chosen.scatter_(0, sims.topk(m, dim=0).indices, True)  # (E2): S_k per column
        masked = sims.masked_fill(~chosen, -float('inf'))
        indices = torch.nonzero(chosen.any(dim=1), as_tuple=False).reshape(-1)
        return indices, masked[indices].argmax(dim=1)
