"""GDUI's noisy-image classifier ``p_phi(y | x_t, t)`` for classifier guidance (§3.5, Eq. 19).

Architecture: "the feature model F and the clustering head C from the clustering stage, along
with an additional classification head C_clf" (§3.5); "both the clustering head and
classification head consist of two fully connected layers" (§4.2). For noisy images ``x_t``
``(N, C, H, W)`` in the UNet's ``[-1, 1]`` range and timesteps ``t`` ``(N,)``::

    e   = MLP(sinusoid(t))        (N, E)         diffusers' Timesteps + TimestepEmbedding
    x'  = feature_input(x_t)      (N, C', H, W)  the feature model's normalisation
    f   = pool(F(x' ; e))         (N, D)         every residual block sees e (below)
    z   = C(f)                    (N, K)         cluster logits
    l   = C_clf(z)                (N, Y)         class logits, p_phi(y | x_t, t) = softmax(l)

**Timestep conditioning in every block** (the paper is silent on how t enters; guided
diffusion's noisy classifier, Dhariwal & Nichol 2021, conditions every residual block):
:class:`BlockTimestepConditioning` adds ``Linear_b(SiLU(e))`` to the output of the first
convolution of each residual block ``b`` of the unchanged backbone, before the normalisation
that follows it — ADM's ``ResBlock`` with ``use_scale_shift_norm=False``, and diffusers'
``ResnetBlock2D`` default (whose blocks take ``temb`` but would replace the clustering stage's
blocks, hence this small addition). It is attached with forward hooks, so the backbone's own
parameters keep their names and a clustering-stage feature model (mmpretrain ResNet, cdmx
WideResNet) loads unchanged; the projections start at zero, so at initialisation the features do
not depend on t and a loaded feature model computes what it computed in clustering.

**From the clustering stage** (``clustering_checkpoint``): F and C are initialised from a
:class:`~cdmx.models.classifiers.ClusterModel` checkpoint (the joint stage's), C from its chosen
head (the lowest EM loss, as ``ClusterModel.best_head``). ``feature_input`` maps the UNet's
``x_t`` back to pixels (the classifier's data preprocessor is the UNet's) and normalises them as
the clustering stage did, repeating grey over ``len(mean)`` channels.

Training (``mode='loss'``) on clean images ``x_0`` with labels ``y`` (the matched pseudo-labels
of a :class:`~cdmx.datasets.PseudoLabelledDataset`, or ground truth for Table 1's baseline)::

    t ~ U{0, ..., T - 1},  x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   (Eq. 5's forward)
    L = CE(l(x_t, t), y)

with the same ``DDPMScheduler`` config as the UNet (the sampler checks that they match).
``mode='predict'`` classifies at timestep ``test_timestep`` (0: the clean image) and sets
``pred_score``/``pred_label`` for mmpretrain's ``Accuracy``; :meth:`log_prob` is the
``log p_phi(y | x_t, t)`` the guidance differentiates.

Checkpoints of the earlier layout (timestep added once after pooling, module
``time_embedding``) are refused on loading with a sentence saying to retrain.
"""
from functools import partial
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import DDPMScheduler
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from cdmx.models.diffusion_models.pixel_diffusion import (PIXEL_PREPROCESSOR,
                                                          check_epsilon_scheduler)
from cdmx.registry import HEADS, MODELS
from cdmx.utils.checkpoint import load_from_local
from cdmx.utils.cli import resolve_checkpoint
from cdmx.utils.errors import CdmxError

#: Residual block classes whose ``conv1`` output receives the timestep embedding: cdmx's
#: WideResNet block and mmpretrain's ResNet / ResNet_CIFAR blocks.
RESIDUAL_BLOCKS = ('PreActBasicBlock', 'BasicBlock', 'Bottleneck')


