"""Train a model from a cdmx config with mmengine's Runner (mmsegmentation's interface).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp]
                          [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm]

``--resume`` alone continues from the newest checkpoint of the work dir (its ``last_checkpoint``
file); ``--resume CHECKPOINT`` from that file. Several processes: ``tools/dist_train.sh CONFIG N``
(torchrun; gloo on CPUs, nccl on GPUs) or ``tools/slurm_train.sh`` (srun).
"""
import argparse
import logging
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from cdmx.datasets.generated_pairs import expect_generation
from cdmx.engine import LAUNCHERS, setup_distributed, teardown_distributed
from cdmx.registry import RUNNERS
from cdmx.utils.cli import (default_work_dir, load_config, place_out_files, resolve_checkpoint,
                            run_cli)
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model from a cdmx config.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', metavar='CHECKPOINT',
                        help='resume from CHECKPOINT (a .pth file or a last_checkpoint file), or '
                        'without a value from the newest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a CUDA GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100; '
                        "lists as key=\"[a,b]\" or key=a,b")
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_amp(cfg: Config) -> None:
    """Switch the config's ``OptimWrapper`` to mmengine's ``AmpOptimWrapper`` (dynamic loss scale).

    Raises:
        CdmxError: No CUDA GPU, or the config uses another optimizer wrapper.
    """
    if not torch.cuda.is_available():
        raise CdmxError("--amp needs a CUDA GPU (mmengine's AmpOptimWrapper does not run on CPU); "
                        'drop --amp on this machine.')
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in the config.', logger='current',
                  level=logging.WARNING)
        return
    if wrapper_type != 'OptimWrapper':
        raise CdmxError(f'--amp replaces OptimWrapper, but the config uses {wrapper_type}; set '
                        'optim_wrapper.type=AmpOptimWrapper in the config instead.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    expect_generation(cfg)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    place_out_files(cfg)
    if args.amp:
        enable_amp(cfg)
    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else resolve_checkpoint(args.resume)
    setup_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    teardown_distributed()


if __name__ == '__main__':
    run_cli(main)
