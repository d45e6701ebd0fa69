"""GDUI's noisy-image classifier ``p_phi(y | x_t, t)`` for classifier guidance (§3.5, Eq. 19).

Architecture (feature model + cluster head + classification head, as GDUI describes it), for
noisy images ``x_t`` ``(N, C, H, W)`` in the UNet's ``[-1, 1]`` range and timesteps ``t``::

    f   = neck(backbone(x_t))                    (N, F)  the feature model (e.g. SPICE's)
    h   = f + MLP(sinusoid(t))                   (N, F)  timestep conditioning
    z   = cluster_head(h)                        (N, K)  cluster logits
    l   = cls_head(z)                            (N, C)  class logits, p_phi(y | x_t) = softmax(l)

**Timestep conditioning (design choice).** Guided diffusion's classifiers (Dhariwal & Nichol)
are UNet encoders with the timestep embedding inside every residual block; GDUI's classifier
is a clustering model's feature model, which has no timestep input. Here the timestep enters
once, after pooling: diffusers' sinusoidal ``Timesteps`` followed by its two-layer
``TimestepEmbedding`` MLP (the UNet's own timestep embedding) is *added* to the pooled features,
so any backbone (and a feature model pretrained by clustering) is used unchanged, and the heads
read features that know the noise level. The backbone itself learns noise-robust features by
training on ``x_t``.

Training (``mode='loss'``) on clean images ``x_0`` with labels ``y`` (the matched pseudo-labels
of a :class:`~cdmx.datasets.PseudoLabelledDataset`, or ground truth for Table 1's baseline)::

    t ~ U{0, ..., T - 1},  x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,
    L = CE(l(x_t, t), y)

with the same ``DDPMScheduler`` config as the UNet (the sampler checks that they match).
``mode='predict'`` classifies at timestep ``test_timestep`` (0: the clean image) and sets
``pred_score``/``pred_label`` for mmpretrain's ``Accuracy``; :meth:`log_prob` is the
``log p_phi(y | x_t, t)`` the guidance differentiates.
"""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from cdmx.models.diffusion_models.pixel_diffusion import (PIXEL_PREPROCESSOR,
                                                          check_epsilon_scheduler)
from cdmx.registry import HEADS, MODELS
from cdmx.utils.errors import CdmxError


