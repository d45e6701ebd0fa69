"""Draw DiffMatch's inference trajectory: the prediction after each DDIM step (paper Fig. 10).

    python tools/visualization/diffmatch_trajectory.py CONFIG CHECKPOINT [--out trajectory.png]
        [--num-images 4] [--indices I ...] [--steps 3] [--seed 0] [--cfg-options KEY=VALUE ...]

CONFIG is a DiffMatch config (a ``DiffMatch`` model, or a ``SemiSupervisedSegmentor`` around one:
its ``predict_on`` model draws) and CHECKPOINT a ``.pth`` file or a work dir's
``last_checkpoint``. The images are the first ``--num-images`` of the config's test set (or
``--indices``), run through its test pipeline and data preprocessor as ``tools/test.py`` runs
them; :meth:`~cdmx.models.DiffMatch.predict_trajectory` gives the prediction after each of the
``--steps`` steps, from one noise draw (``--seed``). One row per image: the image, step 1 ..
step S (each titled with its pixel accuracy against the ground truth), the ground truth; colours
are the dataset's palette.
"""
import argparse
import os
from typing import List

import mmcv
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from cdmx.models import DiffMatch
from cdmx.registry import DATASETS, MODELS
from cdmx.utils.cli import load_config, resolve_checkpoint, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="DiffMatch's prediction after each DDIM step.")
    parser.add_argument('config', help='DiffMatch config file')
    parser.add_argument('checkpoint', help='checkpoint file, or the last_checkpoint file of a '
                        'training work dir')
    parser.add_argument('--out', default='trajectory.png', help='PNG file to write')
    parser.add_argument('--num-images', type=int, default=4, help='first N test images')
    parser.add_argument('--indices', type=int, nargs='+', help='test images to draw instead')
    parser.add_argument('--steps', type=int, help="DDIM steps (default: the model's, 3)")
    parser.add_argument('--seed', type=int, default=0, help='seed of the initial noise')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.segmentor.td=0.5')
    return parser.parse_args()


def build_diffmatch(cfg, checkpoint: str):
    """The config's model with the checkpoint loaded, in eval mode, and the ``DiffMatch`` that
    predicts (the model itself, or a semi-supervised wrapper's ``predict_model``)."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    diffmatch = getattr(model, 'predict_model', model)
    if not isinstance(diffmatch, DiffMatch):
        raise CdmxError(f'the config builds a {type(diffmatch).__name__}, which has no diffusion '
                        'trajectory; give a DiffMatch config (e.g. configs/diffmatch/*.py '
                        'without sup-only or unimatch).')
    return model, diffmatch


def colourise(label: np.ndarray, palette: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """``(H, W)`` class ids -> ``(H, W, 3)`` uint8 colours; ignored pixels white."""
    out = np.full((*label.shape, 3), 255, dtype=np.uint8)
    known = label != ignore_index
    out[known] = palette[label[known]]
    return out


def draw(images: List[np.ndarray], steps: List[List[np.ndarray]], gts: List[np.ndarray],
         palette: np.ndarray, out_file: str, ignore_index: int = 255) -> str:
    """The grid: per row the image, the prediction after each step and the ground truth.

    Args:
        images (list[np.ndarray]): ``(H, W, 3)`` uint8 RGB images.
        steps (list[list[np.ndarray]]): ``steps[s][i]`` the ``(H, W)`` prediction of image
            ``i`` after step ``s + 1``.
        gts (list[np.ndarray]): ``(H, W)`` ground truths.
        palette (np.ndarray): ``(C, 3)`` uint8 class colours.
        out_file (str): PNG path; its folder is created.
    """
    rows, cols = len(images), len(steps) + 2
    fig = Figure(figsize=(2.2 * cols, 2.2 * rows + 0.3))
    FigureCanvasAgg(fig)
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    for i in range(rows):
        valid = gts[i] != ignore_index
        panels = [(images[i], 'image')]
        for s, preds in enumerate(steps):
            accuracy = 100 * float((preds[i][valid] == gts[i][valid]).mean()) if valid.any() \
                else float('nan')
            panels.append((colourise(preds[i], palette, ignore_index),
                           f'step {s + 1} ({accuracy:.1f}% acc.)'))
        panels.append((colourise(gts[i], palette, ignore_index), 'ground truth'))
        for ax, (picture, title) in zip(axes[i], panels):
            ax.imshow(picture, interpolation='nearest')
            ax.set_title(title, fontsize=8)
            ax.axis('off')
    fig.suptitle('DiffMatch: prediction of y_0 after each DDIM step (Algorithm 3)', fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    return out_file


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    model, diffmatch = build_diffmatch(cfg, resolve_checkpoint(args.checkpoint))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    indices = args.indices if args.indices else list(range(min(args.num_images, len(dataset))))
    if not indices or args.num_images < 1 or not all(0 <= i < len(dataset) for i in indices):
        raise CdmxError(f'the images {indices} are not in the test set of {len(dataset)} images; '
                        'give --num-images >= 1 or --indices within it.')
    batch = model.data_preprocessor(pseudo_collate([dataset[i] for i in indices]), False)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        trajectory = diffmatch.predict_trajectory(batch['inputs'], batch['data_samples'],
                                                  args.steps)
    samples = trajectory[-1]
    images = [mmcv.imread(s.img_path, channel_order='rgb') for s in samples]
    gts = [s.gt_sem_seg.data[0].cpu().numpy() for s in samples]
    steps = [[s.pred_sem_seg.data[0].cpu().numpy() for s in step] for step in trajectory]
    palette = dataset.metainfo.get('palette')
    if palette is None or len(palette) < diffmatch.num_classes:
        raise CdmxError(f'the test set has no palette of {diffmatch.num_classes} colours; give '
                        "its dataset metainfo=dict(palette=...).")
    path = draw(images, steps, gts, np.asarray(palette, dtype=np.uint8), args.out,
                diffmatch.ignore_index)
    print(f'trajectory of {len(indices)} images over {len(trajectory)} steps written to {path}')


if __name__ == '__main__':
    run_cli(main)