class BlockTimestepConditioning(nn.Module):
    """ADM-style timestep conditioning of every residual block of an unchanged backbone.

    ``e = TimestepEmbedding(Timesteps(t))`` ``(N, 4 d)`` with ``d = timestep_channels`` (the
    UNet2DModel layout); block ``b`` with ``conv1`` of ``C_b`` output channels computes
    ``conv1(a) + (W_b SiLU(e) + c_b)[:, :, None, None]`` instead of ``conv1(a)``. ``W_b, c_b`` start
    at zero. Forward hooks do the addition, so the backbone runs only through :meth:`forward`.

    Args:
        backbone (nn.Module): The feature model; its blocks of a class named in ``block_types``
            get the embedding after their ``conv1``.
        timestep_channels (int): ``d``, the sinusoid's size; the embedding has ``4 d``.
        block_types (Sequence[str]): Class names of the residual blocks.
    """

    def __init__(self, backbone: nn.Module, timestep_channels: int,
                 block_types: Sequence[str] = RESIDUAL_BLOCKS):
        super().__init__()
        if isinstance(timestep_channels, bool) or not isinstance(timestep_channels, int) or \
                timestep_channels < 2 or timestep_channels % 2:
            raise CdmxError(f'timestep_channels is {timestep_channels!r}; give an even integer '
                            '>= 2 such as 16.')
        convs = [m.conv1 for m in backbone.modules()
                 if type(m).__name__ in tuple(block_types)
                 and isinstance(getattr(m, 'conv1', None), nn.Conv2d)]
        if not convs:
            raise CdmxError(f'the backbone {type(backbone).__name__} has no residual block of the '
                            f'types {tuple(block_types)} with a conv1 to condition on the '
                            'timestep; name its block class in conditioned_blocks.')
        embed_channels = 4 * timestep_channels
        self.time_proj = Timesteps(timestep_channels, flip_sin_to_cos=True,
                                   downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(timestep_channels, embed_channels)
        self.projections = nn.ModuleList(nn.Linear(embed_channels, conv.out_channels)
                                         for conv in convs)
        for proj in self.projections:
            nn.init.zeros_(proj.weight)
            nn.init.zeros_(proj.bias)
        self._emb = None  # SiLU(e) (N, 4 d) while forward runs
        for index, conv in enumerate(convs):
            conv.register_forward_hook(partial(self._add_embedding, index))

    def _add_embedding(self, index: int, module: nn.Module, args, output: torch.Tensor):
        if self._emb is None:
            raise CdmxError('a timestep-conditioned backbone ran without its timestep; call '
                            'NoisyClassifier.logits(x_t, t) instead of the backbone itself.')
        return output + self.projections[index](self._emb)[:, :, None, None].to(output.dtype)

    def forward(self, backbone: nn.Module, x: torch.Tensor, timesteps: torch.Tensor):
        """Run ``backbone`` on ``x`` ``(N, C, H, W)`` conditioned on ``timesteps`` ``(N,)``."""
        emb = self.time_embedding(self.time_proj(timesteps).to(x.dtype))
        self._emb = F.silu(emb)
        try:
            return backbone(x)
        finally:
            self._emb = None


@MODELS.register_module()
class NoisyClassifier(BaseModel):
    """Timestep-conditioned classifier of noisy images (see module docstring).

    Args:
        backbone (dict): Feature model config (MODELS), e.g. ``dict(type='WideResNet',
            depth=10, widen_factor=1, in_channels=1)`` or the clustering stage's
            ``mmpretrain.ResNet_CIFAR``.
        feat_channels (int): ``D``, the pooled feature size.
        cluster_head (dict): Cluster head C (HEADS): ``(N, D) -> (N, K)`` logits, SPICE's
            ``dict(type='ClusterHead', num_clusters=K, in_channels=D, num_heads=1, ...)``.
        cls_head (dict): Classification head C_clf (HEADS): ``(N, K)`` (given as a one-tuple,
            mmpretrain's convention) ``-> (N, Y)`` logits with an integer ``num_classes``, e.g.
            two FC layers: ``dict(type='mmpretrain.StackedLinearClsHead', num_classes=Y,
            in_channels=K, mid_channels=[64], loss=dict(type='mmpretrain.CrossEntropyLoss'))``.
        noise_scheduler (dict): ``DDPMScheduler`` keyword arguments, the UNet's.
        timestep_channels (int): Sinusoid size ``d`` of the block conditioning. Defaults to 16.
        conditioned_blocks (Sequence[str]): Residual block class names that get the timestep.
        feature_input (dict, optional): ``dict(mean=[...], std=[...])`` in pixel units: the
            feature model reads ``(pixels - mean) / std`` over ``len(mean)`` channels instead of
            the UNet-scaled ``x_t``. None feeds ``x_t`` as it is.
        clustering_checkpoint (str, optional): ClusterModel checkpoint (or ``last_checkpoint``)
            whose feature model and chosen head initialise F and C in :meth:`init_weights`.
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
                 timestep_channels: int = 16,
                 conditioned_blocks: Sequence[str] = RESIDUAL_BLOCKS,
                 feature_input: Optional[dict] = None,
                 clustering_checkpoint: Optional[str] = None,
                 neck: Optional[dict] = None,
                 test_timestep: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or dict(PIXEL_PREPROCESSOR),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck or dict(type='mmpretrain.GlobalAveragePooling'))
        self.time_conditioning = BlockTimestepConditioning(self.backbone, timestep_channels,
                                                           conditioned_blocks)
        self.cluster_head = HEADS.build(cluster_head)
        self.cls_head = HEADS.build(cls_head)
        if not isinstance(getattr(self.cls_head, 'num_classes', None), int):
            raise CdmxError(f'cls_head {type(self.cls_head).__name__} has no integer '
                            'num_classes; use a head that states its classes, such as '
                            'mmpretrain.StackedLinearClsHead or ClosedSetHead.')
        self.noise_scheduler = DDPMScheduler(**noise_scheduler)
        check_epsilon_scheduler(self.noise_scheduler, 'NoisyClassifier')
        if not 0 <= test_timestep < self.num_train_timesteps:
            raise CdmxError(f'test_timestep {test_timestep} is outside the trained timesteps '
                            f'0..{self.num_train_timesteps - 1}; pick one of them.')
        self.test_timestep = int(test_timestep)
        self.feat_channels = feat_channels
        self._set_feature_input(feature_input)
        self.clustering_checkpoint = clustering_checkpoint

    def _set_feature_input(self, feature_input: Optional[dict]) -> None:
        """Buffers of the affine map ``x_t -> (x_t * s_u + m_u - mean) / std`` (module doc)."""
        self.feature_input = feature_input
        if feature_input is None:
            return
        mean, std = (torch.as_tensor(feature_input.get(key, ()), dtype=torch.float32).flatten()
                     for key in ('mean', 'std'))
        if mean.numel() == 0 or mean.shape != std.shape or not bool((std > 0).all()):
            raise CdmxError(f'feature_input is {feature_input!r}; give dict(mean=[...], '
                            'std=[...]) of equal lengths (one per channel) with positive std.')
        if getattr(self.data_preprocessor, 'mean', None) is None:
            raise CdmxError('feature_input maps the UNet-scaled x_t back to pixels and needs the '
                            "data_preprocessor's mean and std; give it the UNet's "
                            'ImgDataPreprocessor(mean=[127.5], std=[127.5]).')
        self.register_buffer('feature_mean', mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer('feature_std', std.view(1, -1, 1, 1), persistent=False)

    @property
    def num_classes(self) -> int:
        """``Y``, the number of classes."""
        return int(self.cls_head.num_classes)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.noise_scheduler.config.num_train_timesteps)

    @property
    def scheduler_config(self) -> dict:
        return dict(self.noise_scheduler.config)

    def _features_input(self, x_t: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` UNet-scaled ``x_t`` -> the feature model's input ``(N, C', H, W)``."""
        if self.feature_input is None:
            return x_t
        channels = self.feature_mean.shape[1]
        if x_t.shape[1] not in (1, channels):
            raise CdmxError(f'x_t has {x_t.shape[1]} channels but feature_input normalises '
                            f'{channels}; give feature_input one mean and std per image channel '
                            '(or one for grey images).')
        pixels = x_t * self.data_preprocessor.std + self.data_preprocessor.mean
        return (pixels - self.feature_mean) / self.feature_std

    def logits(self, x_t: torch.Tensor, timesteps) -> torch.Tensor:
        """``(N, C, H, W)`` noisy images and int or ``(N,)`` timesteps -> ``(N, Y)`` logits."""
        timesteps = torch.as_tensor(timesteps, device=x_t.device).expand(x_t.shape[0])
        feats = self.neck(self.time_conditioning(self.backbone, self._features_input(x_t),
                                                 timesteps))
        feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if feats.dim() != 2 or feats.shape[1] != self.feat_channels:
            raise CdmxError(f'the feature model gives features {tuple(feats.shape)} but '
                            f'feat_channels is {self.feat_channels}; set feat_channels to the '
                            "backbone's pooled feature size.")
        clusters = self.cluster_head(feats)
        if clusters.dim() == 3:  # SPICE's ClusterHead stacks its H heads: (H, N, K)
            if clusters.shape[0] != 1:
                raise CdmxError(f'the cluster head has {clusters.shape[0]} heads; give the noisy '
                                'classifier a cluster head with num_heads=1.')
            clusters = clusters[0]
        return self.cls_head((clusters, ))

    def log_prob(self, x_t: torch.Tensor, timesteps, labels: torch.Tensor) -> torch.Tensor:
        """``log p_phi(y | x_t, t)`` of the given labels ``(N,)``: returns ``(N,)``."""
        log_probs = self.logits(x_t, timesteps).log_softmax(dim=1)
        return log_probs.gather(1, labels.view(-1, 1).to(x_t.device)).squeeze(1)

    def init_weights(self) -> None:
        """mmengine's initialisation, then F and C from ``clustering_checkpoint`` if given."""
        super().init_weights()
        if self.clustering_checkpoint is not None:
            self.load_clustering_stage(self.clustering_checkpoint)

    def load_clustering_stage(self, checkpoint: str) -> int:
        """Copy a ClusterModel checkpoint's feature model into ``backbone`` and its chosen head
        (lowest EM loss ``head_losses``, head 0 before any EM step, as ``ClusterModel.best_head``)
        into the one-head ``cluster_head``; returns the chosen head's index."""
        loaded = load_from_local(resolve_checkpoint(checkpoint), map_location='cpu')
        state = loaded.get('state_dict', loaded)
        if 'head_losses' not in state or not any(k.startswith('backbone.') for k in state):
            raise CdmxError(f'{checkpoint} is not a ClusterModel checkpoint (no backbone and '
                            'head_losses); pass the clustering stage\'s checkpoint, e.g. '
                            'work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/iter_200.pth.')
        steps = state.get('loss_steps')
        head = int(state['head_losses'].argmin()) if steps is not None and int(steps) > 0 else 0
        heads = getattr(self.cluster_head, 'heads', None)
        if heads is None or len(heads) != 1:
            raise CdmxError('loading the clustering stage needs a ClusterHead with num_heads=1 '
                            'as cluster_head.')
        for target, prefix in ((self.backbone, 'backbone.'), (heads[0], f'head.heads.{head}.')):
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            try:
                target.load_state_dict(part, strict=True)
            except RuntimeError as error:
                reason = str(error).strip().splitlines()[-1].strip()
                raise CdmxError(f'the clustering checkpoint {checkpoint} does not fit the '
                                f'classifier ({prefix}*: {reason}); give the classifier the '
                                "clustering stage's backbone and head config.") from error
        return head

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Refuse checkpoints of the earlier layout (time added after pooling) by name."""
        if any(key.startswith(prefix + 'time_embedding.') for key in state_dict):
            raise CdmxError('this checkpoint is a noisy classifier of the earlier layout (the '
                            'timestep added once after pooling), which the timestep-conditioned '
                            'blocks cannot load; retrain it with the current config.')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

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
        ``'tensor'``: ``(N, Y)`` logits at ``test_timestep``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.logits(inputs, self.test_timestep)
        raise CdmxError(f"forward mode '{mode}' is unknown; use 'loss', 'predict' or 'tensor'.")
