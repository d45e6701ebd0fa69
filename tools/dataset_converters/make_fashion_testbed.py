"""Write DiffMatch's testbed: Fashion-MNIST scenes with a long tail of counts, in mmseg's layout.

    python tools/dataset_converters/make_fashion_testbed.py [--fashion-mnist DIR]
        [--external-size 10000] [--out data/fashion_testbed] [--num-train 8000]
        [--num-dev 800] [--num-val 800] [--dev-fraction 0.2] [--size 64] [--max-items 4]
        [--imbalance 10] [--scale-min 1.1] [--scale-max 1.6] [--threshold 40] [--seed 0]
        [--split-seed 0] [--fractions 1/16 1/8 1/4 1/2] [--overwrite]

How a scene is made: :mod:`cdmx.datasets.fashion_testbed` (8 classes, the four tops merged;
rarity by item counts, one size law for every class; filled silhouettes). Items: Fashion-MNIST's
``train_pool`` subset is split by ``--split-seed`` into the training scenes' items and
``--dev-fraction`` of them for the development scenes; validation scenes use the ``test`` split;
the ``external`` pool (``--external-size`` rows of the train file), reserved for pretraining the
shared extractor, is used by no scene (checked). Output (deterministic for the seeds)::

    OUT/img_dir/{train,dev,val}/scene_00000.png   RGB scenes
    OUT/ann_dir/{train,dev,val}/scene_00000.png   label maps, 0 background, 1-7 the item classes
    OUT/splits/fashion_testbed/<1_16 ...>/{labeled,unlabeled}.txt   UniMatch-format splits of
                                              the training scenes
    OUT/class_pixel_counts.json               training pixel counts per class (head/tail mIoU)
    OUT/fashion_testbed.json                  settings, per split counts of pixels and items
    OUT/item_rows.json                        the Fashion-MNIST rows each split's items came from
    OUT/class_frequency.png, OUT/preview.png

Every class must have pixels in every scene set and in every labelled split, else the tool
stops with an error (a class absent from the labelled split would have prior 0 in Eq. 10).
"""
import argparse
import json
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.dataset import BaseDataset
from PIL import Image
from tqdm import tqdm

from cdmx.datasets import FashionMNIST
from cdmx.datasets.fashion_scenes import (pixel_statistics, prepare_scene_output,
                                          save_scene_preview)
from cdmx.datasets.fashion_testbed import (TESTBED_CLASSES, TESTBED_PALETTE, TESTBED_TAIL_ORDER,
                                           TestbedSceneComposer, rank_probabilities,
                                           split_item_pool)
from cdmx.datasets.semi_splits import list_pools, make_splits, write_split
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

SPLITS = ('train', 'dev', 'val')
NUM_CLASSES = len(TESTBED_CLASSES)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write DiffMatch's Fashion-MNIST testbed.")
    parser.add_argument('--fashion-mnist', default=os.environ.get(
        'CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist'),
        help='folder of the Fashion-MNIST idx files (env CDMX_FASHION_MNIST)')
    parser.add_argument('--external-size', type=int, default=10000,
                        help="size of Fashion-MNIST's external pool, which no scene uses")
    parser.add_argument('--out', default='data/fashion_testbed', help='output folder')
    parser.add_argument('--num-train', type=int, default=8000)
    parser.add_argument('--num-dev', type=int, default=800)
    parser.add_argument('--num-val', type=int, default=800)
    parser.add_argument('--dev-fraction', type=float, default=0.2,
                        help="share of the train pool's items reserved for the dev scenes")
    parser.add_argument('--size', type=int, default=64, help='scene side in pixels')
    parser.add_argument('--max-items', type=int, default=4)
    # 10, not the first design's 50: at 50 the supervised stage never predicted Dress, Sandal
    # or Ankle boot (tail-3 IoU 0 even after 1,600 iterations), so the tail gate could not be
    # met (docs/notes/diffmatch_testbed.md, second design round).
    parser.add_argument('--imbalance', type=float, default=10.0,
                        help='item-count ratio of the head class to the tail class')
    parser.add_argument('--scale-min', type=float, default=1.1)
    parser.add_argument('--scale-max', type=float, default=1.6)
    parser.add_argument('--threshold', type=int, default=40,
                        help='grey level (0-255) above which an item pixel is the item')
    parser.add_argument('--seed', type=int, default=0, help='seed of the scenes')
    parser.add_argument('--split-seed', type=int, default=0,
                        help='seed of the dev items and of the labelled splits')
    parser.add_argument('--fractions', nargs='+', default=['1/16', '1/8', '1/4', '1/2'])
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the scenes of an existing output folder')
    return parser.parse_args()


