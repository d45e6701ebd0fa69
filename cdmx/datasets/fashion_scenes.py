"""The mini world of DiffMatch: long-tailed segmentation scenes of Fashion-MNIST items.

A scene is a ``size x size`` RGB image: a procedural texture (seeded stripes, checks or smooth
noise between two random colours) with ``1..max_items`` Fashion-MNIST items pasted on it. An
item is a 28x28 Fashion-MNIST image scaled by ``s``, shaded in a random colour
(``colour * (0.3 + 0.7 g)`` for grey level ``g`` in [0, 1]); its pixels with ``255 g >
threshold`` are pasted and labelled with its class, the others show the background. Later items
cover earlier ones, in the image and the label alike, so image and label agree exactly.

Classes (11): ``0 background`` and ``1 + k`` for Fashion-MNIST class ``k`` (T-shirt/top ...
Ankle boot). Long tail: the classes are ranked by :data:`LONG_TAIL_ORDER` (Coat first, Sandal
last); an item has rank ``r`` with probability ``p_r`` proportional to
``imbalance ** (-r / 9)`` and scale ``s_r = s_head + (s_tail - s_head) r / 9`` (times a
uniform jitter in [0.85, 1.15]), so tail classes are both rarer and smaller, as in Cityscapes
(where the rare classes - motorcycle, rider, train - are also small). Colours never depend on
the class: only shape and texture tell classes apart. With the defaults the head:tail pixel
ratio between the item classes is well above 100 (the tool prints it; Cityscapes: ~400).

Training scenes use Fashion-MNIST's ``train_pool`` subset, validation scenes its ``test``
split; never the ``external`` pool, which is reserved for the stand-in foundation models.
``tools/dataset_converters/make_fashion_scenes.py`` writes them in mmseg's layout.
Its redesign for DiffMatch's comparison (tops merged, rarity by counts alone, a dev split):
:mod:`cdmx.datasets.fashion_testbed`, which shares :func:`procedural_texture` and
:func:`paste_item`.
"""
import math
import os
import shutil
from typing import Dict, Iterator, List, Sequence, Tuple

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset
from PIL import Image
from scipy.ndimage import binary_fill_holes, gaussian_filter

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError
from .fashion_mnist import FASHION_MNIST_CLASSES

FASHION_SCENES_CLASSES = ('background', ) + FASHION_MNIST_CLASSES
#: Fashion-MNIST class ids from the most to the least frequent in the scenes (head to tail).
LONG_TAIL_ORDER = (4, 2, 8, 6, 0, 3, 1, 9, 7, 5)  # Coat ... Sandal
FASHION_SCENES_PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
                          [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
                          [240, 50, 230], [210, 245, 60], [250, 190, 212]]


@DATASETS.register_module()
class FashionScenesDataset(BaseSegDataset):
    """The mini world's scenes in mmseg's layout (``img_dir/{train,val}``,
    ``ann_dir/{train,val}``, PNG images and label maps of values 0-10)."""

    METAINFO = dict(classes=FASHION_SCENES_CLASSES, palette=FASHION_SCENES_PALETTE)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


def procedural_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A ``(size, size, 3)`` float32 background in [0, 255]: stripes at a random angle and
    frequency, a checkerboard, or Gaussian-smoothed noise, blended between two random colours."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    kind = rng.integers(3)
    if kind == 0:
        theta, freq, phase = rng.uniform(0, np.pi), rng.uniform(2, 8), rng.uniform(0, 2 * np.pi)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta))
                               + phase)
    elif kind == 1:
        cells = rng.integers(2, 9)
        t = ((np.floor(xx * cells) + np.floor(yy * cells)) % 2).astype(np.float32)
    else:
        t = gaussian_filter(rng.standard_normal((size, size)), sigma=rng.uniform(1.5, 6))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    low, high = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    return low * (1 - t[..., None]) + high * t[..., None]


