"""A dataset whose labels come from a labels file: GDUI's matched pseudo-labels (§3.3-3.4).

The labels file is the JSON that GDUI's clustering, matching and refinement write::

    {"class_names": ["T-shirt/top", ...],      # C names; labels index into this list
     "labels": [3, 0, -1, ...],                 # one int per index of the wrapped dataset
     ...}                                       # other keys (cluster_to_class...) are ignored

A label of ``-1`` marks a sample left without a class; it is left out of this dataset.
"""
import json
import os
from typing import List, Union

import numpy as np
from mmengine.dataset import BaseDataset

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def read_labels_file(path: str) -> dict:
    """``{'class_names': [str] * C, 'labels': (N,) int64}`` from a labels JSON, checked."""
    if not os.path.isfile(path):
        raise CdmxError(f'labels file {path} does not exist; pass the labels JSON written by '
                        "GDUI's clustering and matching (labels_file=...).")
    try:
        with open(path) as f:
            content = json.load(f)
    except (OSError, ValueError) as err:
        raise CdmxError(f'labels file {path} is not valid JSON ({err}); write it again.') from err
    names, labels = (content.get(key) if isinstance(content, dict) else None
                     for key in ('class_names', 'labels'))
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise CdmxError(f'labels file {path} needs "class_names", a list of distinct non-empty '
                        'strings; write the class names the labels index into.')
    if not isinstance(labels, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                               for v in labels):
        raise CdmxError(f'labels file {path} needs "labels", a list of integers (one per '
                        'dataset index, -1 for none).')
    labels = np.asarray(labels, dtype=np.int64)
    bad = labels[(labels < -1) | (labels >= len(names))]
    if bad.size:
        raise CdmxError(f'labels file {path} holds label {int(bad[0])} but has {len(names)} '
                        f'class names; labels must be -1..{len(names) - 1}.')
    return dict(class_names=names, labels=labels)


@DATASETS.register_module()
class PseudoLabelledDataset(BaseDataset):
    """Another dataset with its ``gt_label`` replaced by the labels of a labels file.

    Class ids follow the wrapped dataset's ``metainfo['classes']`` when it has them (the file's
    class names must then be the same names, in any order; its labels are mapped to the
    dataset's ids), otherwise the file's ``class_names``. Each ``get_data_info`` is the wrapped
    dataset's with ``gt_label`` the file's label, ``true_label`` the wrapped dataset's own label
    (``-1`` if it has none) and ``source_idx`` the index in the wrapped dataset.

    Args:
        dataset (dict | BaseDataset): The image dataset the labels were computed on (config or
            instance), in the same order.
        labels_file (str): The labels JSON (module docstring).
        pipeline (Sequence): Transforms applied by ``__getitem__``.
        **kwargs: Other arguments of mmengine's ``BaseDataset``.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], labels_file: str, pipeline=(),
                 **kwargs):
        self.source = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.labels_file = labels_file
        content = read_labels_file(labels_file)
        if len(content['labels']) != len(self.source):
            raise CdmxError(f'labels file {labels_file} has {len(content["labels"])} labels but '
                            f'the dataset has {len(self.source)} images; compute the labels on '
                            'this dataset (same subset and order).')
        file_names = content['class_names']
        classes = self.source.metainfo.get('classes')
        if classes:
            classes = list(classes)
            if sorted(classes) != sorted(file_names):
                raise CdmxError(f'labels file {labels_file} names classes {file_names} but the '
                                f'dataset has {classes}; write the labels with the dataset\'s '
                                'class names.')
        else:
            classes = file_names
        to_dataset = np.array([classes.index(name) for name in file_names] + [-1])
        self._labels = to_dataset[content['labels']]  # -1 indexes the appended -1
        super().__init__(metainfo=dict(classes=tuple(classes)), pipeline=list(pipeline),
                         **kwargs)
        self._metainfo['num_unlabelled'] = int((self._labels < 0).sum())

    def load_data_list(self) -> List[dict]:
        return [dict(source_idx=int(i), gt_label=int(self._labels[i]))
                for i in np.flatnonzero(self._labels >= 0)]

    def get_data_info(self, idx: int) -> dict:
        ours = super().get_data_info(idx)
        info = self.source.get_data_info(ours['source_idx'])
        info.update(true_label=int(info.get('gt_label', -1)), gt_label=ours['gt_label'],
                    source_idx=ours['source_idx'])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """``(len(self),)`` int64 labels, without loading any image."""
        return np.array([BaseDataset.get_data_info(self, i)['gt_label']
                         for i in range(len(self))], dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        return [int(BaseDataset.get_data_info(self, idx)['gt_label'])]
