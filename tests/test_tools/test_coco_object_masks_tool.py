"""tools/dataset_converters/coco_object_masks.py on a tiny COCO folder written here: the masks it
writes are the ones COCOObjectDataset and LoadCheckedAnnotations read back; its refusals."""
import json
import os
import random
import sys

import numpy as np
import pytest
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

from cdmx.datasets import COCOObjectDataset
from cdmx.datasets.transforms.checked import LoadCheckedAnnotations
from cdmx.utils.errors import CdmxError

TOOL = 'tools/dataset_converters/coco_object_masks.py'
#: COCO 2017's 80 category ids (1-90 with gaps): id 1 person = 1, 13 stop sign = 12,
#: 18 dog = 17, 90 toothbrush = 80.
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def run_main(monkeypatch, *args):
    """The tool's ``main()`` in this process (a fresh interpreter per case costs ~10 s)."""
    monkeypatch.setattr(sys, 'argv', ['tool', *args])
    load_module('coco_tool', os.path.join(REPO_ROOT, TOOL)).main()


def expected_masks() -> dict:
    """The masks of the three images of :func:`make_coco`, by hand."""
    first = np.zeros((10, 12), np.uint8)
    first[3:8, 2:7] = 1  # person square
    first[5:9, 5:10] = 80  # toothbrush, painted later, overwrites
    first[0:2, 0:3] = 255  # crowd dog
    second = np.zeros((7, 7), np.uint8)
    for y, x in ((0, 6), (5, 5), (6, 5), (6, 6)):  # runs [40, 3, 5, 1] = 'X135N'
        second[y, x] = 12
    return {'000000000001': first, '000000000002': second,
            '000000000003': np.zeros((5, 6), np.uint8)}


def make_coco(root: str, split: str = 'val2017', annotations=None) -> str:
    """A COCO folder with three images (polygons and a crowd RLE; a compressed RLE; nothing)."""
    sizes = {1: (10, 12), 2: (7, 7), 3: (5, 6)}
    os.makedirs(os.path.join(root, split), exist_ok=True)
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    images = []
    for image_id, (height, width) in sizes.items():
        name = f'{image_id:012d}.jpg'
        Image.new('RGB', (width, height), (90, 120, 150)).save(os.path.join(root, split, name))
        images.append(dict(id=image_id, file_name=name, height=height, width=width))
    crowd = [0, 2, 8, 2, 8, 2, 98]  # rows 0-1 of columns 0-2 on 10x12, column-major runs
    if annotations is None:
        annotations = [
            dict(id=1, image_id=1, category_id=1, iscrowd=0,
                 segmentation=[[2, 3, 6, 3, 6, 7, 2, 7]]),
            dict(id=2, image_id=1, category_id=90, iscrowd=0,
                 segmentation=[[5, 5, 9, 5, 9, 8, 5, 8]]),
            dict(id=3, image_id=1, category_id=18, iscrowd=1,
                 segmentation=dict(counts=crowd, size=[10, 12])),
            dict(id=4, image_id=2, category_id=13, iscrowd=0,
                 segmentation=dict(counts='X135N', size=[7, 7])),
        ]
    ids = list(COCO_IDS)
    random.Random(0).shuffle(ids)
    data = dict(images=images, annotations=annotations,
                categories=[dict(id=i, name=f'cat{i}') for i in ids])
    with open(os.path.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(data, f)
    return root


def test_tool_writes_masks_the_dataset_reads(tmp_path):
    root = make_coco(str(tmp_path / 'coco'))
    result = run_tool('dataset_converters/coco_object_masks.py', root, '--splits', 'val2017')
    assert_ok(result)
    assert 'val2017: 3 masks written' in result.stdout
    assert '1 of them all background' in result.stdout
    assert 'most pixels: 0 background' in result.stdout and '80 cat90' in result.stdout
    expected = expected_masks()
    assert sorted(os.listdir(os.path.join(root, 'masks'))) == [f'{s}.png' for s in expected]
    for stem in expected:
        assert Image.open(os.path.join(root, 'masks', f'{stem}.png')).mode == 'L'  # 8-bit
    dataset = COCOObjectDataset(data_root=root, pipeline=[],
                                data_prefix=dict(img_path='val2017', seg_map_path='masks'))
    assert len(dataset) == 3
    load = LoadCheckedAnnotations(num_classes=81)
    for index in range(3):
        info = dataset.get_data_info(index)
        stem = os.path.splitext(os.path.basename(info['img_path']))[0]
        loaded = load.transform(dict(info))['gt_seg_map']
        assert loaded.dtype == np.uint8 and np.array_equal(loaded, expected[stem])


def test_tool_refuses_to_overwrite_unless_asked(tmp_path, monkeypatch, capsys):
    root = make_coco(str(tmp_path / 'coco'))
    run_main(monkeypatch, root, '--splits', 'val2017')
    mask = os.path.join(root, 'masks', '000000000003.png')
    Image.fromarray(np.full((5, 6), 7, np.uint8)).save(mask)
    with pytest.raises(CdmxError, match=r'3 masks of val2017 already exist .* pass --overwrite'):
        run_main(monkeypatch, root, '--splits', 'val2017')
    assert np.asarray(Image.open(mask)).max() == 7  # untouched
    run_main(monkeypatch, root, '--splits', 'val2017', '--overwrite')
    assert not np.asarray(Image.open(mask)).any()
    assert 'val2017: 3 masks written' in capsys.readouterr().out


def test_tool_reports_bad_input(tmp_path, monkeypatch):
    with pytest.raises(CdmxError, match='instances_train2017.json does not exist'):
        run_main(monkeypatch, str(tmp_path), '--splits', 'train2017')
    bad = [dict(id=5, image_id=9, category_id=1, iscrowd=0, segmentation=[[0, 0, 1, 0, 1, 1]])]
    root = make_coco(str(tmp_path / 'orphan'), annotations=bad)
    with pytest.raises(CdmxError, match='annotation 5 belongs to image 9, which'):
        run_main(monkeypatch, root, '--splits', 'val2017')
    bad = [dict(id=6, image_id=2, category_id=1, iscrowd=0, segmentation='0 0 1 1')]
    root = make_coco(str(tmp_path / 'shape'), annotations=bad)
    with pytest.raises(CdmxError, match='annotation 6 has a segmentation that is neither'):
        run_main(monkeypatch, root, '--splits', 'val2017')
    bad = [dict(id=7, image_id=2, category_id=1, iscrowd=1,
                segmentation=dict(counts=[40, 3], size=[7, 7]))]
    root = make_coco(str(tmp_path / 'short'), annotations=bad)
    with pytest.raises(CdmxError, match='add up to 43 pixels, not 7x7 = 49'):
        run_main(monkeypatch, root, '--splits', 'val2017')
