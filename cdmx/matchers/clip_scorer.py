"""The zero-shot scorer of GDUI's pseudo-label matching (§3.3, Algorithm 1, Eqs. 10–11).

It fills the priority matrix a matcher reads (:mod:`cdmx.matchers.stable_marriage`,
:mod:`cdmx.matchers.hungarian`). With ``P`` the (N, K) cluster probabilities of the clustering
stage, ``c_i = argmax_k P[i, k]`` the cluster of sample i and ``Z`` the (N, C) CLIP zero-shot
probabilities over the C class names:

- Eq. 10, the N_top most confident samples of cluster k::

      T_k = the n_top samples i with c_i = k and the largest P[i, k]   (all of them if fewer)

- Eq. 11, the class-proportion priority matrix ``P^c`` (K, C): the share of T_k that CLIP
  assigns to class name c::

      P^c[k, c] = |{i in T_k : argmax_c' Z[i, c'] = c}| / |T_k|

Only the rows of Z that a step reads need scores (``needed_indices``; the others may be NaN):
K * N_top images instead of the whole pool.

CLIP is an open_clip model with a weights file (ViT-B-32 for real users, the mini CLIP here),
loaded through :func:`cdmx.models.foundation.load_clip` on first use.
"""
from typing import List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from cdmx.generators.prompts import check_class_names, check_prompt_template, format_prompts
from cdmx.models.foundation.data import pad_to
from cdmx.models.foundation.mini_clip import load_clip, preprocess_images
from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError


