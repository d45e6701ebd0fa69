"""UCDM's classifier (Du et al., ICML 2025, §4 and Algorithm 2): a backbone with a closed-set head
and an open-set head of K one-vs-all binary classifiers, trained on positive/negative pairs.

Batch format of ``forward(mode='loss')`` (what a training dataset must yield, per sample):

- ``inputs``: a uint8 tensor (2, C, H, W), ``[0]`` the positive ``x+`` of class ``k`` and ``[1]``
  the negative ``x-`` for class ``k``; after the data preprocessor the batch is (N, 2, C, H, W).
- ``data_samples``: an mmpretrain ``DataSample`` with ``gt_label`` = ``k`` (0..K-1) and the
  metainfo ``branch``, one of :data:`cdmx.models.losses.ucdm_loss.BRANCHES`:

  ============== ============================================ ===================================
  branch         ``x+``                                       ``x-``
  ============== ============================================ ===================================
  generated      generated positive of class k from a seed    generated negative for k, same seed
  pseudo_known   real image pseudo-labelled k                 its generated negative for k
  pseudo_unknown generated positive of a random known class k real image pseudo-labelled "other"
  ============== ============================================ ===================================

  A batch may hold any mix of branches; an absent branch adds nothing to Eq. 12.

The data preprocessor (mmpretrain's ``ClsDataPreprocessor`` with the default ``pseudo_collate``,
or mmengine's ``ImgDataPreprocessor``) normalises each (2, C, H, W) pair by broadcasting and
stacks the batch; their channel flip would act on the pair axis, so it must stay off (convert
channels in the pipeline instead). All 2N images go through the network in one pass, so batch
norm sees positives and negatives together (the official code runs them in separate passes).

``mode='predict'`` takes (N, C, H, W) images and sets, on each ``DataSample``:

- ``pred_score`` (K,) closed-set probabilities ``softmax(c(x))`` and ``pred_label`` their argmax;
- ``open_score`` (K+1,) ``q`` of Eq. 10 and ``open_label`` its argmax (K = "other");
- ``known_driven_score`` (K+1,) ``q~`` of Eq. 11 (used by confidence-based labelling).

``mode='tensor'`` returns the raw ``(closed logits (N, K), open logits (N, 2, K))``.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from cdmx.models.heads.open_set_head import OpenSetHead
from cdmx.models.losses.ucdm_loss import BRANCHES
from cdmx.registry import HEADS, LOSSES, MODELS
from cdmx.utils.errors import CdmxError


def open_set_scores(closed_logits: torch.Tensor, open_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 10, the "other"-driven K+1-way score ``q``: (N, K), (N, 2, K) -> (N, K+1)::

        o = prod_k p_k(out | x),   q = [(1 - o) * softmax(c(x))_1..K,  o]

    ``x`` is "other" when every binary classifier rejects it; ``argmax q`` is the open-set
    prediction (K = "other"). Each row sums to 1.
    """
    closed = closed_logits.softmax(dim=1)
    other = OpenSetHead.pair_probs(open_logits)[:, 1, :].prod(dim=1, keepdim=True)
    return torch.cat([(1 - other) * closed, other], dim=1)


