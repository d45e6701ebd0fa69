"""A dataset whose images are produced on access, not kept in its annotation list."""
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset


class LazyImageDataset(BaseDataset):
    """mmengine ``BaseDataset`` whose ``data_list`` holds labels and file rows, not pixels.

    Subclasses fill ``data_list`` with dicts ``{'gt_label': int, 'row': int, ...}`` in
    :meth:`load_data_list` and implement :meth:`load_img`, which turns one such dict into an
    ``(H, W, 3)`` uint8 array (read from a memory map, decoded from a JPEG, expanded from one
    channel). :meth:`get_data_info` then returns ``{'img', 'gt_label', 'sample_idx', ...}`` with
    ``sample_idx`` = ``row``, the sample's stable position in its source file(s), rather than
    mmengine's default (the position in this dataset, which shifts with subsets).

    Keeping pixels out of ``data_list`` keeps mmengine's serialised annotation buffer small and
    lets :meth:`get_gt_labels` read every label without touching an image.
    """

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['sample_idx'] = info.pop('row')
        info['img'] = self.load_img(info)
        return info

    def get_gt_labels(self) -> np.ndarray:
        """Labels of all samples, shape ``(len(self),)``, int64, without loading any image."""
        return np.array([BaseDataset.get_data_info(self, i)['gt_label'] for i in range(len(self))],
                        dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        return [int(BaseDataset.get_data_info(self, idx)['gt_label'])]
