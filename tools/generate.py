"""Generate UCDM's positive and negative instances for every seed and known class (Algorithm 1).

    python tools/generate.py CONFIG [--work-dir DIR] [--cfg-options KEY=VALUE ...]
                             [--launcher none|pytorch|slurm] [--force-regenerate]

The config holds::

    generation = dict(
        backend=dict(type='StableDiffusionBackend', pretrained=..., resize_policy='pad'),
        positive=dict(type='PositiveGenerator'),      # backend is filled in
        negative=dict(type='NegativeGenerator'),      # backend is filled in
        classes=None,        # known classes; None: the seed dataset's metainfo['classes']
        resolution=32,       # side of the stored images (the classifier's input)
        shard_size=64,       # seeds per shard
        batch_size=32,       # (seed, class) pairs per generator call
        seed=0,              # global seed of every image's noise
        num_threads=None,    # torch CPU threads per process (bytes depend on it on CPUs)
        cache_dir=None)      # default: <work dir>/generated_pairs
    generation_dataset = dict(type='MismatchDataset', ..., part='train')   # the seeds

``generation_dataset`` defaults to the training set's seeds: ``train_dataloader.dataset.real`` of
a ``UCDMPairDataset``, else ``train_dataloader.dataset`` (its pipeline is not used: seeds are the
dataset's raw uint8 ``img``). The cache folder is what
``dict(type='GeneratedPairs', cache_dir=...)`` reads. Re-running the same command skips complete
shards; ``--force-regenerate`` deletes a cache made with other settings instead of refusing it.
Several processes: ``python -m torch.distributed.run --nproc_per_node=N tools/generate.py CONFIG
--launcher pytorch`` (gloo on CPUs, nccl on GPUs; shards are shared out between ranks).
"""
import argparse
import inspect
import os

from mmengine.config import DictAction
from mmengine.dist import get_rank, init_dist, is_distributed

from cdmx.engine import LAUNCHERS, setup_distributed, teardown_distributed
from cdmx.generators import GenerationEngine
from cdmx.utils.cli import default_work_dir, load_config, run_cli
from cdmx.utils.errors import CdmxError
from cdmx.utils.setup_env import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate the positive/negative pair cache.')
    parser.add_argument('config', help='config file with a generation dict')
    parser.add_argument('--work-dir', help='the dir of the run (default: work_dirs/<config '
                        'name>); the cache goes to <work dir>/generated_pairs unless '
                        'generation.cache_dir says otherwise')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. generation.shard_size=16')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--force-regenerate', action='store_true',
                        help='delete a cache made with other settings and generate anew')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def seed_dataset(train_dataloader: dict):
    """The training set's seed images: ``real`` of a UCDMPairDataset config, else the dataset."""
    dataset = train_dataloader.get('dataset')
    if isinstance(dataset, dict) and dataset.get('type') == 'UCDMPairDataset':
        return dataset.get('real')
    return dataset


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if not isinstance(cfg.get('generation'), dict):
        raise CdmxError(f'{args.config} has no generation dict; add generation = dict(backend=..., '
                        'positive=..., negative=...) (see tools/generate.py).')
    generation = dict(cfg.generation)
    allowed = set(inspect.signature(GenerationEngine).parameters) - {'dataset', 'force'}
    unknown = sorted(set(generation) - allowed)
    if unknown:
        raise CdmxError(f'generation has unknown keys {unknown}; use only {sorted(allowed)}.')
    dataset = cfg.get('generation_dataset') or seed_dataset(cfg.get('train_dataloader', {}))
    if dataset is None:
        raise CdmxError(f'{args.config} names no seed images; add generation_dataset = dict('
                        "type=..., ...) or a train_dataloader.dataset.")
    dataset = dict(dataset)
    dataset.pop('pipeline', None)
    work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    cache_dir = generation.pop('cache_dir', None) or os.path.join(work_dir, 'generated_pairs')
    register_all_modules()
    setup_distributed(cfg, args.launcher)
    if args.launcher != 'none' and not is_distributed():
        # GPUs: mmengine's init (nccl, one device per process) that the Runner would do.
        init_dist(args.launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {}))
    engine = GenerationEngine(cache_dir, dataset, force=args.force_regenerate, **generation)
    manifest = engine.run()
    rank = get_rank()
    teardown_distributed()
    if rank != 0:
        return
    pairs = sum(len(s['seed_ids']) for s in manifest['shards']) * len(manifest['classes'])
    print(f'\n{pairs} (seed, class) pairs in {len(manifest["shards"])} shards: {cache_dir}')


if __name__ == '__main__':
    run_cli(main)
