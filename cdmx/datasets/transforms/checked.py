"""mmseg's annotation loader and random crop, with checks that report bad data in one sentence."""
from typing import Tuple, Union

import numpy as np
from mmseg.datasets.transforms import LoadAnnotations, RandomCrop

from cdmx.registry import TRANSFORMS
from cdmx.utils.errors import CdmxError


@TRANSFORMS.register_module()
class LoadCheckedAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that refuses label values outside the classes.

    After mmseg's loading (``reduce_zero_label`` and the dataset's ``label_map`` applied), every
    value of ``gt_seg_map`` (H, W) uint8 must be a class id in ``[0, num_classes)`` or
    ``ignore_index``. mmseg's IoUMetric would silently drop other values (``torch.histc`` bins
    only ``[0, num_classes)``) and a cross-entropy loss would fail on the device with an index
    error far from the file at fault, hence the check here, at load time (one vectorised
    comparison per map).

    Args:
        num_classes (int): Number of classes of the dataset.
        ignore_index (int): The label of ignored pixels. Defaults to 255.
        **kwargs: Arguments of mmseg's ``LoadAnnotations``.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise CdmxError(f'LoadCheckedAnnotations got num_classes={num_classes!r}; give the '
                            'positive number of classes of the dataset.')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        bad = (seg >= self.num_classes) & (seg != self.ignore_index)
        if bad.any():
            values = np.unique(seg[bad]).tolist()
            raise CdmxError(
                f"label map {results['seg_map_path']} holds values {values[:8]} outside the "
                f'{self.num_classes} classes (0-{self.num_classes - 1}) and the ignore index '
                f'{self.ignore_index}; convert it to train ids (for Cityscapes the '
                '*_gtFine_labelTrainIds.png that mmseg\'s cityscapes converter writes) or set '
                'num_classes to the number of classes of the dataset.')


@TRANSFORMS.register_module()
class CheckedRandomCrop(RandomCrop):
    """mmseg's ``RandomCrop`` that refuses an image smaller than the crop, unless allowed.

    mmseg crops a smaller image to its own size without a word; the batch is then padded to
    ``crop_size`` by ``SegDataPreProcessor(size=crop_size)`` (image 0, label ``ignore_index``,
    bottom and right), and the valid region of every sample is its ``img_shape``. That is wanted
    where a resize range goes below the crop (UniMatch's Cityscapes setting: scale 0.5-2.0 of
    2048x1024, crop 801), so such configs set ``allow_smaller=True``; elsewhere a crop larger
    than the image is a configuration mistake and is reported.

    Args:
        crop_size (int | tuple[int, int]): ``(h, w)`` of the crop.
        allow_smaller (bool): Accept images smaller than the crop (cropped to their own size,
            padded later by the data preprocessor). Defaults to False.
        **kwargs: ``cat_max_ratio`` and ``ignore_index`` of mmseg's ``RandomCrop``.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]], allow_smaller: bool = False,
                 **kwargs):
        super().__init__(tuple(crop_size) if isinstance(crop_size, list) else crop_size,
                         **kwargs)
        self.allow_smaller = allow_smaller

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        if not self.allow_smaller and (height < self.crop_size[0] or width < self.crop_size[1]):
            raise CdmxError(
                f'crop size {tuple(self.crop_size)} is larger than the image ({height}, {width}) '
                f"of {results.get('img_path', 'the sample')}; lower crop_size, resize the image "
                'up first, or set allow_smaller=True and let the data preprocessor pad the batch '
                'to the crop size.')
        return super().transform(results)
