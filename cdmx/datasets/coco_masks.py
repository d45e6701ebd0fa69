"""COCO instance annotations -> the 81-class semantic masks of UniMatch's COCO layout.

UniMatch (and PseudoSeg / DiffMatch) train on ``masks/<image id>.png``: one 8-bit channel with
0 background, 1-80 the 80 object categories in the order of their ascending COCO category ids
(``COCO_OBJECT_CLASSES``) and 255 ignored. The masks are painted from
``annotations/instances_<split>.json`` in the order of its annotations (a later annotation
overwrites an earlier one where they overlap); the pixels of crowd annotations
(``iscrowd=1``) become 255. ``tools/dataset_converters/coco_object_masks.py`` writes them.

pycocotools is deliberately not used: installing it switches on an optional import in
mmpretrain that is broken with this stack, so the polygons are rasterised with PIL and the
run-length encodings (RLE) are decoded here, from the description of COCO's format (the
``maskApi.c`` conventions: column-major runs that start with a run of zeros). PIL fills a
polygon with its outline a little differently from pycocotools' ``frPoly`` (up to a pixel along
the border); that is the only difference.
"""
from typing import Dict, List, Sequence, Union

import numpy as np
from PIL import Image, ImageDraw

from cdmx.utils.errors import CdmxError

#: The label of the pixels of crowd annotations (and of nothing else).
IGNORE_INDEX = 255
#: COCO's detection / segmentation set has 80 object categories.
NUM_OBJECT_CATEGORIES = 80


def decode_rle_string(counts: Union[str, bytes]) -> List[int]:
    """The run lengths of a compressed COCO RLE string (``maskApi.c``'s ``rleFrString``).

    Each character ``c`` carries ``ord(c) - 48``: 5 bits of payload (least significant group
    first), the continuation bit 0x20 and, on the last character of a value, the sign bit 0x10.
    From the fourth run on (index > 2) a value is the difference to the run two places before.

    Args:
        counts: The ``counts`` string (or bytes) of a compressed RLE.

    Returns:
        The run lengths, alternately of zeros and ones, starting with zeros.

    Raises:
        CdmxError: A character outside ``'0'``-``'o'`` or a value cut off at the end.
    """
    if isinstance(counts, bytes):
        counts = counts.decode('ascii', errors='replace')
    runs: List[int] = []
    value = shift = 0
    more = False
    for char in counts:
        code = ord(char) - 48
        if not 0 <= code < 64:
            raise CdmxError(f'compressed RLE counts hold the character {char!r}, which COCO\'s '
                            'encoding never writes; pass the counts string of the annotation '
                            'file unchanged.')
        value |= (code & 0x1f) << shift
        shift += 5
        more = bool(code & 0x20)
        if more:
            continue
        if code & 0x10:
            value |= -1 << shift  # sign-extend
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        value = shift = 0
    if more:
        raise CdmxError('a compressed RLE counts string ends in the middle of a value; pass the '
                        'counts string of the annotation file unchanged.')
    return runs


