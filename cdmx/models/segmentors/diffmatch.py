"""DiffMatch's segmentor: a DeepLabv3+ pixel embedding and a diffusion mask denoiser.

An mmseg :class:`~mmseg.models.EncoderDecoder` whose decode head is the feature extractor ``g``
and whose classifier is the denoising process, so mmseg's ``SegDataPreProcessor``, whole / slide
inference, ``postprocess_result``, ``IoUMetric``, ``SegLocalVisualizer`` and test loop run
unchanged:

* ``g`` = backbone (e.g. ``mmseg.ResNetV1c``) + decode head (e.g.
  ``mmseg.DepthwiseSeparableASPPHead``, DeepLabv3+) with its classifier removed (its
  ``conv_seg`` becomes the identity and its dropout is dropped), so the head's own forward
  returns its ``channels``-d pixel embedding ``z`` at 1/4 scale; computed once per image;
* training (Algorithm 2): the ground truth is resized to ``z`` by nearest neighbour, encoded
  (analog bits, ignored pixels -> 0), noised at ``t ~ U(0, 1)`` on the cosine log-SNR schedule,
  denoised by the :class:`~cdmx.models.heads.MaskDenoiser` and scored by the
  :class:`~cdmx.models.losses.DebiasedDiffusionLoss` (Eqs. 4-6 and 9-11) with ignored pixels
  outside the loss. ``loss_at='feature'`` (default) scores the prediction at ``z``'s size
  against the resized ground truth, as DDP does; ``loss_at='input'`` upsamples the prediction
  bilinearly to the label maps (as inference does before decoding) and scores it against the
  encoded full-size ground truth, so that items a few pixels wide, which nearest-neighbour
  resizing to 1/4 scale drops, still count;
* inference (Algorithm 3, :meth:`~cdmx.diffusion.logsnr.LogSNRSchedule.sample`): DDIM from
  pure noise with ``steps`` (3) and time difference ``td`` (1), each update from the denoiser's
  re-encoded prediction (``MaskDenoiser.encode_prediction``).
  An extension, not the paper's method (Sec. 3.3 moves the adjustment into the training loss,
  Eqs. 9-11; the paper configs leave it off): with ``debias_sampling`` = alpha > 0 each step's
  prediction ``y0^`` is first replaced by the code mean of its debiased posterior,
  ``P~(c) ∝ P(c | y0^) / (C p(c))^alpha`` (Eq. 10's division by ``C p(y_0)`` applied post hoc at
  every sampling step, the logit adjustment of Menon et al. 2020 that
  :class:`~cdmx.models.DiscriminativeSegmentor` offers a classifier as ``logit_adjust``;
  ``debias_shift`` of :mod:`cdmx.models.losses.debiased_diffusion_loss`), so the DDIM update and
  the result both lean towards the rare classes (alpha = 1: Bayes' rule for a uniform prior).
  A self-conditioned denoiser (``MaskDenoiser`` ``self_condition``) reads the previous step's
  raw prediction (zeros at the first step); in training, half of the batches give it its own
  no-gradient first estimate of the same ``y_t``, the other half zeros.
  The last prediction of ``y_0`` is upsampled bilinearly to the input size and turned into
  class log-probabilities (``seg_logits``); ``pred_sem_seg`` is their argmax (mmseg's
  ``postprocess_result``), i.e. the decoded encoding (e.g. the thresholded analog bits).

An optional mmseg ``auxiliary_head`` (e.g. ``mmseg.FCNHead`` with ``in_index=0``) reads ``[z]``
and adds its cross-entropy to the loss, as DDP (whose denoiser DiffMatch follows) trains its
extractor with an FCN head of loss weight 0.4 on the same 1/4-scale feature. It is a training
aid only: inference and checkpoints for mmseg's evaluator do not use it.

The class prior ``p(y_0)`` of Eq. 10 is, unless given as ``class_prior``, the frequency of the
labelled ground-truth classes seen so far in training, summed over the distributed processes
(:mod:`cdmx.models.segmentors.class_prior`); a semi-supervised wrapper passes its own prior for
pseudo-labelled data.
"""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.models import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from cdmx.diffusion.logsnr import LogSNRSchedule, build_logsnr_schedule
from cdmx.registry import HEADS, LOSSES, MODELS
from cdmx.utils.errors import CdmxError

