"""Split a set of real images into disjoint floor, dev and reference parts for GDUI's evaluation.

    python tools/gdui/split_references.py CONFIG --out-dir DIR [--parts floor dev reference]
        [--num-floor 500] [--num-dev 2000] [--num-reference N] [--seed 0]
        [--features PART ...] [--inception PATH --inception-sha256 HEX]

CONFIG names the real images as tools/gdui/eval_generation.py reads them (``reference_dataset``,
else ``val_dataloader.dataset``; for the mini world
``configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py``: the 10,000 Fashion-MNIST test
images). Over the fixed permutation ``numpy.random.default_rng(seed).permutation(N)``
(:func:`~cdmx.evaluation.metrics.generation.split_real_images`) the first ``--num-floor`` images
are the **floor** part (real images scored like samples, so their FID against the references is
the floor of a sample set of that size; give it the size of one row's samples), the next
``--num-dev`` the **dev** part (the references of the guidance-scale sweep, so the scale is
chosen on other images than the reported ones), and the rest, or its first ``--num-reference``,
the **reference** part (the headline FID's references). The three are disjoint, and floor and
dev do not depend on ``--num-reference``.

Each part named by ``--parts`` goes to ``DIR/<part>/``: ``samples.npy`` (uint8 images),
``labels.npy``, ``indices.npy`` (into the set), ``part.json`` and, for the parts named by
``--features``, ``features.npz`` (their Inception features, computed once here rather than at
every evaluation, with the Inception file's SHA-256). Nothing is written when an argument is
wrong.
"""
import argparse
import os

import numpy as np
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.generation import (InceptionExtractor, dataset_of_config,
                                                save_real_part, split_real_images)
from cdmx.registry import DATASETS
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError

PARTS = ('floor', 'dev', 'reference')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Disjoint floor / dev / reference images.')
    parser.add_argument('config', help='config naming the real images')
    parser.add_argument('--out-dir', required=True, help='the parts go to OUT_DIR/<part>/')
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=list(PARTS))
    parser.add_argument('--num-floor', type=int, default=500,
                        help='floor images (the size of one row of samples)')
    parser.add_argument('--num-dev', type=int, default=2000, help='dev (sweep) references')
    parser.add_argument('--num-reference', type=int,
                        help='headline references (default: every image left)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the permutation')
    parser.add_argument('--features', nargs='*', choices=PARTS, default=[],
                        help='parts whose Inception features are stored')
    parser.add_argument('--inception', help="TorchScript Inception (default: fid-helper's)")
    parser.add_argument('--inception-sha256', help='SHA-256 of --inception')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    dataset_cfg = dataset_of_config(cfg, args.config)
    dataset_cfg.pop('pipeline', None)
    dataset = DATASETS.build(dataset_cfg)
    sizes = [('floor', args.num_floor), ('dev', args.num_dev), ('reference', args.num_reference)]
    parts = split_real_images(len(dataset), sizes, args.seed)
    unlisted = sorted(set(args.features) - set(args.parts))
    if unlisted:
        raise CdmxError(f'--features names {unlisted}, which --parts does not write; list them '
                        'in --parts too.')
    extractor = InceptionExtractor(args.inception, args.inception_sha256) \
        if args.features else None
    info = dict(config=args.config, dataset=str(dataset_cfg), num_images=len(dataset),
                seed=args.seed, sizes=dict(sizes))
    for name in args.parts:
        indices = parts[name]
        infos = [dataset.get_data_info(int(i)) for i in indices]
        images = np.stack([item['img'] for item in infos])
        labels = np.array([int(item['gt_label']) for item in infos], dtype=np.int64)
        features = extractor(images, progress=True, what=f'{name} images') \
            if name in args.features else None
        save_real_part(os.path.join(args.out_dir, name), images, labels, indices,
                       dict(info, part=name), features,
                       extractor.sha256 if features is not None else None)
        print(f'{name}: {len(indices)} of {len(dataset)} images -> '
              f'{os.path.join(args.out_dir, name)}'
              f'{" (with Inception features)" if features is not None else ""}')


if __name__ == '__main__':
    run_cli(main)
