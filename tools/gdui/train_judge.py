"""Train the independent judge of class accuracy for GDUI's evaluation (issue 18, item 3).

    python tools/gdui/train_judge.py CONFIG [--out FILE]

CONFIG (e.g. ``configs/gdui/judge_fashion-mnist-external.py``) names ``model`` (a
``JudgeConvNet`` with as many classes as the data), ``train_data`` (a dataset config whose
images carry true labels), ``image_size``, ``epochs``, ``batch_size``, ``lr`` and ``seed``. The judge is the foundation evaluation's :class:`~cdmx.models.foundation.JudgeConvNet`,
trained by the same function (:func:`~cdmx.models.foundation.train_judge`) on
:func:`~cdmx.models.foundation.data.load_image_tensors` of ``train_data``; it is written with
:func:`~cdmx.evaluation.metrics.generation.save_judge` to FILE (default
``work_dirs/<config name>/judge.pth``) for ``tools/gdui/eval_generation.py --judge``. Its
accuracy on the reference images is reported there, by every evaluation, next to the samples'
class accuracy.
"""
import argparse
import os

import torch
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.generation import save_judge
from cdmx.models.foundation.data import load_image_tensors
from cdmx.models.foundation.judge import train_judge
from cdmx.utils.cli import default_work_dir, load_config, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train the judge of GDUI class accuracy.')
    parser.add_argument('config', help='judge config (configs/gdui/judge_*.py)')
    parser.add_argument('--out', help='judge file (default: work_dirs/<config name>/judge.pth)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config)
    missing = [key for key in ('model', 'train_data', 'image_size', 'epochs', 'batch_size',
                               'lr', 'seed') if key not in cfg]
    if missing:
        raise CdmxError(f'{args.config} has no {", ".join(missing)}; pass a judge config such '
                        'as configs/gdui/judge_fashion-mnist-external.py.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    out = args.out or os.path.join(default_work_dir(args.config), 'judge.pth')
    images, labels, classes = load_image_tensors(dict(cfg.train_data), cfg.image_size)
    if cfg.model.get('type') != 'JudgeConvNet' or cfg.model.get('num_classes') != len(classes):
        raise CdmxError(f'{args.config} asks for model {dict(cfg.model)}, but the judge is a '
                        f'JudgeConvNet with num_classes={len(classes)} (the classes of '
                        'train_data); set model accordingly.')
    torch.manual_seed(cfg.seed)  # the judge's initial weights
    model = train_judge(images, labels, len(classes), epochs=cfg.epochs,
                        batch_size=cfg.batch_size, lr=cfg.lr,
                        generator=torch.Generator().manual_seed(cfg.seed),
                        width=cfg.model.get('width', 16))
    save_judge(out, model, classes, cfg.image_size,
               dict(config=args.config, train_data=str(dict(cfg.train_data)),
                    num_train=int(len(labels)), epochs=cfg.epochs, seed=cfg.seed))
    print(f'wrote the judge ({len(labels)} training images, {len(classes)} classes) to {out}')


if __name__ == '__main__':
    run_cli(main)
