"""COCO's 80 object classes plus background as a semantic-segmentation dataset (81 classes)."""
from mmseg.datasets import BaseSegDataset

from cdmx.registry import DATASETS

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

    ``tools/dataset_converters/coco_object_masks.py`` builds these masks from COCO's instance
    annotations (without pycocotools; crowd pixels 255), or use the masks UniMatch distributes.
    """

    METAINFO = dict(classes=COCO_OBJECT_CLASSES)

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
