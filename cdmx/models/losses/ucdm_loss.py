"""UCDM's training objective (Du et al., ICML 2025, Eqs. 9 and 12-15).

A training pair ``(x+, x-, k)`` holds a positive ``x+`` of known class ``k`` and a negative ``x-``
(an image that is not of class ``k``). With the closed-set logits ``c(x)`` (N, K) and the
open-set logits ``o(x)`` (N, 2, K) of :mod:`cdmx.models.heads.open_set_head`
(``p_k(in | x) = softmax(o[:, k])[0]``), each pair costs::

    l13 = -log p_k(in | x+) - log p_k(out | x-)            (Eq. 13, open set: positive vs negative)
    l14 = -log softmax_j(o[0, j](x+))[k]                    (Eq. 14, open set on the positive)
    l15 = -log softmax_j(c_j(x+))[k]                        (Eq. 15, closed set on the positive)
    l9  = lambda1 * l13 + lambda2 * (l14 + l15)             (Eq. 9)

Eq. 14 is a cross-entropy over the K inlier logits of the positive: it raises classifier k's
inlier logit against those of the classifiers j != k. Its form and the grouping of Eq. 9
(lambda2 weighting both Eq. 14 and Eq. 15) follow the official implementation
(``classifier_training/loss.py`` of UCDM-master), read for its formulas.

Eq. 12 sums the mean of ``l9`` over each of the three branches of Algorithm 2 (Appendix A.2)::

    L = mean_{generated} l9 + mean_{pseudo_known} l9 + mean_{pseudo_unknown} l9     (Eq. 12)

where an empty branch adds nothing. ``generated``: both images generated from an unlabeled seed;
``pseudo_known``: ``x+`` a real image pseudo-labelled ``k``, ``x-`` its generated negative for
``k``; ``pseudo_unknown``: ``x+`` a generated positive of a random known class ``k``, ``x-`` a real
image pseudo-labelled "other". The per-branch terms are returned as ``loss_<branch>``, so
mmengine's ``BaseModel.parse_losses`` (which adds every key containing ``loss``) forms Eq. 12.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from cdmx.registry import LOSSES
from cdmx.utils.errors import CdmxError

BRANCHES = ('generated', 'pseudo_known', 'pseudo_unknown')


def open_pair_loss(open_pos: torch.Tensor, open_neg: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """Eq. 13 per pair: (N, 2, K), (N, 2, K), (N,) -> (N,) ``-log p_k(in|x+) - log p_k(out|x-)``."""
    rows = torch.arange(labels.shape[0], device=labels.device)
    log_pos = F.log_softmax(open_pos, dim=1)[rows, 0, labels]
    log_neg = F.log_softmax(open_neg, dim=1)[rows, 1, labels]
    return -(log_pos + log_neg)


def open_inlier_loss(open_pos: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 14 per pair: (N, 2, K), (N,) -> (N,) cross-entropy of the K inlier logits of ``x+``."""
    return F.cross_entropy(open_pos[:, 0, :], labels, reduction='none')


def closed_loss(closed_pos: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 15 per pair: (N, K), (N,) -> (N,) cross-entropy of the closed-set logits of ``x+``."""
    return F.cross_entropy(closed_pos, labels, reduction='none')


@LOSSES.register_module()
class UCDMLoss(nn.Module):
    """Eq. 9 per pair and Eq. 12 over the branches.

    Args:
        lambda1 (float): Weight of the open-set pair term (Eq. 13). The paper uses 1.
        lambda2 (float): Weight of the classification terms (Eqs. 14 + 15). The paper uses 2
            (CIFAR-10), 5 (CIFAR-100) and 20 (Tiny-ImageNet).
    """

    def __init__(self, lambda1: float = 1.0, lambda2: float = 2.0):
        super().__init__()
        for name, value in (('lambda1', lambda1), ('lambda2', lambda2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise CdmxError(f'UCDMLoss {name} is {value!r}; give a non-negative number '
                                '(the paper uses lambda1 = 1 and lambda2 = 2, 5 or 20).')
        self.lambda1, self.lambda2 = float(lambda1), float(lambda2)

    def forward(self, closed_pos: torch.Tensor, open_pos: torch.Tensor, open_neg: torch.Tensor,
                labels: torch.Tensor, branches: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Per-branch Eq. 9 means and, for logging, the batch means of Eqs. 13-15.

        Args:
            closed_pos (Tensor): (N, K) closed-set logits of the positives.
            open_pos (Tensor): (N, 2, K) open-set logits of the positives.
            open_neg (Tensor): (N, 2, K) open-set logits of the negatives.
            labels (Tensor): (N,) int64 class k of each pair, in 0..K-1.
            branches (Tensor): (N,) int64 index into :data:`BRANCHES` of each pair.

        Returns:
            dict: ``loss_<branch>`` (scalar, with gradient) for each non-empty branch, whose sum
            is Eq. 12, and detached ``eq13``, ``eq14``, ``eq15`` batch means.
        """
        num_classes = closed_pos.shape[1]
        if labels.numel() == 0:
            raise CdmxError('the UCDM loss got an empty batch; give the dataloader a batch size '
                            'of at least 1.')
        if labels.min() < 0 or labels.max() >= num_classes:
            raise CdmxError(f'pair labels must be known-class ids in 0..{num_classes - 1} but '
                            f'range over {int(labels.min())}..{int(labels.max())}; check the '
                            'gt_label of the training pairs.')
        if branches.min() < 0 or branches.max() >= len(BRANCHES):
            raise CdmxError(f'branch ids must index {BRANCHES} but range over '
                            f'{int(branches.min())}..{int(branches.max())}; check the branch of '
                            'the training pairs.')
        l13 = open_pair_loss(open_pos, open_neg, labels)
        l14 = open_inlier_loss(open_pos, labels)
        l15 = closed_loss(closed_pos, labels)
        l9 = self.lambda1 * l13 + self.lambda2 * (l14 + l15)
        losses = {}
        for index, name in enumerate(BRANCHES):
            mask = branches == index
            if mask.any():
                losses[f'loss_{name}'] = l9[mask].mean()
        total = sum(losses.values())
        if not torch.isfinite(total):
            raise CdmxError(f'the UCDM loss is {float(total)} (not finite); lower the learning '
                            'rate or check the training images, and resume from the last '
                            'checkpoint, which is unaffected.')
        losses.update(eq13=l13.mean().detach(), eq14=l14.mean().detach(),
                      eq15=l15.mean().detach())
        return losses