def known_driven_scores(closed_logits: torch.Tensor, open_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 11, the known-driven K+1-way score ``q~``: (N, K), (N, 2, K) -> (N, K+1)::

        q~_k = p_k(in | x) * softmax(c(x))_k,   q~_{K+1} = 1 - sum_k q~_k

    Each row sums to 1.
    """
    known = OpenSetHead.pair_probs(open_logits)[:, 0, :] * closed_logits.softmax(dim=1)
    return torch.cat([known, 1 - known.sum(dim=1, keepdim=True)], dim=1)


@MODELS.register_module()
class UCDMClassifier(BaseModel):
    """Backbone -> pooled features -> closed-set head (K logits) and open-set head (2K logits).

    Args:
        backbone (dict): Backbone config, e.g. ``dict(type='WideResNet', depth=28,
            widen_factor=2)``.
        closed_head (dict): Closed-set head config (HEADS), e.g. ``dict(type='ClosedSetHead',
            num_classes=K, in_channels=128)``.
        open_head (dict): Open-set head config (HEADS), e.g. ``dict(type='OpenSetHead',
            num_classes=K, in_channels=128)``.
        neck (dict): Pooling config; defaults to mmpretrain's ``GlobalAveragePooling``.
        loss (dict): Loss config (LOSSES); defaults to ``UCDMLoss`` with lambda1 = 1,
            lambda2 = 2.
        bn_policy (dict): :class:`cdmx.models.bn_policy.BatchNormPolicy` config; defaults to
            standard BN.
        data_preprocessor (dict, optional): e.g. ``mmpretrain.ClsDataPreprocessor`` with
            ``to_rgb=False``.
        init_cfg (dict, optional): mmengine initialisation of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 closed_head: dict,
                 open_head: dict,
                 neck: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 bn_policy: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if getattr(self.data_preprocessor, 'to_rgb', False) or getattr(
                self.data_preprocessor, '_channel_conversion', False):
            raise CdmxError('UCDMClassifier pairs are (2, C, H, W) per sample and the data '
                            "preprocessor's channel flip would act on the pair axis; set "
                            'to_rgb/bgr_to_rgb=False and convert channels in the pipeline.')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='mmpretrain.GlobalAveragePooling'))
        self.closed_head = HEADS.build(closed_head)
        self.open_head = HEADS.build(open_head)
        if self.closed_head.num_classes != self.open_head.num_classes:
            raise CdmxError(f'the closed-set head has {self.closed_head.num_classes} classes '
                            f'and the open-set head {self.open_head.num_classes}; give both '
                            'the number of known classes.')
        self.loss_module = LOSSES.build(loss or dict(type='UCDMLoss'))
        self.bn_policy = MODELS.build(bn_policy or dict(type='BatchNormPolicy'))

    def train(self, mode: bool = True) -> 'UCDMClassifier':
        """``nn.Module.train``, then the batch-norm policy's override of BN modes."""
        super().train(mode)
        self.bn_policy.apply_mode(self, mode)
        return self

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images -> (N, F) pooled features."""
        feats = self.neck(self.backbone(inputs))
        return feats[-1] if isinstance(feats, (tuple, list)) else feats

    def _heads(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        feats = self.extract_feat(inputs)
        return self.closed_head(feats), self.open_head(feats)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[DataSample],
                                               Tuple[torch.Tensor, torch.Tensor]]:
        """``'loss'``: pairs (N, 2, C, H, W) -> dict of losses (Eq. 12 terms);
        ``'predict'``: images (N, C, H, W) -> data samples with scores (Eqs. 10, 11);
        ``'tensor'``: images (N, C, H, W) -> (closed (N, K), open (N, 2, K)) logits."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._heads(inputs)
        raise CdmxError(f"forward mode '{mode}' is unknown; use 'loss', 'predict' or 'tensor'.")

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]) -> Dict[str,
                                                                                   torch.Tensor]:
        """Eq. 12 over a batch of (x+, x-, k, branch) pairs; see the module docstring."""
        if inputs.dim() != 5 or inputs.shape[1] != 2:
            raise CdmxError(f'training inputs must be positive/negative pairs of shape (N, 2, C, '
                            f'H, W) but have shape {tuple(inputs.shape)}; pack each sample as a '
                            '(2, C, H, W) stack [x+, x-].')
        if data_samples is None or len(data_samples) != inputs.shape[0]:
            raise CdmxError('every training pair needs a DataSample with gt_label and branch; '
                            'pack them with the pairs.')
        labels, branches = [], []
        for sample in data_samples:
            branch = sample.metainfo.get('branch')
            if 'gt_label' not in sample or branch not in BRANCHES:
                raise CdmxError(f'a training pair has gt_label {sample.get("gt_label")} and '
                                f'branch {branch!r}; give each pair its class k and a branch '
                                f'among {BRANCHES} (keep "branch" in the packer\'s meta_keys).')
            labels.append(int(sample.gt_label.reshape(-1)[0]))
            branches.append(BRANCHES.index(branch))
        device = inputs.device
        labels = torch.tensor(labels, dtype=torch.int64, device=device)
        branches = torch.tensor(branches, dtype=torch.int64, device=device)
        self.bn_policy.before_train_step(self)
        num = inputs.shape[0]
        closed, opened = self._heads(torch.cat([inputs[:, 0], inputs[:, 1]]))
        return self.loss_module(closed[:num], opened[:num], opened[num:], labels, branches)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Closed-set probabilities and the open-set scores q (Eq. 10) and q~ (Eq. 11)."""
        if inputs.dim() != 4:
            raise CdmxError(f'prediction inputs must be images (N, C, H, W) but have shape '
                            f'{tuple(inputs.shape)}; pass single images, not pairs.')
        closed, opened = self._heads(inputs)
        q = open_set_scores(closed, opened)
        q_tilde = known_driven_scores(closed, opened)
        closed_probs = closed.softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.shape[0])]
        for i, sample in enumerate(data_samples):
            sample.set_pred_score(closed_probs[i]).set_pred_label(closed_probs[i].argmax())
            sample.set_field(q[i], 'open_score', dtype=torch.Tensor)
            sample.set_field(q[i].argmax().reshape(1), 'open_label', dtype=torch.Tensor)
            sample.set_field(q_tilde[i], 'known_driven_score', dtype=torch.Tensor)
        return data_samples
