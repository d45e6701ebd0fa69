"""Pretrain a stand-in foundation model (mini Stable Diffusion, mini CLIP) from its config.

    python tools/pretrain_foundation.py CONFIG [--work-dir DIR] [--cfg-options KEY=VALUE ...]

CONFIG is a ``configs/foundation/*.py`` file whose ``recipe`` dict names a registered recipe
(``MiniStableDiffusion``, ``MiniCLIP``) with every size, learning rate and step count. The result
goes to ``DIR/<recipe name>`` (default DIR: ``work_dirs/foundation``); a complete result made
with the same settings is reused, so running the tool again costs nothing. Examples::

    python tools/pretrain_foundation.py configs/foundation/mini_sd.py
    python tools/pretrain_foundation.py configs/foundation/mini_clip.py --work-dir work_dirs/foundation
"""
import argparse
import time

from mmengine.config import DictAction
from mmengine.logging import MMLogger, print_log
from mmengine.registry import init_default_scope

from cdmx.registry import RECIPES
from cdmx.utils.cli import load_config, run_cli

DEFAULT_WORK_DIR = 'work_dirs/foundation'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pretrain a stand-in foundation model.')
    parser.add_argument('config', help='configs/foundation/*.py file')
    parser.add_argument('--work-dir', help=f'output folder (default: {DEFAULT_WORK_DIR})')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. recipe.denoiser_train.steps=100')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    MMLogger.get_instance('cdmx_foundation', log_level='INFO')
    work_dir = args.work_dir or cfg.get('work_dir') or DEFAULT_WORK_DIR
    recipe = RECIPES.build(cfg.recipe)
    wall, cpu = time.perf_counter(), time.process_time()
    output = recipe.run(work_dir)
    print_log(f'{cfg.recipe.type}: {output} (wall {time.perf_counter() - wall:.0f} s, CPU '
              f'{time.process_time() - cpu:.0f} s over all threads)', logger='current')


if __name__ == '__main__':
    run_cli(main)
