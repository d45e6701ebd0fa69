"""Teacher-student semi-supervised segmentation in one model (mmdetection's SemiBaseDetector).

One training iteration on a batch grouped by :class:`~cdmx.models.MultiBranchSegDataPreProcessor`
into the branches ``sup``, ``unsup_weak`` and ``unsup_strong``:

1. the teacher predicts the weak view under ``no_grad`` and in eval mode. ``teacher='identical'``
   (DiffMatch Sec. 3.1: "the teacher and student networks are identical, following UniMatch")
   is the student itself with its current weights; ``teacher='ema'`` (an option) is an
   :class:`mmengine.model.ExponentialMovingAverage` of the student, updated from it at the start
   of every training forward, i.e. after each optimiser step. DiffMatch denoises from pure noise
   (its ``inference``), a discriminative model runs its decode head; either way the pseudo-label
   is the argmax of the class scores and its confidence their softmax maximum. Pixels below
   ``confidence_threshold`` (UniMatch's 0.95 for the discriminative baseline; DiffMatch keeps
   every pixel, 0) and padding are ignored;
2. optional batch-level CutMix (UniMatch; not in DiffMatch's list of strong augmentations,
   Sec. 4.1, so the DiffMatch configs leave it off): with probability ``cutmix_prob`` a sample
   gets a random box (area ``U(0.02, 0.4)`` of the image, aspect ratio ``U(0.3, 1/0.3)``) of
   another sample of the batch pasted into its strong view, and its pseudo-label map is mixed
   the same way;
3. the student is trained on the (mixed) strong view against the pseudo-labels, with
   channel dropout (``feature_dropout``, UniMatch's 0.5, DiffMatch's "feature dropout") on its
   features: on ``z`` for DiffMatch, on every backbone output for an mmseg ``EncoderDecoder``.
   Labelled and strong images go through the student's extractor in one batch (UniMatch), so
   batch normalisation never sees a branch of a single image alone;
4. ``L = L_sup + lambda * L_unsup`` (``unsup_weight`` = lambda, 1 in DiffMatch). A segmentor's
   auxiliary head is trained on the labelled branch only, so ``L_unsup`` stays the method's own
   loss (DiffMatch's diffusion loss, the baseline's decode-head cross-entropy).

A burn-in (``burn_in_iters``, as mmdetection's semi-supervised detectors have) trains on the
labelled branch alone for the first iterations: a teacher that has seen no labels yet would
hand the student confident noise (measured on the mini world: a fresh diffusion teacher labels
a quarter of the unlabelled pixels Sneaker). The unlabelled images are not even denoised then.

For DiffMatch the class prior ``p(y_0)`` of Eq. 10 is, for labelled data, the (add-one
smoothed) frequency of the labelled ground truth seen so far (or DiffMatch's fixed
``class_prior``) and, for unlabelled data, initialised from it at the first unlabelled batch and
then updated as an EMA of the (add-one smoothed) pseudo-label frequencies,
``p <- m p + (1 - m) freq`` (``prior_momentum`` = m).

Buffers (saved in checkpoints): ``train_iters`` (the burn-in count), ``labelled_counts``,
``unlabelled_prior``, and for DiffMatch's Figs. 1 and 8 the cumulative pixel counts per class
of the pseudo-labels used (``pseudo_counts``), of the unlabelled ground truth where the samples
carry one (``pseudo_gt_counts``; never used for training) and of the pseudo-labels that agree
with it (``pseudo_correct``). Under distributed training the counts of each iteration are
summed over the processes (one :func:`mmengine.dist.all_reduce` per iteration) before they enter
the buffers, so every rank holds the global counts and the same priors. A student with a class
prior (:class:`~cdmx.models.DiffMatch`, :class:`~cdmx.models.DiscriminativeSegmentor`) keeps
its own estimate (``gt_class_counts``) equal to ``labelled_counts``, so its ``class_prior()``
is the labelled prior, for the loss and for its post-hoc adjustment (``debias_sampling``,
``logit_adjust``); an EMA teacher copies it.
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from mmengine.structures import PixelData
from mmseg.models import BaseSegmentor, EncoderDecoder
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

from .class_prior import (ClassPriorMixin, check_num_classes, class_pixel_counts,
                          smoothed_frequencies, summed_over_ranks)
from .diffmatch import DiffMatch

BRANCHES = ('sup', 'unsup_weak', 'unsup_strong')
#: Per-class pixel counts, in the order of the all-reduced rows (``_count``).
COUNT_BUFFERS = ('labelled_counts', 'pseudo_counts', 'pseudo_gt_counts', 'pseudo_correct')


def _fraction(name: str, value: float, upper_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value < 1 if upper_open else 0 <= value <= 1):
        raise CdmxError(f'SemiSupervisedSegmentor {name} is {value!r}; give a number in '
                        f"[0, 1{')' if upper_open else ']'}.")
    return float(value)


def cutmix_boxes(num: int, height: int, width: int, prob: float,
                 device: torch.device) -> List[Optional[tuple]]:
    """A UniMatch CutMix box ``(y0, y1, x0, x1)`` per sample, or None (probability
    ``1 - prob``): area ``U(0.02, 0.4)`` of ``H x W``, aspect ratio ``U(0.3, 1/0.3)``."""
    boxes = []
    for _ in range(num):
        if float(torch.rand(())) >= prob:
            boxes.append(None)
            continue
        area = float(torch.empty(()).uniform_(0.02, 0.4)) * height * width
        ratio = float(torch.empty(()).uniform_(0.3, 1 / 0.3))
        box_h = min(height, max(1, round((area / ratio) ** 0.5)))
        box_w = min(width, max(1, round((area * ratio) ** 0.5)))
        top = int(torch.randint(0, height - box_h + 1, ()))
        left = int(torch.randint(0, width - box_w + 1, ()))
        boxes.append((top, top + box_h, left, left + box_w))
    return boxes


@MODELS.register_module()
class SemiSupervisedSegmentor(BaseSegmentor):
    """Teacher and student segmentors in one model (module docstring).

    Args:
        segmentor (dict): The student's config: a :class:`~cdmx.models.DiffMatch`, a
            :class:`~cdmx.models.DiscriminativeSegmentor` or an mmseg ``EncoderDecoder``.
        data_preprocessor (dict): A :class:`~cdmx.models.MultiBranchSegDataPreProcessor`.
        teacher (str): ``'identical'`` (DiffMatch and UniMatch: the student's current weights
            label the weak view) or ``'ema'`` (a mean teacher, an option).
        ema_momentum (float, optional): ``m`` in (0, 1) of the EMA teacher's update
            ``teacher <- (1 - m) teacher + m student`` (e.g. 0.01: about the last 100
            students); only with ``teacher='ema'``, where it is required.
        unsup_weight (float): ``lambda`` of ``L_sup + lambda L_unsup``.
        confidence_threshold (float): Pseudo-labels with a lower confidence are ignored.
        cutmix_prob (float): Probability that a strong view gets a CutMix box (0: none, as
            DiffMatch; UniMatch's 0.5 is an option).
        feature_dropout (float): Channel dropout rate on the strong view's features.
        prior_momentum (float): ``m`` of the unlabelled class-prior EMA.
        predict_on (str): ``'teacher'`` or ``'student'``: which model predicts at test time
            (the same one with ``teacher='identical'``).
        burn_in_iters (int): Training iterations on labelled data alone before the unlabelled
            branch starts (0: from the first one).
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self, segmentor: dict, data_preprocessor: Optional[dict] = None,
                 teacher: str = 'identical', ema_momentum: Optional[float] = None,
                 unsup_weight: float = 1.0, confidence_threshold: float = 0.95,
                 cutmix_prob: float = 0.0, feature_dropout: float = 0.5,
                 prior_momentum: float = 0.99, predict_on: str = 'teacher',
                 burn_in_iters: int = 0, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(segmentor)
        if not isinstance(self.student, EncoderDecoder):
            raise CdmxError(f'the segmentor is a {type(self.student).__name__}; give a '
                            'DiffMatch, a DiscriminativeSegmentor or an mmseg EncoderDecoder '
                            'config.')
        self.teacher = self._build_teacher(teacher, ema_momentum)
        if predict_on not in ('teacher', 'student'):
            raise CdmxError(f"predict_on is {predict_on!r}; give 'teacher' or 'student'.")
        if isinstance(unsup_weight, bool) or not isinstance(unsup_weight, (int, float)) \
                or unsup_weight < 0:
            raise CdmxError(f'unsup_weight is {unsup_weight!r}; give a non-negative number.')
        self.unsup_weight = float(unsup_weight)
        self.confidence_threshold = _fraction('confidence_threshold', confidence_threshold)
        self.cutmix_prob = _fraction('cutmix_prob', cutmix_prob)
        self.feature_dropout = _fraction('feature_dropout', feature_dropout, upper_open=True)
        self.prior_momentum = _fraction('prior_momentum', prior_momentum)
        self.predict_on = predict_on
        if isinstance(burn_in_iters, bool) or not isinstance(burn_in_iters, int) or \
                burn_in_iters < 0:
            raise CdmxError(f'burn_in_iters is {burn_in_iters!r}; give a non-negative integer '
                            'number of iterations.')
        self.burn_in_iters = burn_in_iters
        self.register_buffer('train_iters', torch.tensor(0, dtype=torch.long))
        self.num_classes = self.student.num_classes
        self.ignore_index = self.student.decode_head.ignore_index
        self.is_diffusion = isinstance(self.student, DiffMatch)
        num = self.num_classes
        for name in COUNT_BUFFERS:
            self.register_buffer(name, torch.zeros(num, dtype=torch.float64))
        self.register_buffer('unlabelled_prior', torch.full((num, ), 1.0 / num))
        self.register_buffer('prior_initialised', torch.tensor(False))

    def _build_teacher(self, teacher: str,
                       ema_momentum: Optional[float]) -> Optional[ExponentialMovingAverage]:
        """None for the identical teacher, else the EMA copy of the student."""
        if teacher not in ('identical', 'ema'):
            raise CdmxError(f"teacher is {teacher!r}; give 'identical' (DiffMatch, UniMatch) "
                            "or 'ema' (a mean teacher).")
        if teacher == 'identical':
            if ema_momentum is not None:
                raise CdmxError("ema_momentum is only read with teacher='ema'; remove it or "
                                "set teacher='ema'.")
            return None
        if isinstance(ema_momentum, bool) or not isinstance(ema_momentum, (int, float)) or \
                not 0 < ema_momentum < 1:
            raise CdmxError(f"ema_momentum is {ema_momentum!r}; with teacher='ema' give a "
                            "value in (0, 1) (the student's weight in each teacher update, "
                            'e.g. 0.01).')
        return ExponentialMovingAverage(self.student, momentum=float(ema_momentum))

    def init_weights(self) -> None:
        """Initialise the student, then make an EMA teacher a copy of it, so that a model
        evaluated before any training step predicts with the student's weights."""
        super().init_weights()
        if self.teacher is not None:
            self.teacher.module.load_state_dict(self.student.state_dict())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Refuse a checkpoint of another number of classes before anything is copied."""
        check_num_classes(state_dict, prefix + 'labelled_counts', self.num_classes)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---- delegation (BaseSegmentor's abstract interface) ---------------------------------------
    @property
    def teacher_model(self) -> EncoderDecoder:
        """The model that labels the weak view: the student itself, or the EMA copy."""
        return self.student if self.teacher is None else self.teacher.module

    @property
    def predict_model(self) -> EncoderDecoder:
        """The model that predicts at test time (``predict_on``)."""
        return self.teacher_model if self.predict_on == 'teacher' else self.student

    def extract_feat(self, inputs: torch.Tensor):
        return self.predict_model.extract_feat(inputs)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        return self.predict_model.encode_decode(inputs, batch_img_metas)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[SegDataSample]] = None) -> List[SegDataSample]:
        """mmseg's predict with the ``predict_on`` model (plain batches)."""
        return self.predict_model.predict(inputs, data_samples)

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        return self.predict_model._forward(inputs, data_samples)

    # ---- training ------------------------------------------------------------------------------
    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: Dict[str, List[SegDataSample]]) -> dict:
        """``L_sup`` (keys ``sup_*``) and ``lambda L_unsup`` (keys ``unsup_*``), plus the
        logged ``unsup_pseudo_ratio`` (share of pseudo-labelled pixels) and, where the
        unlabelled samples carry ground truth, ``unsup_pseudo_acc``.

        Args:
            inputs (dict[str, Tensor]): ``(N_b, 3, H, W)`` images per branch.
            data_samples (dict[str, list[SegDataSample]]): Samples per branch.
        """
        if not isinstance(inputs, dict) or not set(inputs) <= set(BRANCHES) or not inputs:
            raise CdmxError(f'the semi-supervised segmentor trains on batches grouped into the '
                            f'branches {BRANCHES}, got {type(inputs).__name__}; use the '
                            'MultiBranchSegDataPreProcessor and the multi-branch pipelines.')
        if ('unsup_weak' in inputs) != ('unsup_strong' in inputs):
            raise CdmxError('an unlabelled batch needs both unsup_weak and unsup_strong views; '
                            'give the unlabelled pipeline both branches.')
        if 'unsup_weak' in inputs and inputs['unsup_weak'].shape != inputs['unsup_strong'].shape:
            raise CdmxError(f"the weak view {tuple(inputs['unsup_weak'].shape)} and the strong "
                            f"view {tuple(inputs['unsup_strong'].shape)} differ in size; the "
                            'strong pipeline may only change colours, not geometry.')
        if self.teacher is not None:
            self.teacher.update_parameters(self.student)
        self.train_iters += 1
        unsup = 'unsup_weak' in inputs and int(self.train_iters) > self.burn_in_iters
        pseudo, logs = None, {}
        if unsup:
            labels, confident = self._pseudo_labels(inputs['unsup_weak'],
                                                    data_samples['unsup_weak'])
            pseudo = torch.where(confident, labels, torch.full_like(labels, self.ignore_index))
            logs = self._pseudo_logs(pseudo, data_samples['unsup_weak'])
        pseudo_counts = self._count(data_samples['sup'] if 'sup' in inputs else None, pseudo,
                                    data_samples['unsup_weak'] if unsup else None)
        # (images, samples, class prior, feature dropout, loss factor) of each student branch
        branches = {}
        if 'sup' in inputs:
            prior = self.student.class_prior() if self.is_diffusion else None
            branches['sup'] = (inputs['sup'], data_samples['sup'], prior, 0.0, 1.0)
        if unsup:
            images, samples = self._mixed_strong_view(inputs, data_samples, pseudo)
            prior = self._update_unlabelled_prior(pseudo_counts) if self.is_diffusion else None
            branches['unsup'] = (images, samples, prior, self.feature_dropout,
                                 self.unsup_weight)
        losses = {f'unsup_{key}': value for key, value in logs.items()}
        for name, (branch_losses, factor) in self._student_losses(branches).items():
            losses.update({f'{name}_{key}': value * factor if 'loss' in key else value
                           for key, value in branch_losses.items()})
        return losses

    @torch.no_grad()
    def _count(self, sup_samples: Optional[List[SegDataSample]], pseudo: Optional[torch.Tensor],
               weak_samples: Optional[List[SegDataSample]]) -> torch.Tensor:
        """Add this iteration's per-class pixel counts, summed over the processes in one
        all-reduce (every rank calls it once per iteration, whatever its branches), to the
        buffers ``labelled_counts``, ``pseudo_counts``, ``pseudo_gt_counts`` and
        ``pseudo_correct``; a student with a class prior gets ``labelled_counts``.

        Args:
            sup_samples (list[SegDataSample], optional): The labelled branch.
            pseudo (Tensor, optional): ``(N, H, W)`` pseudo-labels of the weak view.
            weak_samples (list[SegDataSample], optional): The weak branch (ground truth, where
                present, is counted for Figs. 1 and 8 only).

        Returns:
            Tensor: ``(C,)`` float64 pixel counts of this iteration's pseudo-labels, all ranks.
        """
        num, ignore = self.num_classes, self.ignore_index
        counts = torch.zeros(len(COUNT_BUFFERS), num, dtype=torch.float64,
                             device=self.labelled_counts.device)
        if sup_samples is not None:
            gt = torch.stack([s.gt_sem_seg.data for s in sup_samples])
            counts[0] = class_pixel_counts(gt, num, ignore).to(counts.device)
        if pseudo is not None:
            counts[1] = class_pixel_counts(pseudo, num, ignore).to(counts.device)
            with_gt = [i for i, s in enumerate(weak_samples) if 'gt_sem_seg' in s]
            if with_gt:
                gt = torch.stack([weak_samples[i].gt_sem_seg.data[0] for i in with_gt])
                gt = gt.to(pseudo.device)
                agree = (pseudo[with_gt] == gt) & (gt != ignore)
                counts[2] = class_pixel_counts(gt, num, ignore).to(counts.device)
                counts[3] = class_pixel_counts(
                    torch.where(agree, gt, torch.full_like(gt, ignore)), num, ignore).to(
                        counts.device)
        counts = summed_over_ranks(counts)
        for name, row in zip(COUNT_BUFFERS, counts):
            getattr(self, name).add_(row)
        if isinstance(self.student, ClassPriorMixin):
            # the student's own prior (its loss and post-hoc adjustment; module docstring)
            self.student.gt_class_counts.copy_(self.labelled_counts)
        return counts[1]

    def _mixed_strong_view(self, inputs: Dict[str, torch.Tensor],
                           data_samples: Dict[str, List[SegDataSample]],
                           pseudo: torch.Tensor) -> tuple:
        """CutMix of the strong view and of the pseudo-labels.

        Returns:
            tuple: (mixed) strong images ``(N, 3, H, W)`` and their samples with the (mixed)
            pseudo-labels as ``gt_sem_seg``.
        """
        strong = inputs['unsup_strong']
        mixed_img, mixed_pseudo = strong.clone(), pseudo.clone()
        partner = torch.randperm(strong.shape[0], device=strong.device)
        for i, box in enumerate(cutmix_boxes(strong.shape[0], *strong.shape[2:],
                                             self.cutmix_prob, strong.device)):
            if box is not None:
                y0, y1, x0, x1 = box
                j = int(partner[i])
                mixed_img[i, :, y0:y1, x0:x1] = strong[j, :, y0:y1, x0:x1]
                mixed_pseudo[i, y0:y1, x0:x1] = pseudo[j, y0:y1, x0:x1]
        samples = [SegDataSample(metainfo=s.metainfo,
                                 gt_sem_seg=PixelData(data=mixed_pseudo[i][None]))
                   for i, s in enumerate(data_samples['unsup_strong'])]
        return mixed_img, samples

    @torch.no_grad()
    def _pseudo_labels(self, weak: torch.Tensor, samples: List[SegDataSample]):
        """Teacher predictions on the weak view, in eval mode: ``(N, H, W)`` labels and a bool
        mask of the pixels that are confident and not padding."""
        teacher = self.teacher_model
        was_training = teacher.training
        teacher.eval()  # an EMA teacher stays in eval mode (see train); the student returns
        size = tuple(weak.shape[2:])
        # img_shape / pad_shape of the padded batch make mmseg's heads resize to the input.
        metas = [dict(s.metainfo, img_shape=size, pad_shape=size) for s in samples]
        try:
            scores = teacher.inference(weak, metas)
        finally:
            teacher.train(was_training)
        if tuple(scores.shape[2:]) != size:
            scores = resize(scores, size=size, mode='bilinear',
                            align_corners=teacher.align_corners)
        confidence, labels = scores.softmax(dim=1).max(dim=1)
        keep = confidence >= self.confidence_threshold
        for i, sample in enumerate(samples):
            left, right, top, bottom = sample.metainfo.get('padding_size', (0, 0, 0, 0))
            inside = torch.zeros_like(keep[i])
            inside[top:size[0] - bottom, left:size[1] - right] = True
            keep[i] &= inside
        return labels, keep

    @torch.no_grad()
    def _pseudo_logs(self, pseudo: torch.Tensor, samples: List[SegDataSample]) -> dict:
        """This rank's share of pseudo-labelled pixels and, where the samples carry ground
        truth, the pseudo-labels' accuracy (logged, never used for training)."""
        logs = dict(pseudo_ratio=(pseudo != self.ignore_index).float().mean())
        with_gt = [i for i, s in enumerate(samples) if 'gt_sem_seg' in s]
        if with_gt:
            gt = torch.stack([samples[i].gt_sem_seg.data[0] for i in with_gt]).to(pseudo.device)
            sub = pseudo[with_gt]
            checked = (sub != self.ignore_index) & (gt != self.ignore_index)
            if checked.any():
                logs['pseudo_acc'] = ((sub == gt) & checked).sum().float() / checked.sum()
        return logs

    @torch.no_grad()
    def _update_unlabelled_prior(self, counts: torch.Tensor) -> torch.Tensor:
        """Initialise ``p(y_0)`` of unlabelled data from the labelled prior, then take one EMA
        step towards the add-one smoothed frequencies of ``counts`` (``(C,)``, this iteration's
        pseudo-label pixels on all ranks; smoothed as the labelled prior is: a class absent from
        the pseudo-labels for a long time would otherwise decay towards 0 and make Eq. 10's
        ``1 / (C p)`` explode, 5e4 after 1,000 iterations at momentum 0.99); return it."""
        if not bool(self.prior_initialised):
            self.unlabelled_prior.copy_(self.student.class_prior())
            self.prior_initialised.fill_(True)
        if counts.sum() > 0:
            freq = smoothed_frequencies(counts).to(self.unlabelled_prior.device)
            self.unlabelled_prior.mul_(self.prior_momentum).add_(
                (1 - self.prior_momentum) * freq)
        return self.unlabelled_prior.clone()

    def _student_losses(self, branches: dict) -> dict:
        """``{name: (losses, factor)}`` of the student on each branch.

        Branches of one image size go through the extractor in one batch (as UniMatch does), so
        batch normalisation sees every image of the iteration and no branch of one image trains
        it alone; the features are then split per branch, dropped out per branch
        (``feature_dropout``) and scored with the branch's labels and class prior.
        """
        groups = {}
        for name, branch in branches.items():
            groups.setdefault(tuple(branch[0].shape[1:]), []).append(name)
        results = {}
        for names in groups.values():
            feats = self._student_features(torch.cat([branches[n][0] for n in names]))
            start = 0
            for name in names:
                images, samples, prior, dropout, factor = branches[name]
                part = [f[start:start + len(images)] for f in feats]
                start += len(images)
                if dropout > 0:
                    part = [F.dropout2d(f, dropout, training=True) for f in part]
                auxiliary = name == 'sup' and self.student.with_auxiliary_head
                if self.is_diffusion:
                    losses = self.student.loss_by_embedding(part[0], samples, prior, auxiliary)
                else:
                    losses = self.student._decode_head_forward_train(part, samples)
                    if auxiliary:
                        losses.update(self.student._auxiliary_head_forward_train(part, samples))
                results[name] = (losses, factor)
        return results

    def _student_features(self, images: torch.Tensor) -> List[torch.Tensor]:
        """The student's features: ``[z]`` for DiffMatch, the backbone (and neck) outputs for
        an ``EncoderDecoder``."""
        if self.is_diffusion:
            return [self.student.extract_pixel_embedding(images)]
        return list(self.student.extract_feat(images))

    def train(self, mode: bool = True):
        """Train the student; an EMA teacher always predicts in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self