class SceneComposer:
    """Draws scenes from one Fashion-MNIST subset.

    Args:
        images (np.ndarray): ``(N, 28, 28)`` uint8 items.
        labels (np.ndarray): ``(N,)`` Fashion-MNIST class ids.
        size (int): Scene side in pixels. Defaults to 64.
        max_items (int): Items per scene are uniform in ``1..max_items``. Defaults to 4.
        imbalance (float): ``p_head / p_tail`` of the item classes. Defaults to 25.
        scale_head (float): Item scale of the head class (28 px -> ``28 s``). Defaults to 1.6.
        scale_tail (float): Item scale of the tail class. Defaults to 0.9.
        threshold (int): Grey level (0-255) above which an item pixel is the item's.
            Defaults to 40.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, size: int = 64,
                 max_items: int = 4, imbalance: float = 25.0, scale_head: float = 1.6,
                 scale_tail: float = 0.9, threshold: int = 40):
        if size < 16 or max_items < 1 or imbalance < 1 or not 0 <= threshold < 255:
            raise CdmxError(f'scene settings size={size}, max_items={max_items}, imbalance='
                            f'{imbalance}, threshold={threshold} are invalid; use size >= 16, '
                            'max_items >= 1, imbalance >= 1 and 0 <= threshold < 255.')
        missing = sorted(set(range(10)) - set(np.unique(labels).tolist()))
        if missing:
            raise CdmxError(f'the Fashion-MNIST subset has no item of classes {missing}; use a '
                            'subset with all 10 classes.')
        self.images, self.size, self.max_items, self.threshold = images, size, max_items, threshold
        ranks = np.arange(10)
        self.class_probs = imbalance ** (-ranks / 9.0)
        self.class_probs /= self.class_probs.sum()
        self.scales = scale_head + (scale_tail - scale_head) * ranks / 9.0
        self.rows = {k: np.flatnonzero(labels == k) for k in range(10)}

    def scenes(self, num: int, seed: int) -> Iterator[Tuple[np.ndarray, np.ndarray, List[int]]]:
        """``num`` scenes ``(image (S, S, 3) uint8 RGB, label (S, S) uint8, item classes)``,
        deterministic for ``seed``; the items of a class are drawn without replacement (a new
        permutation when a class runs out)."""
        rng = np.random.default_rng(seed)
        queues: Dict[int, List[int]] = {k: [] for k in range(10)}
        for _ in range(num):
            canvas = procedural_texture(rng, self.size)
            label = np.zeros((self.size, self.size), np.uint8)
            ranks = rng.choice(10, size=rng.integers(1, self.max_items + 1), p=self.class_probs)
            classes = []
            for rank in ranks:
                k = LONG_TAIL_ORDER[rank]
                if not queues[k]:
                    queues[k] = rng.permutation(self.rows[k]).tolist()
                item = self.images[queues[k].pop()]
                self._paste(rng, canvas, label, item, k, self.scales[rank])
                classes.append(int(k))
            yield np.clip(canvas, 0, 255).astype(np.uint8), label, classes

    def _paste(self, rng, canvas: np.ndarray, label: np.ndarray, item: np.ndarray, k: int,
               scale: float) -> None:
        side = max(8, int(round(28 * scale * rng.uniform(0.85, 1.15))))
        paste_item(rng, canvas, label, item, k + 1, side, self.threshold)


def paste_item(rng: np.random.Generator, canvas: np.ndarray, label: np.ndarray,
               item: np.ndarray, value: int, side: int, threshold: int,
               fill_holes: bool = False) -> None:
    """Paste one item into ``canvas`` ``(S, S, 3)`` float32 and ``label`` ``(S, S)`` uint8, in
    place: ``item`` ``(28, 28)`` uint8 resized to ``side x side``, flipped left-right with
    probability 1/2, its pixels of grey level ``g > threshold`` (with ``fill_holes``, also the
    pixels they enclose, :func:`scipy.ndimage.binary_fill_holes`) shaded ``colour * (0.3 + 0.7 g /
    255)`` in a random colour and labelled ``value``. The top-left corner is uniform such that
    the item may stick out of the scene by up to a quarter of its side."""
    size = canvas.shape[0]
    grey = cv2.resize(item.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        grey = grey[:, ::-1]
    mask = grey > threshold
    if fill_holes:
        mask = binary_fill_holes(mask)
    colour = rng.uniform(40, 255, size=3).astype(np.float32)
    shaded = colour * (0.3 + 0.7 * grey[..., None] / 255.0)
    y0, x0 = rng.integers(-side // 4, size - 3 * side // 4 + 1, size=2)
    ys, xs = slice(max(y0, 0), min(y0 + side, size)), slice(max(x0, 0), min(x0 + side, size))
    inner = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    m = mask[inner]
    canvas[ys, xs][m] = shaded[inner][m]
    label[ys, xs][m] = value


def prepare_scene_output(out: str, overwrite: bool) -> None:
    """Make ``out`` ready for a scene set: refuse (``CdmxError``) to replace its ``img_dir``,
    ``ann_dir`` or ``splits`` unless ``overwrite``, then remove them."""
    existing = [d for d in ('img_dir', 'ann_dir', 'splits') if os.path.exists(os.path.join(out, d))]
    if existing and not overwrite:
        raise CdmxError(f'{out} already holds {existing}; pass --overwrite to replace them or '
                        'choose another --out.')
    for name in existing:
        shutil.rmtree(os.path.join(out, name))


def save_scene_preview(previews: list, palette: Sequence[Sequence[int]], out_file: str) -> None:
    """PNG of scenes (top row) over their label maps coloured by ``palette`` (bottom row);
    ``previews`` holds ``(image (H, W, 3) uint8, label (H, W) int)`` pairs."""
    colours = np.array(palette, np.uint8)
    top = np.concatenate([img for img, _ in previews], axis=1)
    bottom = np.concatenate([colours[label] for _, label in previews], axis=1)
    Image.fromarray(np.concatenate([top, bottom], axis=0)).resize(
        (top.shape[1] * 2, top.shape[0] * 4), Image.NEAREST).save(out_file)


def pixel_statistics(labels: Sequence[np.ndarray], num_classes: int = 11) -> dict:
    """Pixel counts per class and the head:tail ratios of a list of label maps.

    Returns:
        dict: ``pixel_counts`` (list of ``num_classes`` ints), ``head_tail_ratio_items``
        (most / least frequent item class, background excluded) and ``head_tail_ratio_all``
        (over all classes, background included); a ratio is ``inf`` when a class is absent.
    """
    counts = np.zeros(num_classes, np.int64)
    for label in labels:
        counts += np.bincount(label.ravel(), minlength=num_classes)[:num_classes]
    items = counts[1:]

    def ratio(c):
        return float(c.max() / c.min()) if c.min() > 0 else math.inf

    return dict(pixel_counts=counts.tolist(), head_tail_ratio_items=ratio(items),
                head_tail_ratio_all=ratio(counts))
