"""Labelled / unlabelled partitions of any mmseg dataset from split files in UniMatch's format.

A split file lists one sample per line as two paths relative to the dataset root, image then
label, separated by white space (the format of UniMatch's ``splits/<dataset>/<split>/
{labeled,unlabeled}.txt``), e.g. for Cityscapes (one line, wrapped here)::

    leftImg8bit/train/jena/jena_000078_000019_leftImg8bit.png
        gtFine/train/jena/jena_000078_000019_gtFine_labelTrainIds.png

Unlabelled lists may give the image alone. ``tools/dataset_converters/make_semi_splits.py``
writes seeded splits in this format (see :mod:`cdmx.datasets.semi_splits`).
"""
import copy
import os
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError


def read_split_file(path: str, with_labels: bool) -> List[Tuple[str, Optional[str]]]:
    """``[(image, label or None), ...]`` from a split file, paths as written (relative).

    Raises:
        CdmxError: The file is missing or empty, or a line has the wrong number of columns.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'split file {path} does not exist; write it with '
                        'tools/dataset_converters/make_semi_splits.py or give its path relative '
                        'to data_root.')
    pairs = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) > 2 or (with_labels and len(fields) != 2):
                raise CdmxError(f'line {number} of split file {path} has {len(fields)} fields; '
                                'write "image label" (paths relative to the dataset root)'
                                + (' on every line of a labelled split.' if with_labels else '.'))
            pairs.append((fields[0], fields[1] if with_labels else None))
    if not pairs:
        raise CdmxError(f'split file {path} lists no sample; regenerate it with '
                        'tools/dataset_converters/make_semi_splits.py.')
    return pairs


@DATASETS.register_module()
class SplitListDataset(BaseDataset):
    """The samples of an mmseg dataset that a split file names, labelled or not.

    The wrapped dataset (any mmseg ``BaseSegDataset`` config, built with ``lazy_init=True`` so
    its folders are not scanned) gives the root, the class names and palette, the ignore index,
    ``reduce_zero_label`` and ``label_map``; the split file gives the samples. Every data info is
    what mmseg's datasets produce (``img_path``, ``seg_map_path`` when labelled,
    ``label_map``, ``reduce_zero_label``, ``seg_fields``), so mmseg's transforms apply unchanged.
    Missing files are reported when the split is loaded, not in the middle of training.

    Args:
        dataset (dict | BaseDataset): The mmseg dataset the split refers to, e.g.
            ``dict(type='mmseg.CityscapesDataset', data_root='data/cityscapes')``.
        split_file (str): The split file, relative to the dataset's ``data_root`` unless
            absolute.
        with_labels (bool): Load the label paths (labelled split) or images only (unlabelled).
            Defaults to True.
        num_classes (int, optional): When given, must equal the number of classes of the
            dataset (a check that the model and the data agree).
        pipeline (Sequence): Transforms of each sample.
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``serialize_data``,
            ``max_refetch``, ``indices``).
    """

    def __init__(self, dataset: Union[dict, BaseDataset], split_file: str,
                 with_labels: bool = True, num_classes: Optional[int] = None,
                 pipeline: Sequence = (), **kwargs):
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dict(copy.deepcopy(dataset), lazy_init=True))
        self.source = dataset
        self.with_labels = with_labels
        classes = dataset.metainfo.get('classes')
        if not classes:
            raise CdmxError(f'{type(dataset).__name__} has no class names in its metainfo; '
                            'give metainfo=dict(classes=...) to the wrapped dataset.')
        if num_classes is not None and num_classes != len(classes):
            raise CdmxError(f'num_classes={num_classes} disagrees with the {len(classes)} '
                            f'classes of {type(dataset).__name__}; set num_classes='
                            f'{len(classes)} (model and data) or give the dataset the classes '
                            'you train on.')
        self.ignore_index = getattr(dataset, 'ignore_index', 255)
        super().__init__(ann_file=split_file, data_root=dataset.data_root,
                         metainfo=copy.deepcopy(dataset.metainfo), pipeline=list(pipeline),
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root or ''
        pairs = read_split_file(self.ann_file, self.with_labels)
        missing = [path for pair in pairs for path in pair
                   if path is not None and not os.path.isfile(os.path.join(root, path))]
        if missing:
            raise CdmxError(f'split file {self.ann_file} names {len(missing)} files that do not '
                            f"exist under data_root '{root}', e.g. {missing[0]}; point data_root "
                            'at the dataset folder or regenerate the split with '
                            'tools/dataset_converters/make_semi_splits.py.')
        data_list = []
        for img, label in pairs:
            info = dict(img_path=os.path.join(root, img), label_map=self.source.label_map,
                        reduce_zero_label=self.source.reduce_zero_label, seg_fields=[])
            if label is not None:
                info['seg_map_path'] = os.path.join(root, label)
            data_list.append(info)
        return data_list