@MODELS.register_module()
class NoisyClassifier(BaseModel):
    """Timestep-conditioned classifier of noisy images (see module docstring).

    Args:
        backbone (dict): Feature model config (MODELS), e.g. ``dict(type='WideResNet',
            depth=16, widen_factor=2, in_channels=1)``.
        feat_channels (int): ``F``, the pooled feature size (128 for WRN-*-2).
        cluster_head (dict): Cluster head config (HEADS): ``(N, F) -> (N, K)`` logits, e.g.
            SPICE's ``dict(type='ClusterHead', num_clusters=K, in_channels=F, num_heads=1,
            hidden_channels=F)``.
        cls_head (dict): Classification head config (HEADS): ``(N, K) -> (N, C)`` logits, e.g.
            ``dict(type='ClosedSetHead', num_classes=C, in_channels=K)``.
        noise_scheduler (dict): ``DDPMScheduler`` keyword arguments, the UNet's.
        neck (dict, optional): Pooling; defaults to mmpretrain's ``GlobalAveragePooling``.
        test_timestep (int): Timestep of ``mode='predict'``. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to the UNet's ``(x - 127.5) / 127.5``.
        init_cfg (dict, optional): mmengine initialisation.
    """

    def __init__(self,
                 backbone: dict,
                 feat_channels: int,
                 cluster_head: dict,
                 cls_head: dict,
                 noise_scheduler: dict,
                 neck: Optional[dict] = None,
                 test_timestep: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(PIXEL_PREPROCESSOR),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='mmpretrain.GlobalAveragePooling'))
        self.time_proj = Timesteps(feat_channels, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(feat_channels, feat_channels)
        self.cluster_head = HEADS.build(cluster_head)
        self.cls_head = HEADS.build(cls_head)
        if not isinstance(getattr(self.cls_head, 'num_classes', None), int):
            raise CdmxError(f'cls_head {type(self.cls_head).__name__} has no integer '
                            'num_classes; use a head that states its classes, such as '
                            'ClosedSetHead.')
        self.noise_scheduler = DDPMScheduler(**noise_scheduler)
        check_epsilon_scheduler(self.noise_scheduler, 'NoisyClassifier')
        if not 0 <= test_timestep < self.num_train_timesteps:
            raise CdmxError(f'test_timestep {test_timestep} is outside the trained timesteps '
                            f'0..{self.num_train_timesteps - 1}; pick one of them.')
        self.test_timestep = int(test_timestep)
        self.feat_channels = feat_channels

    @property
    def num_classes(self) -> int:
        """``C``, the number of classes."""
        return int(self.cls_head.num_classes)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.noise_scheduler.config.num_train_timesteps)

    @property
    def scheduler_config(self) -> dict:
        return dict(self.noise_scheduler.config)

    def logits(self, x_t: torch.Tensor, timesteps) -> torch.Tensor:
        """``(N, C, H, W)`` noisy images and int or ``(N,)`` timesteps -> ``(N, C)`` logits."""
        feats = self.neck(self.backbone(x_t))
        feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if feats.dim() != 2 or feats.shape[1] != self.feat_channels:
            raise CdmxError(f'the feature model gives features {tuple(feats.shape)} but '
                            f'feat_channels is {self.feat_channels}; set feat_channels to the '
                            "backbone's pooled feature size.")
        timesteps = torch.as_tensor(timesteps, device=x_t.device).expand(x_t.shape[0])
        emb = self.time_embedding(self.time_proj(timesteps).to(feats.dtype))
        clusters = self.cluster_head(feats + emb)
        if clusters.dim() == 3:  # SPICE's ClusterHead stacks its H heads: (H, N, K)
            if clusters.shape[0] != 1:
                raise CdmxError(f'the cluster head has {clusters.shape[0]} heads; give the noisy '
                                'classifier a cluster head with num_heads=1.')
            clusters = clusters[0]
        return self.cls_head(clusters)

    def log_prob(self, x_t: torch.Tensor, timesteps, labels: torch.Tensor) -> torch.Tensor:
        """``log p_phi(y | x_t, t)`` of the given labels ``(N,)``: returns ``(N,)``."""
        log_probs = self.logits(x_t, timesteps).log_softmax(dim=1)
        return log_probs.gather(1, labels.view(-1, 1).to(x_t.device)).squeeze(1)

    @staticmethod
    def _labels(data_samples: Optional[List[DataSample]], num: int,
                device: torch.device) -> torch.Tensor:
        if data_samples is None or len(data_samples) != num or \
                any('gt_label' not in sample for sample in data_samples):
            raise CdmxError('every training image needs a DataSample with gt_label; wrap the '
                            'dataset in PseudoLabelledDataset or use a labelled dataset.')
        return torch.cat([sample.gt_label.reshape(-1)[:1] for sample in data_samples]).to(device)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Cross-entropy on ``x_t`` at uniformly drawn timesteps (module docstring)."""
        labels = self._labels(data_samples, inputs.shape[0], inputs.device)
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise CdmxError(f'labels range {int(labels.min())}..{int(labels.max())} but the '
                            f'classifier has {self.num_classes} classes; set '
                            'cls_head.num_classes to the number of class names.')
        timesteps = torch.randint(0, self.num_train_timesteps, (inputs.shape[0], ),
                                  device=inputs.device)
        x_t = self.noise_scheduler.add_noise(inputs, torch.randn_like(inputs), timesteps)
        return dict(loss=F.cross_entropy(self.logits(x_t, timesteps), labels))

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Class probabilities of ``inputs`` taken as ``x_t`` at ``test_timestep``."""
        probs = self.logits(inputs, self.test_timestep).softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.shape[0])]
        for sample, score in zip(data_samples, probs):
            sample.set_pred_score(score).set_pred_label(score.argmax())
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[DataSample],
                                               torch.Tensor]:
        """``'loss'``: clean images -> ``{'loss'}``; ``'predict'``: data samples with scores;
        ``'tensor'``: ``(N, C)`` logits at ``test_timestep``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.logits(inputs, self.test_timestep)
        raise CdmxError(f"forward mode '{mode}' is unknown; use 'loss', 'predict' or 'tensor'.")