def decode_rle(counts: Union[Sequence[int], str, bytes], size: Sequence[int]) -> np.ndarray:
    """A COCO run-length encoding as a binary mask.

    Args:
        counts: Run lengths (uncompressed RLE) or COCO's compressed counts string. Runs
            alternate zeros and ones, start with zeros and go through the pixels in
            column-major (Fortran) order.
        size: ``[h, w]`` of the mask.

    Returns:
        np.ndarray: (h, w) uint8 of 0 and 1.

    Raises:
        CdmxError: Negative runs, runs that do not add up to ``h * w`` or a bad counts string.
    """
    height, width = (int(v) for v in size)
    runs = decode_rle_string(counts) if isinstance(counts, (str, bytes)) else list(counts)
    runs = np.asarray(runs, np.int64)
    if (runs < 0).any():
        raise CdmxError(f'RLE counts hold the negative run {int(runs.min())}; fix or drop the '
                        'annotation, whose counts are corrupt.')
    if runs.sum() != height * width:
        raise CdmxError(f'RLE counts add up to {int(runs.sum())} pixels, not {height}x{width} = '
                        f'{height * width}; fix or drop the annotation, whose counts do not '
                        'match its size.')
    values = np.repeat((np.arange(runs.size) % 2).astype(np.uint8), runs)
    return values.reshape((height, width), order='F')


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int,
                     width: int) -> np.ndarray:
    """The union of COCO polygons as a binary mask.

    Args:
        polygons: Flat ``[x1, y1, x2, y2, ...]`` lists in pixel coordinates.
        height: Height of the image.
        width: Width of the image.

    Returns:
        np.ndarray: (height, width) uint8 of 0 and 1 (interior and outline of each polygon).

    Raises:
        CdmxError: A polygon with an odd number of coordinates.
    """
    canvas = Image.new('L', (int(width), int(height)), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        if len(polygon) % 2:
            raise CdmxError(f'a polygon has {len(polygon)} coordinates, not x, y pairs; fix or '
                            'drop the annotation that holds it.')
        points = [float(v) for v in polygon]
        if len(points) == 2:  # one point: PIL's polygon needs two
            draw.point(points, fill=1)
        elif points:
            draw.polygon(points, fill=1, outline=1)
    return np.asarray(canvas, np.uint8).copy()


def annotation_mask(ann: dict, height: int, width: int) -> np.ndarray:
    """The pixels of one COCO annotation.

    Args:
        ann: An entry of the annotation file's ``annotations``: its ``segmentation`` is a list
            of polygons, an uncompressed RLE (``counts`` a list) or a compressed one (``counts``
            a string), with ``size`` ``[h, w]``.
        height: Height of the image.
        width: Width of the image.

    Returns:
        np.ndarray: (height, width) uint8 of 0 and 1.

    Raises:
        CdmxError: A segmentation that is neither polygons nor an RLE of the image's size.
    """
    seg = ann.get('segmentation')
    if isinstance(seg, list):
        if all(isinstance(p, (list, tuple)) for p in seg):
            return polygons_to_mask(seg, height, width)
    elif isinstance(seg, dict) and 'counts' in seg and 'size' in seg:
        size = [int(v) for v in seg['size']]
        if size != [int(height), int(width)]:
            raise CdmxError(f"annotation {ann.get('id')} has an RLE of size {size} on an image "
                            f'of {height}x{width}; fix its size or drop the annotation.')
        if isinstance(seg['counts'], (list, tuple, str, bytes)):
            return decode_rle(seg['counts'], size)
    raise CdmxError(f"annotation {ann.get('id')} has a segmentation that is neither a list of "
                    'polygons nor an RLE dict with counts and size; fix or drop the annotation.')


def coco_category_labels(categories: Sequence[dict]) -> Dict[int, int]:
    """Category id -> label: 1-80 in the order of the ascending category ids (0 is background).

    Args:
        categories: The annotation file's ``categories`` (dicts with an ``id``).

    Returns:
        ``{category id: label}`` with labels 1-80.

    Raises:
        CdmxError: Not exactly 80 distinct categories.
    """
    ids = sorted({int(c['id']) for c in categories})
    if len(ids) != NUM_OBJECT_CATEGORIES or len(categories) != NUM_OBJECT_CATEGORIES:
        raise CdmxError(f'the annotation file lists {len(categories)} categories ({len(ids)} '
                        f'distinct ids), not the {NUM_OBJECT_CATEGORIES} of COCO; pass COCO '
                        "2017's instances_<split>.json, not a stuff, panoptic or subset file.")
    return {category: label for label, category in enumerate(ids, start=1)}


def group_annotations(images: Sequence[dict], annotations: Sequence[dict]) -> Dict[int, list]:
    """Image id -> its annotations, in file order; every image gets a (maybe empty) list.

    Raises:
        CdmxError: An annotation whose ``image_id`` is not among ``images``.
    """
    grouped: Dict[int, list] = {image['id']: [] for image in images}
    for ann in annotations:
        if ann['image_id'] not in grouped:
            raise CdmxError(f"annotation {ann.get('id')} belongs to image {ann['image_id']}, "
                            "which the file's images do not list; pass an unmodified COCO "
                            'annotation file or drop the annotation.')
        grouped[ann['image_id']].append(ann)
    return grouped


def semantic_mask(image_info: dict, annotations: Sequence[dict],
                  category_to_label: Dict[int, int]) -> np.ndarray:
    """The 81-class mask of one image.

    Args:
        image_info: The image's entry of ``images`` (``id``, ``height``, ``width``).
        annotations: The image's annotations, painted in this order (later ones overwrite
            earlier ones; crowd annotations paint 255).
        category_to_label: From :func:`coco_category_labels`.

    Returns:
        np.ndarray: (height, width) uint8 with 0 background, 1-80 objects and 255 crowds.

    Raises:
        CdmxError: An annotation of another image, of an unknown category or with a bad
            segmentation.
    """
    height, width = int(image_info['height']), int(image_info['width'])
    mask = np.zeros((height, width), np.uint8)
    for ann in annotations:
        if ann['image_id'] != image_info['id']:
            raise CdmxError(f"annotation {ann.get('id')} belongs to image {ann['image_id']}, "
                            f"not to image {image_info['id']}; pass each image its own "
                            'annotations (see group_annotations).')
        if ann['category_id'] not in category_to_label:
            raise CdmxError(f"annotation {ann.get('id')} has category {ann['category_id']}, "
                            "which the file's categories do not list; pass an unmodified COCO "
                            'annotation file or drop the annotation.')
        label = IGNORE_INDEX if ann.get('iscrowd', 0) else category_to_label[ann['category_id']]
        mask[annotation_mask(ann, height, width) > 0] = label
    return mask