def check_cluster_probs(probs) -> np.ndarray:
    """``probs`` as a float64 (N, K) array of finite, non-negative cluster probabilities."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2 or not np.isfinite(
            probs).all() or (probs < 0).any():
        raise CdmxError(f'cluster probabilities have shape {probs.shape} or hold negative or '
                        'non-finite values; pass the (N, K) matrix P of the clustering stage.')
    return probs


def check_class_count(num_names: int, num_clusters: int) -> None:
    """GDUI matches K clusters to K class names one-to-one: the two counts must agree."""
    if num_names != num_clusters:
        raise CdmxError(f'{num_names} class names were given for K = {num_clusters} clusters; '
                        'list exactly one class name per cluster (or cluster into as many groups '
                        'as there are names).')


def check_scored(clip_probs: np.ndarray, rows: np.ndarray, what: str) -> None:
    """CLIP scores may be computed only for the samples that need them (rows of NaN elsewhere);
    the ``rows`` a step reads must have been scored."""
    if not np.isfinite(clip_probs[rows]).all():
        raise CdmxError(f'CLIP scores are missing for some of {what}; score every index that '
                        'the scorer\'s and the refinement\'s needed_indices return.')


def top_confident(probs, n_top: int) -> List[np.ndarray]:
    """Eq. 10: for every cluster k, the indices of its ``n_top`` most confident samples: the
    largest ``P[i, k]`` over the pool, as SPICE ranks a cluster's samples by its column of P.
    A cluster that is no sample's most probable one (argmax) is still ranked; one with no
    probability anywhere cannot be.

    Args:
        probs (array-like): (N, K) cluster probabilities P.
        n_top (int): N_top >= 1.

    Returns:
        list[np.ndarray]: K int64 arrays, by decreasing ``P[i, k]`` (ties: smaller index).

    Raises:
        CdmxError: A cluster has probability 0 for every sample.
    """
    probs = check_cluster_probs(probs)
    if isinstance(n_top, bool) or not isinstance(n_top, int) or n_top < 1:
        raise CdmxError(f'n_top is {n_top!r}; give the number of confident samples per cluster '
                        '(a positive integer, e.g. 100).')
    tops = []
    for k in range(probs.shape[1]):
        if not (probs[:, k] > 0).any():
            raise CdmxError(f'cluster {k} of {probs.shape[1]} is empty (probability 0 for every '
                            'sample); keep every cluster in the joint stage (the '
                            "ReliableSampleLabeler's min_per_cluster), train the clustering stage "
                            'longer or lower the number of clusters K.')
        order = np.argsort(-probs[:, k], kind='stable')
        tops.append(order[:n_top].astype(np.int64))
    return tops


def class_proportion_priority(probs, clip_probs, n_top: int) -> np.ndarray:
    """Eq. 11: ``P^c`` (K, C), the share of each cluster's top samples CLIP puts in each class.

    Args:
        probs (array-like): (N, K) cluster probabilities P.
        clip_probs (array-like): (N, C) zero-shot probabilities Z (only rows in some T_k are
            read).
        n_top (int): N_top of Eq. 10.

    Returns:
        np.ndarray: (K, C) float64, every row sums to 1.
    """
    clip_probs = np.asarray(clip_probs)
    probs = check_cluster_probs(probs)
    if clip_probs.ndim != 2 or clip_probs.shape[0] != probs.shape[0]:
        raise CdmxError(f'CLIP scores have shape {clip_probs.shape} for {probs.shape[0]} '
                        'samples; score every sample of the clustered dataset.')
    tops = top_confident(probs, n_top)
    check_scored(clip_probs, np.concatenate(tops), 'the N_top most confident samples')
    votes = clip_probs.argmax(axis=1)
    priority = np.zeros((probs.shape[1], clip_probs.shape[1]))
    for k, top in enumerate(tops):
        priority[k] = np.bincount(votes[top], minlength=clip_probs.shape[1]) / top.size
    return priority


@MATCHERS.register_module()
class CLIPZeroShotScorer:
    """CLIP zero-shot probabilities over class names, and the priority matrix of Eq. 11.

    ``Z[i, c] = softmax_c(s * <u_i, v_c>)`` with ``u_i`` the unit image embedding, ``v_c`` the
    unit text embedding of ``prompt_template.format(class_name_c)`` and ``s`` the model's learned
    logit scale (Radford et al., 2021).

    Args:
        model_name (str): open_clip architecture, e.g. ``'ViT-B-32'`` or ``'MiniCLIP-ViT-4'``.
        checkpoint (str): Path of the open_clip weights of that architecture.
        config_dir (str, optional): Folder of ``<model_name>.json`` to register first (the mini
            CLIP's ``model_configs``); None for open_clip's built-in architectures.
        prompt_template (str): Caption with one ``{}`` for the class name.
        n_top (int): N_top of Eq. 10. Defaults to 100.
        canvas_size (int, optional): Centre images on a black square of this side before CLIP's
            own preprocessing (the mini CLIP saw 28x28 images on a 32x32 canvas); None: leave
            them as they are.
        batch_size (int): Images per forward pass. Defaults to 256.
        device (str): Torch device of the model. Defaults to ``'cpu'``.
    """

    def __init__(self,
                 model_name: str,
                 checkpoint: str,
                 config_dir: Optional[str] = None,
                 prompt_template: str = 'A photo of a {}.',
                 n_top: int = 100,
                 canvas_size: Optional[int] = None,
                 batch_size: int = 256,
                 device: str = 'cpu'):
        self.model_name = model_name
        self.checkpoint = checkpoint
        self.config_dir = config_dir
        self.prompt_template = check_prompt_template(prompt_template)
        if isinstance(n_top, bool) or not isinstance(n_top, int) or n_top < 1:
            raise CdmxError(f'CLIPZeroShotScorer n_top is {n_top!r}; give a positive integer '
                            '(e.g. 100).')
        self.n_top = n_top
        self.canvas_size = canvas_size
        self.batch_size = batch_size
        self.device = torch.device(device)
        self._clip = None

    def _load(self):
        """``(model, preprocess, tokenizer)``, loaded once (building the scorer reads no file)."""
        if self._clip is None:
            model, preprocess, tokenizer = load_clip(self.model_name, self.checkpoint,
                                                     self.config_dir)
            self._clip = (model.to(self.device), preprocess, tokenizer)
        return self._clip

    @torch.no_grad()
    def zero_shot(self, images: Sequence[np.ndarray], class_names: Sequence[str]) -> np.ndarray:
        """Zero-shot probabilities ``Z`` of images over class names.

        Args:
            images (Sequence[np.ndarray]): N uint8 ``(H, W, 3)`` RGB images (any indexable of
                them, e.g. a lazy view of a dataset), all of one size.
            class_names (Sequence[str]): The C class names.

        Returns:
            np.ndarray: (N, C) float32, rows sum to 1.
        """
        names = check_class_names(class_names)
        model, preprocess, tokenizer = self._load()
        text = model.encode_text(tokenizer(format_prompts(self.prompt_template, names)).to(
            self.device), normalize=True)
        scale = model.logit_scale.exp()
        out = []
        for start in tqdm(range(0, len(images), self.batch_size), desc='CLIP zero-shot',
                          unit='batch', dynamic_ncols=True, mininterval=2.0):
            batch = np.stack([images[i] for i in range(start,
                                                       min(start + self.batch_size,
                                                           len(images)))])
            if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
                raise CdmxError(f'CLIP scorer got images of shape {batch.shape[1:]} and dtype '
                                f'{batch.dtype}; give uint8 (H, W, 3) RGB images (set '
                                'channels=3 on grey datasets).')
            if self.canvas_size is not None:
                batch = pad_to(batch, self.canvas_size)
            pixels = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
            embeds = model.encode_image(preprocess_images(pixels, preprocess).to(self.device),
                                        normalize=True)
            out.append((scale * embeds @ text.T).softmax(dim=1).float().cpu())
        return torch.cat(out).numpy()

    def needed_indices(self, probs) -> np.ndarray:
        """Sorted indices of the samples whose CLIP scores Eq. 11 reads (the union of T_k)."""
        return np.unique(np.concatenate(top_confident(probs, self.n_top)))

    def priority(self, probs, clip_probs) -> np.ndarray:
        """Eq. 11's ``P^c`` (K, C) from cluster probabilities (N, K) and ``Z`` (N, C), C = K."""
        check_class_count(np.asarray(clip_probs).shape[-1], np.asarray(probs).shape[-1])
        return class_proportion_priority(probs, clip_probs, self.n_top)
