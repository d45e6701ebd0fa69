"""DiffMatch's testbed: Fashion-MNIST scenes whose long tail is a matter of counts alone.

The redesign of the first mini world (:mod:`cdmx.datasets.fashion_scenes`, issue 17), so that a
DiffMatch comparison can mean something:

* **8 classes**: ``0 background``, ``1 Top`` = the four look-alike tops of Fashion-MNIST
  (T-shirt/top, Pullover, Coat, Shirt, which even a supervised classifier confuses), and the
  other six Fashion-MNIST classes (:data:`TESTBED_CLASS_OF`), so that a head-class error is a
  mistake, not the ambiguity of the labels;
* **rarity by counts**: an item has rank ``r`` (``0..6`` in :data:`TESTBED_TAIL_ORDER`, Top
  first, Sandal last) with probability ``p_r`` proportional to ``imbalance ** (-r / 6)``, and
  every item, whatever its class, has side ``28 s`` with ``s ~ U(scale_min, scale_max)``: a rare
  class is rare because it occurs seldom, not because it is small. The ranks put a class that
  looks like a head class at the tail (Dress beside Top, Sandal and Ankle boot beside Sneaker),
  where a biased model's errors go (the Matthew effect of DiffMatch Sec. 1);
* **filled silhouettes**: an item's pixels above the grey threshold and the holes they enclose
  are the item, drawn in its colour (dark where the item is dark), so image and label agree
  exactly and the label is one region, not a lace of thresholded pixels;
* **three disjoint scene sets**: training scenes (labelled split + unlabelled rest) from one part
  of Fashion-MNIST's ``train_pool``, development scenes (``dev``, for every choice: thresholds,
  alpha, schedules) from the other part (:func:`split_item_pool`), validation scenes (``val``,
  the reported numbers only) from the ``test`` split. The ``external`` pool, on which the
  shared extractor is pretrained (:class:`RenderFashionItem`), is used by none of them.

``tools/dataset_converters/make_fashion_testbed.py`` writes the scenes in mmseg's layout.
"""
from typing import Iterator, List, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.datasets import BaseSegDataset

from cdmx.registry import DATASETS, TRANSFORMS
from cdmx.utils.errors import CdmxError
from .fashion_scenes import paste_item, procedural_texture

TESTBED_CLASSES = ('background', 'Top', 'Trouser', 'Dress', 'Sandal', 'Sneaker', 'Bag',
                   'Ankle boot')
#: Testbed class of each Fashion-MNIST class id 0-9 (T-shirt/top, Pullover, Coat, Shirt -> Top).
TESTBED_CLASS_OF = (1, 2, 1, 3, 1, 4, 1, 5, 6, 7)
#: Testbed item classes from the most to the least frequent (rank 0 ... 6).
TESTBED_TAIL_ORDER = (1, 5, 2, 6, 7, 3, 4)  # Top, Sneaker, Trouser, Bag, Ankle boot, Dress, Sandal
TESTBED_PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                   [245, 130, 48], [145, 30, 180], [70, 240, 240]]


@DATASETS.register_module()
class FashionTestbedDataset(BaseSegDataset):
    """The testbed's scenes in mmseg's layout (``img_dir/{train,dev,val}``,
    ``ann_dir/{train,dev,val}``, PNG images and label maps of values 0-7)."""

    METAINFO = dict(classes=TESTBED_CLASSES, palette=TESTBED_PALETTE)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


def rank_probabilities(imbalance: float, num_ranks: int = len(TESTBED_TAIL_ORDER)) -> np.ndarray:
    """``(num_ranks,)`` item-class probabilities ``p_r`` proportional to
    ``imbalance ** (-r / (num_ranks - 1))``: ``p_0 / p_last = imbalance``."""
    probs = float(imbalance) ** (-np.arange(num_ranks) / (num_ranks - 1))
    return probs / probs.sum()