from .class_prior import ClassPriorMixin


@MODELS.register_module()
class DiffMatch(ClassPriorMixin, EncoderDecoder):
    """DiffMatch (module docstring): ``inputs (N, 3, H, W)`` -> ``seg_logits (N, C, H, W)``.

    Args:
        backbone (dict): Backbone config, e.g. ``mmseg.ResNetV1c`` depth 101.
        decode_head (dict): The extractor head, e.g. ``mmseg.DepthwiseSeparableASPPHead`` with
            ``channels=256`` (its classifier is removed; ``num_classes`` and ``ignore_index``
            are read from it).
        denoiser (dict): :class:`~cdmx.models.heads.MaskDenoiser` config; ``num_classes`` and
            ``in_channels`` default to the head's.
        loss (dict): Loss config, :class:`~cdmx.models.losses.DebiasedDiffusionLoss` by default
            (``tau=0`` for DiffMatch without the adjustment).
        steps (int): DDIM steps at inference (3).
        td (float): Time difference of Algorithm 3 (1), ``>= 0``.
        schedule (dict): The log-SNR schedule, ``dict(type=...)`` of
            :func:`~cdmx.diffusion.logsnr.build_logsnr_schedule` (Algorithm 2's by default).
        class_prior (list[float], optional): A fixed ``p(y_0)`` of the labelled data (``C``
            positive values, normalised here); by default estimated from the training ground
            truth (:mod:`~cdmx.models.segmentors.class_prior`).
        loss_at (str): ``'feature'`` or ``'input'``: the resolution of the loss (module
            docstring).
        auxiliary_head (dict, optional): An mmseg decode head trained on ``[z]`` (module
            docstring).
        debias_sampling (float): ``alpha`` >= 0 of the debiased posterior at each DDIM step
            (an extension, module docstring); 0 (the paper) samples the denoiser's own
            predictions.
        neck, train_cfg, test_cfg, data_preprocessor, pretrained, init_cfg: As in mmseg's
            ``EncoderDecoder`` (``test_cfg`` defaults to ``dict(mode='whole')``).
    """

    def __init__(self, backbone: dict, decode_head: dict, denoiser: dict,
                 loss: dict = dict(type='DebiasedDiffusionLoss'), steps: int = 3,
                 td: float = 1.0,
                 schedule: dict = dict(type='OffsetCosineLogSNRSchedule'),
                 class_prior: Optional[Sequence[float]] = None, loss_at: str = 'feature',
                 auxiliary_head: Optional[dict] = None, debias_sampling: float = 0.0,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck,
                         auxiliary_head=auxiliary_head, train_cfg=train_cfg,
                         test_cfg=ConfigDict(test_cfg or dict(mode='whole')),
                         data_preprocessor=data_preprocessor, pretrained=pretrained,
                         init_cfg=init_cfg)
        # g = the head without its classifier: its forward now returns the pixel embedding.
        self.decode_head.conv_seg = nn.Identity()
        self.decode_head.dropout = None
        self.ignore_index = self.decode_head.ignore_index
        denoiser = copy.deepcopy(dict(denoiser))
        denoiser.setdefault('num_classes', self.num_classes)
        denoiser.setdefault('in_channels', self.decode_head.channels)
        if denoiser['num_classes'] != self.num_classes:
            raise CdmxError(f"the denoiser has num_classes {denoiser['num_classes']} but the "
                            f'decode head {self.num_classes}; give both the same number.')
        self.denoiser = HEADS.build(denoiser)
        loss = copy.deepcopy(dict(loss))
        loss.setdefault('ignore_index', self.ignore_index)
        self.diffusion_loss = LOSSES.build(loss)
        if getattr(self.diffusion_loss, 'ignore_index', self.ignore_index) != self.ignore_index:
            raise CdmxError(f'the loss ignores {self.diffusion_loss.ignore_index} but the '
                            f'decode head {self.ignore_index}; give both the same ignore_index.')
        self.schedule = build_logsnr_schedule(dict(schedule))
        LogSNRSchedule.time_pairs(steps, td)  # validates steps and td
        self.steps, self.td = steps, float(td)
        if loss_at not in ('feature', 'input'):
            raise CdmxError(f"loss_at is {loss_at!r}; give 'feature' or 'input'.")
        self.loss_at = loss_at
        if isinstance(debias_sampling, bool) or not isinstance(debias_sampling, (int, float)) \
                or not debias_sampling >= 0:
            raise CdmxError(f'debias_sampling is {debias_sampling!r}; give a number >= 0 (the '
                            'power of 1 / (C p) at each sampling step, 0 for none).')
        self.debias_sampling = float(debias_sampling)
        self._init_class_prior(class_prior)

    # ---- the extractor g ---------------------------------------------------------------------
    def extract_pixel_embedding(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` images -> ``(N, D_z, H/4, W/4)`` pixel embedding ``z``."""
        return self.decode_head(self.extract_feat(inputs))

    def labels_at(self, data_samples: List[SegDataSample], size) -> torch.Tensor:
        """The samples' ``gt_sem_seg`` stacked and resized to ``size`` by nearest neighbour:
        ``(N, h, w)`` int64."""
        gt = torch.stack([sample.gt_sem_seg.data for sample in data_samples])  # (N, 1, H, W)
        return F.interpolate(gt.float(), size=tuple(size), mode='nearest')[:, 0].long()

    # ---- training (Algorithm 2) ----------------------------------------------------------------
    def loss(self, inputs: torch.Tensor, data_samples: List[SegDataSample],
             class_prior: Optional[torch.Tensor] = None, feature_dropout: float = 0.0) -> dict:
        """Eqs. 4-6 and 9-11 on one batch.

        Args:
            inputs (Tensor): ``(N, 3, H, W)`` normalised images.
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` ``(1, H, W)`` (ground
                truth or pseudo-labels, ``ignore_index`` outside the loss).
            class_prior (Tensor, optional): ``(C,)`` ``p(y_0)`` of these labels; by default
                :meth:`class_prior` after counting this batch's labels.
            feature_dropout (float): Channel dropout rate on ``z`` (the strong view's feature
                perturbation; 0 for labelled data).

        Returns:
            dict: ``loss_diffusion`` and ``loss_adjust`` (see the loss), and the auxiliary
            head's ``aux.loss_ce`` where the config has one.
        """
        z = self.extract_pixel_embedding(inputs)
        if feature_dropout > 0:
            z = F.dropout2d(z, feature_dropout, training=True)
        return self.loss_by_embedding(z, data_samples, class_prior)

    def loss_by_embedding(self, z: torch.Tensor, data_samples: List[SegDataSample],
                          class_prior: Optional[torch.Tensor] = None,
                          auxiliary: bool = True) -> dict:
        """Algorithm 2 on a computed pixel embedding ``z`` ``(N, D_z, h, w)``; the arguments
        and result are those of :meth:`loss`; ``auxiliary=False`` leaves the auxiliary head
        out (the semi-supervised loop trains it on ground truth only)."""
        full = torch.stack([sample.gt_sem_seg.data[0] for sample in data_samples]).long()
        labels = self.labels_at(data_samples, z.shape[2:])
        if class_prior is None:
            self.count_classes(full)
            class_prior = self.class_prior()
        y0 = self.denoiser.encode(labels, self.ignore_index)
        t = torch.rand(y0.shape[0], device=y0.device)
        y_t = self.schedule.add_noise(y0, t, torch.randn_like(y0))
        logsnr = self.schedule.logsnr(t)
        previous = None
        if self.denoiser.self_condition and float(torch.rand(())) < 0.5:
            # self-conditioning (Chen et al. 2022, Sec. 3.2): half of the batches learn to
            # refine the denoiser's own first estimate, which carries no gradient
            with torch.no_grad():
                previous = self.denoiser(z, y_t, logsnr)
        pred = self.denoiser(z, y_t, logsnr, previous)
        if self.loss_at == 'input':
            labels = full
            y0 = self.denoiser.encode(full, self.ignore_index)
            pred = resize(pred, size=labels.shape[1:], mode='bilinear',
                          align_corners=self.align_corners)
        with torch.no_grad():  # the adjustment's target (Eqs. 10-11) carries no gradient
            log_probs = self.denoiser.class_log_probs(pred)
            vectors = self.denoiser.class_vectors()
        losses = self.diffusion_loss(pred, y0.detach(), t, labels, class_prior.to(pred.device),
                                     log_probs, vectors)
        if auxiliary and self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train([z], data_samples))
        return losses

    # ---- inference (Algorithm 3) ---------------------------------------------------------------
    def sample(self, z: torch.Tensor, steps: Optional[int] = None,
               td: Optional[float] = None) -> List[torch.Tensor]:
        """DDIM from pure noise: the prediction of ``y_0`` after each step.

        Args:
            z (Tensor): ``(N, D_z, h, w)`` pixel embedding.
            steps (int, optional): DDIM steps (default :attr:`steps`).
            td (float, optional): Time difference (default :attr:`td`).

        Returns:
            list[Tensor]: ``steps`` predictions ``(N, O, h, w)`` (the denoiser's output); the
            last one is the result.
        """
        noise = torch.randn(z.shape[0], self.denoiser.label_channels, *z.shape[2:],
                            device=z.device, dtype=z.dtype)
        previous = None

        def denoise(y_t: torch.Tensor, t_now: torch.Tensor) -> torch.Tensor:
            nonlocal previous
            y0 = self.denoiser(z, y_t, self.schedule.logsnr(t_now), previous)
            if self.denoiser.self_condition:  # the next step reads this raw estimate
                previous = y0
            return self.debias(y0) if self.debias_sampling > 0 else y0

        return self.schedule.sample(denoise, self.denoiser.encode_prediction, noise,
                                    self.steps if steps is None else steps,
                                    self.td if td is None else td)

    def debias(self, y0: torch.Tensor) -> torch.Tensor:
        """``(N, O, h, w)`` prediction -> the same prediction of the posterior divided by
        ``(C p)^alpha`` (``alpha`` = :attr:`debias_sampling`, ``p`` = :meth:`class_prior`;
        ``MaskDenoiser.debiased``), same shape."""
        prior = self.class_prior().to(y0) ** self.debias_sampling
        return self.denoiser.debiased(y0, prior / prior.sum())

    def scores(self, y0: torch.Tensor, size) -> torch.Tensor:
        """``(N, K, h, w)`` predicted ``y_0`` -> ``(N, C, H, W)`` class log-probabilities at
        ``size``, upsampled bilinearly in the encoding space."""
        y0 = resize(y0, size=tuple(size), mode='bilinear', align_corners=self.align_corners)
        return self.denoiser.class_log_probs(y0)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """``(N, 3, H, W)`` -> ``(N, C, H, W)`` class log-probabilities (mmseg's whole and
        slide inference call this)."""
        z = self.extract_pixel_embedding(inputs)
        return self.scores(self.sample(z)[-1], inputs.shape[2:])

    def predict_trajectory(self, inputs: torch.Tensor,
                           data_samples: Optional[List[SegDataSample]] = None,
                           steps: Optional[int] = None) -> List[List[SegDataSample]]:
        """The prediction after each DDIM step (DiffMatch Fig. 10), post-processed like
        :meth:`predict` (whole-image inference).

        Args:
            inputs (Tensor): ``(N, 3, H, W)`` normalised images.
            data_samples (list[SegDataSample], optional): Their meta information.
            steps (int, optional): DDIM steps (default :attr:`steps`).

        Returns:
            list[list[SegDataSample]]: One list per step, each with ``seg_logits`` and
            ``pred_sem_seg`` of every image.
        """
        z = self.extract_pixel_embedding(inputs)
        trajectory = []
        for y0 in self.sample(z, steps):
            samples = None if data_samples is None else copy.deepcopy(data_samples)
            trajectory.append(self.postprocess_result(self.scores(y0, inputs.shape[2:]),
                                                      samples))
        return trajectory

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Tensor mode: ``(N, C, H/4, W/4)`` class log-probabilities of the sampled mask."""
        z = self.extract_pixel_embedding(inputs)
        return self.denoiser.class_log_probs(self.sample(z)[-1])
