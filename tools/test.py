"""Evaluate a checkpoint on a config's test set with mmengine's Runner (mmsegmentation's interface).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR]
                         [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm]

CHECKPOINT is a ``.pth`` file or the ``last_checkpoint`` file of a training work dir.
``--show-dir`` turns on the config's visualization hook (``default_hooks.visualization``) and
saves what it draws under ``DIR/vis_data``. Several processes: ``tools/dist_test.sh``.
"""
import argparse
import inspect
import os

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from cdmx.engine import LAUNCHERS, setup_distributed, teardown_distributed
from cdmx.registry import HOOKS, RUNNERS
from cdmx.utils.cli import (default_work_dir, load_config, place_out_files, resolve_checkpoint,
                            run_cli)
from cdmx.utils.errors import CdmxError

#: The switch that turns drawing on, by hook family: mmseg's and mmdet's hooks take ``draw``,
#: mmpretrain's takes ``enable``.
_DRAW_SWITCHES = ('draw', 'enable')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint on a config\'s test set.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or the last_checkpoint file of a '
                        'work dir')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--show-dir', help='directory where the visualization hook saves the '
                        'drawn predictions')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def trigger_visualization_hook(cfg: Config, show_dir: str) -> None:
    """Turn on ``default_hooks.visualization`` and point the visualizer at ``show_dir``.

    As mmseg's test.py does; the switch is the hook's ``draw`` (mmseg) or ``enable`` (mmpretrain)
    argument, and the visualizer's backends save under ``show_dir/vis_data``.

    Raises:
        CdmxError: The config has no visualization hook, or it has no draw switch.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise CdmxError(f'--show-dir needs a visualization hook, but {cfg.filename} has none in '
                        'default_hooks; add default_hooks.visualization to the config or drop '
                        '--show-dir.')
    hook_cls = hook['type']
    if isinstance(hook_cls, str):
        with HOOKS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            hook_cls = registry.get(hook_cls)
    if hook_cls is None:
        raise CdmxError(f"visualization hook type '{hook['type']}' is not in the hook registry; "
                        'check its spelling or list its module in custom_imports.')
    parameters = inspect.signature(hook_cls).parameters
    switches = [name for name in _DRAW_SWITCHES if name in parameters]
    if not switches:
        raise CdmxError(f'visualization hook {hook_cls.__name__} takes none of '
                        f"{', '.join(_DRAW_SWITCHES)} to turn drawing on; give it one or drop "
                        '--show-dir.')
    hook[switches[0]] = True
    # Without a visualizer in the config the Runner builds this one, saving under its log dir.
    visualizer = cfg.get('visualizer') or dict(type='Visualizer',
                                               vis_backends=[dict(type='LocalVisBackend')])
    visualizer['save_dir'] = show_dir
    cfg.visualizer = visualizer


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    missing = [key for key in ('test_dataloader', 'test_cfg', 'test_evaluator')
               if cfg.get(key) is None]
    if missing:
        raise CdmxError(f"{args.config} has no {', '.join(missing)}; add them to the config "
                        'to evaluate it.')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    place_out_files(cfg)
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    if args.show_dir:
        trigger_visualization_hook(cfg, args.show_dir)
    setup_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    run_cli(main)
