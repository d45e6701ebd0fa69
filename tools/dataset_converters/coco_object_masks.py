"""Write COCO's 81-class semantic masks (background + 80 objects) from the instance annotations.

    python tools/dataset_converters/coco_object_masks.py DATA_ROOT
        [--annotations annotations/instances_train2017.json annotations/instances_val2017.json]
        [--out masks] [--overwrite]

DATA_ROOT holds COCO 2017 (``train2017/``, ``val2017/``, ``annotations/``). One PNG per image,
``DATA_ROOT/masks/<file name>.png`` (UniMatch's layout, which ``COCOObjectDataset`` and
``make_semi_splits.py --layout coco`` read): 0 background, 1-80 the categories in COCO's order,
255 crowd regions; see :func:`cdmx.datasets.coco_object.coco_object_mask`. Needs pycocotools.
"""
import argparse
import os

from PIL import Image
from pycocotools.coco import COCO
from tqdm import tqdm

from cdmx.datasets.coco_object import coco_category_index, coco_object_mask
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="COCO's 81-class masks from its instances.")
    parser.add_argument('data_root', help='the COCO 2017 folder')
    parser.add_argument('--annotations', nargs='+', default=[
        'annotations/instances_train2017.json', 'annotations/instances_val2017.json'],
        help='instance files, relative to DATA_ROOT')
    parser.add_argument('--out', default='masks', help='mask folder, relative to DATA_ROOT')
    parser.add_argument('--overwrite', action='store_true', help='replace existing masks')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = os.path.join(args.data_root, args.out)
    for name in args.annotations:
        path = os.path.join(args.data_root, name)
        if not os.path.isfile(path):
            raise CdmxError(f'annotation file {path} does not exist; download COCO 2017\'s '
                            'annotations or pass --annotations.')
    os.makedirs(out, exist_ok=True)
    for name in args.annotations:
        coco = COCO(os.path.join(args.data_root, name))
        index = coco_category_index(coco.loadCats(coco.getCatIds()))
        written = 0
        for image_id in tqdm(sorted(coco.imgs), desc=os.path.basename(name), unit='image'):
            stem = os.path.splitext(coco.imgs[image_id]['file_name'])[0]
            target = os.path.join(out, stem + '.png')
            if os.path.exists(target) and not args.overwrite:
                raise CdmxError(f'{target} exists; pass --overwrite to replace the masks or '
                                'choose another --out.')
            Image.fromarray(coco_object_mask(coco, image_id, index)).save(target)
            written += 1
        print(f'{name}: {written} masks written to {out}')


if __name__ == '__main__':
    run_cli(main)
