"""COCO instance annotations -> 81-class masks: polygons, both RLE forms, crowds, labels, errors.

The compressed RLE strings are built here by an encoder written from the format's description
(COCO's ``maskApi.c``), independently of the decoder under test.
"""
import random

import numpy as np
import pytest

from cdmx.datasets import COCO_OBJECT_CLASSES
from cdmx.datasets.coco_masks import annotation_mask, coco_category_labels, decode_rle, \
    decode_rle_string, group_annotations, polygons_to_mask, semantic_mask
from cdmx.utils.errors import CdmxError

#: COCO 2017's 80 category ids (1-90 with gaps).
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def mask_to_runs(mask: np.ndarray) -> list:
    """Run lengths of a binary (h, w) mask in column-major order, starting with zeros."""
    flat = mask.ravel(order='F').astype(np.int64)
    runs, value, length = [], 0, 0
    for pixel in flat:
        if pixel == value:
            length += 1
        else:
            runs.append(length)
            value, length = 1 - value, 1
    runs.append(length)
    return runs


def encode_runs(runs: list) -> str:
    """COCO's compressed counts: from the fourth run on the difference to the run two before;
    5 payload bits per char (+48), 0x20 continues, the last char's 0x10 is the sign."""
    chars = []
    for i, x in enumerate(runs):
        if i > 2:
            x -= runs[i - 2]
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return ''.join(chars)


def categories(ids=COCO_IDS):
    shuffled = list(ids)
    random.Random(0).shuffle(shuffled)
    return [dict(id=i, name=f'cat{i}') for i in shuffled]


def test_polygon_square_rasterises_to_its_pixels():
    mask = polygons_to_mask([[2, 3, 6, 3, 6, 7, 2, 7]], height=10, width=12)
    assert mask.shape == (10, 12) and mask.dtype == np.uint8
    expected = np.zeros((10, 12), np.uint8)
    expected[3:8, 2:7] = 1  # interior and outline: rows 3-7, columns 2-6
    assert np.array_equal(mask, expected)
    # two polygons of one annotation: their union; a lone point marks its pixel
    union = polygons_to_mask([[0, 0, 1, 0, 1, 1, 0, 1], [9, 8, 11, 8, 11, 9, 9, 9], [5, 5]],
                             height=10, width=12)
    assert union.sum() == 4 + 6 + 1 and union[5, 5] == 1 and union[8:10, 9:12].all()
    with pytest.raises(CdmxError, match='5 coordinates, not x, y pairs'):
        polygons_to_mask([[1, 2, 3, 4, 5]], 10, 12)


def test_uncompressed_rle_is_column_major():
    # runs 1 zero, 2 ones, 1 zero, 2 ones down the columns of a 2x3 mask
    mask = decode_rle([1, 2, 1, 2], [2, 3])
    assert mask.dtype == np.uint8
    assert mask.tolist() == [[0, 1, 1],
                             [1, 0, 1]]
    assert decode_rle([0, 6], [2, 3]).all()  # starts with an empty run of zeros
    assert not decode_rle([6], [2, 3]).any()


def test_compressed_rle_hand_checked():
    # runs [40, 3, 5, 1] on 7x7: 40 = 'X' (8 + continuation) '1' (1 << 5); 3 = '3'; 5 = '5';
    # the fourth run is 1 - 3 = -2 = 'N' (payload 30, sign bit 0x10)
    assert encode_runs([40, 3, 5, 1]) == 'X135N'
    assert decode_rle_string('X135N') == [40, 3, 5, 1]
    mask = decode_rle('X135N', [7, 7])
    ones = sorted(zip(*np.nonzero(mask)))
    # column-major flat indices 40, 41, 42 and 48
    assert ones == [(0, 6), (5, 5), (6, 5), (6, 6)]
    assert np.array_equal(decode_rle(b'X135N', [7, 7]), mask)


@pytest.mark.parametrize('seed', range(6))
def test_compressed_rle_round_trip(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 60, size=2)
    mask = (rng.random((height, width)) < rng.choice([0.0, 0.05, 0.5, 0.97, 1.0])).astype(
        np.uint8)
    mask[rng.integers(height):, rng.integers(width):] ^= 1  # a long run as well
    runs = mask_to_runs(mask)
    assert sum(runs) == height * width
    assert decode_rle_string(encode_runs(runs)) == runs
    assert np.array_equal(decode_rle(encode_runs(runs), [height, width]), mask)
    assert np.array_equal(decode_rle(runs, [height, width]), mask)