def split_item_pool(rows: np.ndarray, dev_fraction: float,
                    seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Split Fashion-MNIST rows into the training scenes' items and the dev scenes' items.

    ``numpy.random.default_rng(seed).permutation(len(rows))``: its first
    ``round(dev_fraction * len(rows))`` entries index the dev items, the rest the training items;
    both returned sorted, disjoint, and together ``rows``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(train_rows, dev_rows)``.
    """
    if not 0 < dev_fraction < 1:
        raise CdmxError(f'dev_fraction={dev_fraction} leaves the training or the dev scenes '
                        'without items; give a fraction strictly between 0 and 1.')
    order = np.random.default_rng(seed).permutation(len(rows))
    num_dev = int(round(dev_fraction * len(rows)))
    return np.sort(rows[order[num_dev:]]), np.sort(rows[order[:num_dev]])


class TestbedSceneComposer:
    """Draws testbed scenes (module docstring) from one set of Fashion-MNIST items.

    A scene is a ``size x size`` procedural texture with ``1..max_items`` items pasted on it;
    later items cover earlier ones, in the image and the label alike.

    Args:
        images (np.ndarray): ``(N, 28, 28)`` uint8 items.
        labels (np.ndarray): ``(N,)`` Fashion-MNIST class ids (0-9).
        size (int): Scene side in pixels. Defaults to 64.
        max_items (int): Items per scene are uniform in ``1..max_items``. Defaults to 4.
        imbalance (float): ``p_head / p_tail`` of the item classes (counts). Defaults to 50.
        scale_range (tuple[float, float]): Item scale ``s`` (side ``28 s``), the same uniform
            law for every class. Defaults to (1.1, 1.6).
        threshold (int): Grey level (0-255) above which an item pixel is the item's (plus the
            holes those pixels enclose). Defaults to 40.
    """

    __test__ = False  # not a pytest class, despite its name

    def __init__(self, images: np.ndarray, labels: np.ndarray, size: int = 64,
                 max_items: int = 4, imbalance: float = 50.0,
                 scale_range: Tuple[float, float] = (1.1, 1.6), threshold: int = 40):
        low, high = scale_range
        if size < 16 or max_items < 1 or imbalance < 1 or not 0 <= threshold < 255 or \
                not 0 < low <= high:
            raise CdmxError(f'testbed settings size={size}, max_items={max_items}, imbalance='
                            f'{imbalance}, scale_range={scale_range}, threshold={threshold} are '
                            'invalid; use size >= 16, max_items >= 1, imbalance >= 1, '
                            '0 < scale_min <= scale_max and 0 <= threshold < 255.')
        labels = np.asarray(labels)
        missing = sorted(set(range(10)) - set(np.unique(labels).tolist()))
        if missing:
            raise CdmxError(f'the Fashion-MNIST items hold no item of classes {missing}; give '
                            'items of all 10 classes.')
        self.images, self.size, self.max_items = images, size, max_items
        self.scale_range, self.threshold = (float(low), float(high)), threshold
        self.class_probs = rank_probabilities(imbalance)
        scene_class = np.asarray(TESTBED_CLASS_OF)[labels]
        self.rows = {c: np.flatnonzero(scene_class == c) for c in TESTBED_TAIL_ORDER}

    def scenes(self, num: int,
               seed: int) -> Iterator[Tuple[np.ndarray, np.ndarray, List[int], List[int]]]:
        """``num`` scenes ``(image (S, S, 3) uint8 RGB, label (S, S) uint8, item classes,
        item indices into images)``, deterministic for ``seed``. The items of a class are drawn
        without replacement (a new permutation when a class runs out)."""
        rng = np.random.default_rng(seed)
        queues = {c: [] for c in TESTBED_TAIL_ORDER}
        for _ in range(num):
            canvas = procedural_texture(rng, self.size)
            label = np.zeros((self.size, self.size), np.uint8)
            ranks = rng.choice(len(TESTBED_TAIL_ORDER), size=rng.integers(1, self.max_items + 1),
                               p=self.class_probs)
            classes, items = [], []
            for rank in ranks:
                cls = TESTBED_TAIL_ORDER[rank]
                if not queues[cls]:
                    queues[cls] = rng.permutation(self.rows[cls]).tolist()
                item = queues[cls].pop()
                side = max(8, int(round(28 * rng.uniform(*self.scale_range))))
                paste_item(rng, canvas, label, self.images[item], cls, side, self.threshold,
                           fill_holes=True)
                classes.append(cls)
                items.append(int(item))
            yield np.clip(canvas, 0, 255).astype(np.uint8), label, classes, items


@TRANSFORMS.register_module()
class RenderFashionItem(BaseTransform):
    """One Fashion-MNIST item drawn as the testbed draws its items, for pretraining the shared
    extractor on the external pool (``configs/diffmatch/fashion-scenes_testbed-extractor.py``).

    ``results['img']`` ``(28, 28)`` or ``(28, 28, C)`` uint8 (grey levels; the first channel is
    read) becomes a ``(canvas, canvas, 3)`` uint8 BGR image (the channel order of mmcv's
    ``LoadImageFromFile``): a random procedural texture with the item pasted at a random scale
    in ``scale_range``, flipped left-right with probability 1/2, its filled silhouette shaded in a
    random colour, at a random place (sticking out by up to a quarter of its side), as
    :class:`TestbedSceneComposer` pastes one. ``gt_label`` is left as it is. Randomness comes
    from numpy's global generator, which mmengine seeds.

    Args:
        canvas (int): Side of the output image. Defaults to 40.
        scale_range (tuple[float, float]): Item scale. Defaults to (1.1, 1.6), the testbed's.
        threshold (int): Grey level of the silhouette. Defaults to 40, the testbed's.
    """

    def __init__(self, canvas: int = 40, scale_range: Sequence[float] = (1.1, 1.6),
                 threshold: int = 40):
        super().__init__()
        low, high = scale_range
        if canvas < 16 or not 0 < low <= high or not 0 <= threshold < 255:
            raise CdmxError(f'RenderFashionItem canvas={canvas}, scale_range={scale_range}, '
                            f'threshold={threshold} are invalid; use canvas >= 16, 0 < scale_min '
                            '<= scale_max and 0 <= threshold < 255.')
        self.canvas, self.scale_range, self.threshold = canvas, (low, high), threshold

    def transform(self, results: dict) -> dict:
        item = results['img']
        item = item[..., 0] if item.ndim == 3 else item
        if item.shape != (28, 28):
            raise CdmxError(f'RenderFashionItem draws 28x28 Fashion-MNIST items, got an image of '
                            f'shape {tuple(results["img"].shape)}; put it first in the pipeline.')
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        canvas = procedural_texture(rng, self.canvas)
        label = np.zeros((self.canvas, self.canvas), np.uint8)
        side = max(8, int(round(28 * rng.uniform(*self.scale_range))))
        paste_item(rng, canvas, label, item, 1, side, self.threshold, fill_holes=True)
        rgb = np.clip(canvas, 0, 255).astype(np.uint8)
        results['img'] = np.ascontiguousarray(rgb[..., ::-1])
        results['img_shape'] = rgb.shape[:2]
        return results
