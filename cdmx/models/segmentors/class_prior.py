"""The labelled class prior ``p(y_0)`` of DiffMatch's Eqs. 10-11, shared by the segmentors.

``p(y_0^l)`` is "statistically derived from the ground truth of labeled data" (Sec. 3.3): a
segmentor either takes a fixed ``class_prior`` (``C`` positive values, normalised) or counts
the labelled pixels of every class it trains on (buffer ``gt_class_counts``) and uses their
add-one smoothed frequencies, so that a class the labelled pixels seen so far do not contain
has the floor ``1 / (n + C)`` instead of 0 (Eq. 10 divides by ``C p``).

Under distributed training each process sees its own batches: the counts of a batch are summed
over the processes (:func:`mmengine.dist.all_reduce`, a no-op in one process) before they enter
the buffer, so every rank holds the global counts and the same prior.

A checkpoint written for another number of classes is refused before any weight is copied
(:meth:`ClassPriorMixin._load_from_state_dict`).
"""
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce

from cdmx.utils.errors import CdmxError


def class_pixel_counts(labels: torch.Tensor, num_classes: int,
                       ignore_index: int = 255) -> torch.Tensor:
    """``(C,)`` float64 pixel count of each class in ``labels`` (any shape), ignoring
    ``ignore_index``; other values outside ``0..C-1`` are an error."""
    values = labels[labels != ignore_index].long()
    if values.numel() and (values.min() < 0 or values.max() >= num_classes):
        raise CdmxError(f'label maps hold values {int(values.min())}..{int(values.max())} '
                        f'outside the classes 0..{num_classes - 1} and the ignore index '
                        f'{ignore_index}; fix the annotations or num_classes.')
    return torch.bincount(values, minlength=num_classes).double()


def summed_over_ranks(counts: torch.Tensor) -> torch.Tensor:
    """``counts`` (any shape) summed over the distributed processes (a copy; every rank must
    call this the same number of times per iteration)."""
    counts = counts.clone()
    all_reduce(counts, op='sum')
    return counts


def smoothed_frequencies(counts: torch.Tensor) -> torch.Tensor:
    """``(C,)`` add-one smoothed frequencies ``(n_c + 1) / sum(n + 1)`` as float32."""
    return ((counts + 1) / (counts + 1).sum()).float()


def fixed_prior(class_prior: Sequence[float], num_classes: int) -> torch.Tensor:
    """``(C,)`` normalised float32 prior from ``C`` positive values; bad input is refused."""
    prior = torch.as_tensor(class_prior, dtype=torch.float32).flatten()
    if prior.numel() != num_classes:
        raise CdmxError(f'class_prior has {prior.numel()} values but the model has '
                        f'{num_classes} classes; give one frequency per class.')
    if not torch.isfinite(prior).all() or (prior < 0).any():
        raise CdmxError(f'class_prior {prior.tolist()} holds a negative or non-finite value; '
                        'give pixel counts or frequencies (>= 0 and finite).')
    zero = (prior == 0).nonzero().flatten().tolist()
    if zero:
        raise CdmxError(f'class_prior gives the classes {zero} probability 0 (they never occur '
                        'in the labelled split) and Eq. 10 divides by C p(y_0); add labelled '
                        'images with them, or leave class_prior unset for the add-one smoothed '
                        'counts.')
    return prior / prior.sum()


class ClassPriorMixin:
    """Adds ``p(y_0)`` of the labelled data to an mmseg ``EncoderDecoder`` subclass.

    Call :meth:`_init_class_prior` in ``__init__`` (after ``num_classes`` is known). Buffers:
    ``gt_class_counts`` ``(C,)`` float64 and ``fixed_class_prior`` ``(C,)`` or None.
    """

    def _init_class_prior(self, class_prior: Optional[Sequence[float]]) -> None:
        self.register_buffer('gt_class_counts',
                             torch.zeros(self.num_classes, dtype=torch.float64))
        self.register_buffer('fixed_class_prior', None if class_prior is None
                             else fixed_prior(class_prior, self.num_classes))

    def count_classes(self, labels: torch.Tensor) -> None:
        """Add the pixels of ``labels`` (any shape), summed over the processes, to
        ``gt_class_counts``."""
        counts = class_pixel_counts(labels, self.num_classes, self.ignore_index)
        self.gt_class_counts += summed_over_ranks(counts.to(self.gt_class_counts.device))

    def class_prior(self) -> torch.Tensor:
        """``(C,)`` ``p(y_0)`` of the labelled data: the fixed prior, or the smoothed
        frequencies of the ground truth counted in training."""
        if self.fixed_class_prior is not None:
            return self.fixed_class_prior
        return smoothed_frequencies(self.gt_class_counts)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        """Refuse a checkpoint of another number of classes before anything is copied
        (mmengine's non-strict loading would otherwise keep the mismatched tensors
        random and only warn)."""
        check_num_classes(state_dict, prefix + 'gt_class_counts', self.num_classes)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


def check_num_classes(state_dict: dict, key: str, num_classes: int) -> None:
    """Raise if ``state_dict[key]`` (a per-class buffer) does not hold ``num_classes`` values."""
    saved = state_dict.get(key)
    if saved is not None and saved.numel() != num_classes:
        raise CdmxError(f'the checkpoint was trained for {saved.numel()} classes ({key}) but '
                        f'this model has {num_classes}; load a checkpoint of this dataset or '
                        'set num_classes to match it.')