def test_bad_rle_is_refused():
    with pytest.raises(CdmxError, match='add up to 5 pixels, not 2x3 = 6'):
        decode_rle([1, 4], [2, 3])
    with pytest.raises(CdmxError, match='add up to 7 pixels'):
        decode_rle('25', [2, 3])
    with pytest.raises(CdmxError, match='negative run'):
        decode_rle([7, -1], [2, 3])
    with pytest.raises(CdmxError, match="character '~'"):
        decode_rle_string('2~')
    with pytest.raises(CdmxError, match='ends in the middle of a value'):
        decode_rle_string('X')


def test_annotation_mask_reads_every_segmentation_form():
    square = annotation_mask(dict(id=1, segmentation=[[0, 0, 1, 0, 1, 1, 0, 1]]), 2, 3)
    assert square.tolist() == [[1, 1, 0], [1, 1, 0]]
    plain = annotation_mask(dict(id=2, segmentation=dict(counts=[1, 2, 1, 2], size=[2, 3])), 2, 3)
    packed = annotation_mask(dict(id=3, segmentation=dict(counts=encode_runs([1, 2, 1, 2]),
                                                          size=[2, 3])), 2, 3)
    assert plain.tolist() == packed.tolist() == [[0, 1, 1], [1, 0, 1]]
    for bad in (None, 'polygon', [1, 2, 3], dict(counts=[6]), dict(counts=5, size=[2, 3])):
        with pytest.raises(CdmxError, match='annotation 4 has a segmentation that is neither'):
            annotation_mask(dict(id=4, segmentation=bad), 2, 3)
    with pytest.raises(CdmxError, match=r'RLE of size \[3, 2\] on an image of 2x3'):
        annotation_mask(dict(id=5, segmentation=dict(counts=[6], size=[3, 2])), 2, 3)


def test_category_labels_follow_ascending_ids():
    labels = coco_category_labels(categories())
    assert sorted(labels.values()) == list(range(1, 81))
    assert labels[1] == 1 and labels[11] == 11 and labels[13] == 12  # id 12 does not exist
    assert labels[90] == 80 and labels[89] == 79
    # the order of the dataset's classes (COCO's names of these ids)
    for category, name in ((1, 'person'), (13, 'stop sign'), (44, 'bottle'), (90, 'toothbrush')):
        assert COCO_OBJECT_CLASSES[labels[category]] == name
    with pytest.raises(CdmxError, match='lists 79 categories .* not the 80 of COCO'):
        coco_category_labels(categories(COCO_IDS[:-1]))
    with pytest.raises(CdmxError, match=r'lists 80 categories \(79 distinct ids\)'):
        coco_category_labels(categories(COCO_IDS[:-1] + [1]))


def test_semantic_mask_paints_in_order_with_crowds_ignored():
    labels = coco_category_labels(categories())
    image = dict(id=7, height=10, width=12, file_name='000000000007.jpg')
    crowd = np.zeros((10, 12), np.uint8)
    crowd[0:2, 0:3] = 1
    anns = [
        dict(id=1, image_id=7, category_id=1, iscrowd=0, segmentation=[[2, 3, 6, 3, 6, 7, 2, 7]]),
        dict(id=2, image_id=7, category_id=90, iscrowd=0,
             segmentation=[[5, 5, 9, 5, 9, 8, 5, 8]]),  # overwrites the corner of the first
        dict(id=3, image_id=7, category_id=18, iscrowd=1,
             segmentation=dict(counts=mask_to_runs(crowd), size=[10, 12])),
    ]
    mask = semantic_mask(image, anns, labels)
    expected = np.zeros((10, 12), np.uint8)
    expected[3:8, 2:7] = 1
    expected[5:9, 5:10] = 80
    expected[0:2, 0:3] = 255
    assert mask.dtype == np.uint8 and np.array_equal(mask, expected)
    assert not semantic_mask(image, [], labels).any()
    with pytest.raises(CdmxError, match='category 12, which the file'):
        semantic_mask(image, [dict(anns[0], category_id=12)], labels)
    with pytest.raises(CdmxError, match='belongs to image 8, not to image 7'):
        semantic_mask(image, [dict(anns[0], image_id=8)], labels)


def test_annotations_are_grouped_by_known_images():
    images = [dict(id=1), dict(id=2)]
    grouped = group_annotations(images, [dict(id=10, image_id=2), dict(id=11, image_id=2)])
    assert grouped == {1: [], 2: [dict(id=10, image_id=2), dict(id=11, image_id=2)]}
    with pytest.raises(CdmxError, match='annotation 12 belongs to image 3, which the file'):
        group_annotations(images, [dict(id=12, image_id=3)])
