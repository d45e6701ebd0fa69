"""GDUI's clustering model (§3.2, SPICE-style): a feature model and a clustering head, trained in
two stages after MoCo-v2 pretraining of the feature model (Eq. 6, mmpretrain's ``MoCo``).

``stage='self'`` (SPICE-self): the feature model f is frozen (its parameters take no gradient and
its batch norms stay in eval mode); each of the H heads is trained by EM on a batch of B images,
``inputs = [x, x~]`` (two views from mmpretrain's ``MultiView``):

- E-step on the first view, (E1)–(E2) of :class:`cdmx.pseudo_labelers.PrototypeLabeler`:
  prototypes from each cluster's most confident samples, balanced pseudo-labels ``y_i`` from the
  nearest prototypes;
- M-step on the second view, (M): ``loss_head<h> = mean_{i in S} CE(h(f(x~_i)), y_i)``.

An exponential moving average of each head's loss (buffer ``head_losses``) picks the head that
predicts (the lowest).

``stage='joint'`` (SPICE-semi): f and the chosen head are trained together, ``inputs =
[weak(x), strong(x)]``, on the whole pool; a sample's metainfo ``pseudo_label`` is its reliable
label (Eq. 8, from :class:`cdmx.pseudo_labelers.ReliableSampleLabeler`) or -1::

    loss_reliable = mean_{i reliable} CE(h(f(weak(x_i))), y_i)
    loss_confident = w_u * (1/B) sum_i 1[max q_i >= tau] CE(h(f(strong(x_i))), argmax q_i)   (Eq. 9)

with ``q_i = softmax(h(f(weak(x_i))))`` (no gradient), FixMatch's normalisation by B.

``mode='predict'`` takes (B, C, H, W) images and sets ``pred_score`` (K,) (the chosen head's
softmax) and ``pred_label`` on each data sample; ``mode='tensor'`` returns the pooled features
(B, D) and the logits (H, B, K) of all heads.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from cdmx.registry import HEADS, MODELS, PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError

STAGES = ('self', 'joint')


@MODELS.register_module()
class ClusterModel(BaseModel):
    """Backbone -> pooling -> :class:`cdmx.models.heads.ClusterHead`.

    Args:
        backbone (dict): e.g. ``dict(type='mmpretrain.ResNet', depth=34, init_cfg=dict(
            type='Pretrained', checkpoint='<MoCo checkpoint>', prefix='backbone.'))``.
        head (dict): ``ClusterHead`` config.
        neck (dict, optional): Pooling; defaults to mmpretrain's ``GlobalAveragePooling``.
        stage (str): ``'self'`` or ``'joint'``.
        prototype_labeler (dict): E-step labeler (stage 'self'). Defaults to
            ``PrototypeLabeler(ratio=0.5)``.
        confident_labeler (dict): Eq. 9 labeler (stage 'joint'). Defaults to
            ``ConfidentLabeler(threshold=0.95)``.
        confident_weight (float): w_u, the weight of Eq. 9's loss. Defaults to 1.
        loss_momentum (float): Momentum of the heads' loss averages. Defaults to 0.01.
        data_preprocessor (dict, optional): e.g. mmpretrain's ``SelfSupDataPreprocessor`` (it
            takes lists of views).
        init_cfg (dict, optional): mmengine initialisation of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 stage: str = 'self',
                 prototype_labeler: Optional[dict] = None,
                 confident_labeler: Optional[dict] = None,
                 confident_weight: float = 1.0,
                 loss_momentum: float = 0.01,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if stage not in STAGES:
            raise CdmxError(f"ClusterModel stage '{stage}' is unknown; use 'self' (EM on frozen "
                            "features) or 'joint' (features and head on reliable samples).")
        self.stage = stage
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='mmpretrain.GlobalAveragePooling'))
        self.head = HEADS.build(head)
        self.prototype_labeler = PSEUDO_LABELERS.build(
            prototype_labeler or dict(type='PrototypeLabeler', ratio=0.5))
        self.confident_labeler = PSEUDO_LABELERS.build(
            confident_labeler or dict(type='ConfidentLabeler', threshold=0.95))
        self.confident_weight = float(confident_weight)
        self.loss_momentum = float(loss_momentum)
        self.register_buffer('head_losses', torch.zeros(self.head.num_heads))
        self.register_buffer('loss_steps', torch.zeros((), dtype=torch.long))
        if stage == 'self':
            for param in list(self.backbone.parameters()) + list(self.neck.parameters()):
                param.requires_grad_(False)

    @property
    def best_head(self) -> int:
        """The head with the lowest average EM loss (head 0 before any training)."""
        return int(self.head_losses.argmin()) if int(self.loss_steps) > 0 else 0

    def train(self, mode: bool = True) -> 'ClusterModel':
        """``nn.Module.train``; in stage 'self' the frozen feature model stays in eval mode."""
        super().train(mode)
        if self.stage == 'self':
            self.backbone.eval()
            self.neck.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, D) pooled features."""
        feats = self.neck(self.backbone(inputs))
        return feats[-1] if isinstance(feats, (tuple, list)) else feats

    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[DataSample],
                                               Tuple[torch.Tensor, torch.Tensor]]:
        """``'loss'``: two views -> losses; ``'predict'``: images -> data samples with
        ``pred_score``/``pred_label``; ``'tensor'``: images -> (features (B, D), logits
        (H, B, K))."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            feats = self.extract_feat(inputs)
            return feats, self.head(feats)
        raise CdmxError(f"forward mode '{mode}' is unknown; use 'loss', 'predict' or 'tensor'.")

    @staticmethod
    def _views(inputs) -> Tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise CdmxError('ClusterModel trains on two views per image; wrap the train pipeline '
                            "in mmpretrain's MultiView with num_views=[1, 1] (weak, then "
                            'augmented/strong) and use SelfSupDataPreprocessor.')
        return inputs[0], inputs[1]

    def loss(self, inputs: List[torch.Tensor],
             data_samples: Optional[List[DataSample]]) -> Dict[str, torch.Tensor]:
        """Losses of the current stage (see the module docstring)."""
        first, second = self._views(inputs)
        if self.stage == 'self':
            return self._em_loss(first, second)
        return self._joint_loss(first, second, data_samples)

    def _em_loss(self, view: torch.Tensor, augmented: torch.Tensor) -> Dict[str, torch.Tensor]:
        with torch.no_grad():
            feats = self.extract_feat(view)
            aug_feats = self.extract_feat(augmented)
        probs = self.head(feats).detach().softmax(dim=-1)  # (H, B, K)
        logits = self.head(aug_feats)  # (H, B, K)
        losses = {}
        for h in range(self.head.num_heads):
            indices, labels = self.prototype_labeler(feats, probs[h])  # E-step (E1)-(E2)
            losses[f'loss_head{h}'] = F.cross_entropy(logits[h][indices], labels)  # M-step (M)
        with torch.no_grad():
            current = torch.stack([v.detach() for v in losses.values()])
            if int(self.loss_steps) == 0:
                self.head_losses.copy_(current)
            else:
                self.head_losses.lerp_(current, self.loss_momentum)
            self.loss_steps += 1
        return losses

    def _joint_loss(self, weak: torch.Tensor, strong: torch.Tensor,
                    data_samples: Optional[List[DataSample]]) -> Dict[str, torch.Tensor]:
        if not data_samples or any('pseudo_label' not in s for s in data_samples):
            raise CdmxError("joint training needs each sample's metainfo 'pseudo_label' (its "
                            'reliable label or -1); train on PseudoLabeledDataset and list '
                            "'pseudo_label' in PackInputs meta_keys.")
        labels = torch.tensor([int(s.pseudo_label) for s in data_samples], device=weak.device)
        head = self.best_head
        logits = self.head(self.extract_feat(torch.cat([weak, strong])), head=head)
        weak_logits, strong_logits = logits.chunk(2)
        reliable = labels >= 0
        loss_reliable = (F.cross_entropy(weak_logits[reliable], labels[reliable])
                         if reliable.any() else weak_logits.sum() * 0)
        indices, confident = self.confident_labeler(weak_logits.detach().softmax(dim=1))  # Eq. 9
        loss_confident = (F.cross_entropy(strong_logits[indices], confident, reduction='sum') /
                          len(weak)) if len(indices) else strong_logits.sum() * 0
        return dict(loss_reliable=loss_reliable,
                    loss_confident=self.confident_weight * loss_confident)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """(B, C, H, W) -> data samples with ``pred_score`` (K,) and ``pred_label``."""
        probs = self.head(self.extract_feat(inputs), head=self.best_head).softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(inputs))]
        for sample, score in zip(data_samples, probs):
            sample.set_pred_score(score).set_pred_label(score.argmax())
        return data_samples