def item_sources(args) -> dict:
    """``{split: (file, rows, images, labels)}``: the Fashion-MNIST file (``train`` / ``t10k``),
    the rows of its items, the ``(N, 28, 28)`` items and their class ids, per scene set."""
    sources = {}
    for subset in ('train_pool', 'test'):
        dataset = FashionMNIST(args.fashion_mnist, subset=subset, channels=1,
                               external_size=args.external_size)
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        rows = np.array([info['sample_idx'] for info in infos], np.int64)
        images = np.stack([info['img'][..., 0] for info in infos])
        labels = dataset.get_gt_labels()
        if subset == 'test':
            sources['val'] = ('t10k', rows, images, labels)
            continue
        train_rows, dev_rows = split_item_pool(rows, args.dev_fraction, args.split_seed)
        position = {int(r): i for i, r in enumerate(rows)}
        for split, chosen in (('train', train_rows), ('dev', dev_rows)):
            index = np.array([position[int(r)] for r in chosen], np.int64)
            sources[split] = ('train', chosen, images[index], labels[index])
    external = FashionMNIST(args.fashion_mnist, subset='external', channels=1,
                            external_size=args.external_size)
    external_rows = [BaseDataset.get_data_info(external, i)['row'] for i in range(len(external))]
    used = np.concatenate([sources[s][1] for s in ('train', 'dev')])
    if np.intersect1d(used, external_rows).size:
        raise CdmxError('the scene items overlap the external pool; the pools of '
                        'cdmx.datasets.FashionMNIST have changed, fix them before writing scenes.')
    return sources


def write_scenes(args, split: str, source: tuple, seed: int) -> tuple:
    """Write one scene set; return its statistics, its label maps, rows used and previews."""
    file, rows, images, labels = source
    composer = TestbedSceneComposer(images, labels, size=args.size, max_items=args.max_items,
                                    imbalance=args.imbalance,
                                    scale_range=(args.scale_min, args.scale_max),
                                    threshold=args.threshold)
    num = dict(train=args.num_train, dev=args.num_dev, val=args.num_val)[split]
    img_dir, ann_dir = (os.path.join(args.out, d, split) for d in ('img_dir', 'ann_dir'))
    os.makedirs(img_dir), os.makedirs(ann_dir)
    maps, item_counts, visible, used, previews = [], np.zeros(NUM_CLASSES, np.int64), \
        np.zeros(NUM_CLASSES, np.int64), set(), []
    scenes = composer.scenes(num, seed)
    for i, (image, label, classes, items) in enumerate(tqdm(scenes, total=num,
                                                            desc=f'{split} scenes')):
        Image.fromarray(image).save(os.path.join(img_dir, f'scene_{i:05d}.png'))
        Image.fromarray(label).save(os.path.join(ann_dir, f'scene_{i:05d}.png'))
        maps.append(label)
        item_counts += np.bincount(classes, minlength=NUM_CLASSES)
        visible[np.unique(label[label > 0])] += 1
        used.update(int(rows[k]) for k in items)
        if len(previews) < 8:
            previews.append((image, label))
    stats = pixel_statistics(maps, NUM_CLASSES)
    stats.update(num_scenes=num, item_file=file, item_pool_size=int(len(rows)),
                 item_counts=item_counts.tolist(), scenes_showing_class=visible.tolist())
    return stats, maps, sorted(used), previews


def check_presence(name: str, pixel_counts, remedy: str) -> None:
    absent = [TESTBED_CLASSES[c] for c, n in enumerate(pixel_counts) if n == 0]
    if absent:
        raise CdmxError(f'{name} have no pixel of {absent}; {remedy}.')


