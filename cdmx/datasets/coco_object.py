"""COCO's 80 object classes plus background as a semantic-segmentation dataset (81 classes),
and the masks of that dataset built from COCO's instance annotations."""
from typing import Dict

import numpy as np
from mmseg.datasets import BaseSegDataset

from cdmx.registry import DATASETS
from cdmx.utils.errors import CdmxError

COCO_OBJECT_CLASSES = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck',
    'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')


@DATASETS.register_module()
class COCOObjectDataset(BaseSegDataset):
    """COCO 2017 with the 81-class masks of the semi-supervised literature (PseudoSeg, UniMatch,
    DiffMatch): 0 background, 1-80 the object categories in COCO's category order, 255 ignored.

    mmseg ships COCO-Stuff (171 classes), whose stuff classes cannot be merged into one
    background class through ``label_map``; this dataset reads the masks the semi-supervised
    methods use instead, in UniMatch's layout::

        data_root/train2017/<id>.jpg   data_root/val2017/<id>.jpg   data_root/masks/<id>.png

    Use the masks UniMatch distributes, or build them from the instance annotations with
    ``tools/dataset_converters/coco_object_masks.py`` (:func:`coco_object_mask`).
    """

    METAINFO = dict(classes=COCO_OBJECT_CLASSES)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


def coco_category_index(categories: list) -> Dict[int, int]:
    """COCO category id -> class index 1..80 (COCO's category order, i.e. increasing id; the
    ids run 1..90 with gaps). ``categories`` is the ``categories`` list of an instances file."""
    ids = sorted(int(c['id']) for c in categories)
    if len(ids) != len(COCO_OBJECT_CLASSES) - 1:
        raise CdmxError(f'the annotation file lists {len(ids)} categories, COCO has '
                        f'{len(COCO_OBJECT_CLASSES) - 1}; pass an instances_*.json of COCO 2017.')
    return {cat: index + 1 for index, cat in enumerate(ids)}


def coco_object_mask(coco, image_id: int, category_index: Dict[int, int],
                     ignore_index: int = 255) -> np.ndarray:
    """The 81-class mask of one image: ``(H, W)`` uint8, 0 background, 1-80 objects.

    Objects are painted from the largest to the smallest area, so a small object in front of a
    large one keeps its pixels; crowd regions (``iscrowd=1``) are ``ignore_index`` wherever no
    single object covers them, as in the semi-supervised COCO masks.

    Args:
        coco (pycocotools.coco.COCO): The loaded instance annotations.
        image_id (int): A COCO image id.
        category_index (dict): From :func:`coco_category_index`.
        ignore_index (int): Value of crowd pixels.
    """
    info = coco.imgs[image_id]
    mask = np.zeros((info['height'], info['width']), np.uint8)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
    crowd = np.zeros_like(mask, dtype=bool)
    for ann in sorted(anns, key=lambda a: -float(a['area'])):
        region = coco.annToMask(ann).astype(bool)
        if ann.get('iscrowd', 0):
            crowd |= region
        else:
            mask[region] = category_index[int(ann['category_id'])]
    mask[crowd & (mask == 0)] = ignore_index
    return mask