def labelled_statistics(splits: dict, train_maps: list) -> dict:
    """Per labelled split: sizes and the labelled pixel counts; refuses a missing class."""
    out = {}
    for name, (labelled, rest) in splits.items():
        index = [int(os.path.basename(img)[len('scene_'):-len('.png')]) for img, _ in labelled]
        counts = pixel_statistics([train_maps[i] for i in index], NUM_CLASSES)['pixel_counts']
        check_presence(f'the labelled scenes of split {name}', counts,
                       'raise --num-train, lower --imbalance or use another --split-seed')
        out[name] = dict(labelled=len(labelled), unlabelled=len(rest),
                         labelled_pixel_counts=counts)
    return out


def plot_frequency(stats: dict, out_file: str) -> None:
    """Items and pixels per class of the training scenes, head to tail, log scale."""
    order = list(TESTBED_TAIL_ORDER)
    fig = Figure(figsize=(8, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = np.arange(len(order))
    for offset, key, title in ((-0.2, 'item_counts', 'items'), (0.2, 'pixel_counts', 'pixels')):
        counts = np.array(stats['train'][key], np.float64)[order]
        ax.bar(x + offset, counts / counts.sum(), width=0.4, label=title, edgecolor='black',
               color=[np.array(TESTBED_PALETTE[c]) / 255 for c in order],
               hatch='//' if key == 'pixel_counts' else None)
    ax.set_yscale('log')
    ax.set_xticks(x, [TESTBED_CLASSES[c] for c in order], rotation=30, ha='right')
    ax.set_ylabel('share among the item classes')
    ax.legend()
    ax.set_title('Fashion testbed, training scenes: items (plain) and pixels (hatched)')
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)


def main() -> None:
    args = parse_args()
    prepare_scene_output(args.out, args.overwrite)
    sources = item_sources(args)
    stats, rows_used, previews, maps = {}, {}, [], {}
    for offset, split in enumerate(SPLITS):
        stats[split], maps[split], rows_used[split], shown = write_scenes(
            args, split, sources[split], args.seed * len(SPLITS) + offset)
        previews += shown[:3]
        check_presence(f'the {split} scenes', stats[split]['pixel_counts'],
                       f'raise --num-{split} or lower --imbalance')
    pool, unlabelled = list_pools(args.out, 'fashion_scenes')
    splits = make_splits(pool, unlabelled, args.fractions, args.split_seed)
    labelled = labelled_statistics(splits, maps['train'])
    for name, (chosen, rest) in splits.items():
        write_split(os.path.join(args.out, 'splits', 'fashion_testbed', name), chosen, rest)
    with open(os.path.join(args.out, 'class_pixel_counts.json'), 'w') as f:
        json.dump(dict(classes=list(TESTBED_CLASSES), source='train scenes',
                       class_pixel_counts=stats['train']['pixel_counts']), f, indent=1)
    with open(os.path.join(args.out, 'item_rows.json'), 'w') as f:
        json.dump({split: dict(file=sources[split][0], rows=rows_used[split])
                   for split in SPLITS}, f)
    meta = dict(vars(args), classes=list(TESTBED_CLASSES),
                tail_order=[TESTBED_CLASSES[c] for c in TESTBED_TAIL_ORDER],
                rank_probabilities=rank_probabilities(args.imbalance).round(5).tolist(),
                splits=labelled, **stats)
    with open(os.path.join(args.out, 'fashion_testbed.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    plot_frequency(stats, os.path.join(args.out, 'class_frequency.png'))
    save_scene_preview(previews[:8], TESTBED_PALETTE, os.path.join(args.out, 'preview.png'))
    for split in SPLITS:
        s = stats[split]
        print(f"{split}: {s['num_scenes']} scenes from {s['item_pool_size']} items of the "
              f"Fashion-MNIST {s['item_file']} file, head:tail pixel ratio "
              f"{s['head_tail_ratio_items']:.1f} (item classes)")
        print('  items per class: ' + ', '.join(
            f'{c} {n}' for c, n in zip(TESTBED_CLASSES[1:], s['item_counts'][1:])))
    for name, info in labelled.items():
        print(f"split {name}: {info['labelled']} labelled, {info['unlabelled']} unlabelled; "
              'labelled pixels ' + ', '.join(
                  f'{c} {n}' for c, n in zip(TESTBED_CLASSES, info['labelled_pixel_counts'])))
    print(f'written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
