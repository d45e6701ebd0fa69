"""Export GDUI's pseudo-label generation output (§3.2): P (N x K), features and cluster labels.

    python tools/gdui/export_clusters.py CONFIG CHECKPOINT [--out DIR] [--cfg-options ...]

CONFIG is a clustering config (``configs/gdui/spice-self_*.py`` or ``spice-joint_*.py``) and
CHECKPOINT what tools/train.py saved for it. Every image of the config's ``pool_dataloader``
(the whole pool, in order, test pipeline) goes through the model once; the chosen head's softmax
is P. Writes ``probs.npy``, ``features.npy`` and ``clusters.json`` (see
:mod:`cdmx.pseudo_labelers.cluster_file`) into DIR, by default
``work_dirs/<config name>/pseudo_labels``. When the pool has true labels, their clustering
accuracy, NMI and ARI are logged and stored under ``evaluation`` (the labels are read for
scoring only).
"""
import argparse
import os

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from tqdm import tqdm

from cdmx.evaluation.metrics.clustering import clustering_scores
from cdmx.pseudo_labelers.cluster_file import save_clusters
from cdmx.registry import MODELS
from cdmx.utils import checkpoint as _checkpoint  # noqa: F401  (routes loads to weights_only)
from cdmx.utils.cli import default_work_dir, load_config, resolve_checkpoint, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export P, features and cluster labels.')
    parser.add_argument('config', help='clustering config (configs/gdui/spice-*.py)')
    parser.add_argument('checkpoint', help='its checkpoint (.pth or last_checkpoint)')
    parser.add_argument('--out', help='output folder (default: work_dirs/<config name>/'
                        'pseudo_labels)')
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. pool_dataloader.batch_size=100')
    return parser.parse_args()


def true_labels(dataset):
    """The pool's true labels when it has them for every image, else None."""
    labels = dataset.get_gt_labels() if hasattr(dataset, 'get_gt_labels') else None
    return labels if labels is not None and len(labels) and (labels >= 0).all() else None


@torch.no_grad()
def run_model(model, loader, device) -> tuple:
    """(P (N, K), features (N, D)) of every image of ``loader``, in order."""
    probs, feats = [], []
    head = model.best_head
    for data in tqdm(loader, desc='export clusters', unit='batch', dynamic_ncols=True,
                     mininterval=2.0):
        data = model.data_preprocessor(data, False)
        f, logits = model(data['inputs'], mode='tensor')
        probs.append(logits[head].softmax(dim=1).float().cpu())
        feats.append(f.float().cpu())
    return torch.cat(probs).numpy(), torch.cat(feats).numpy()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if 'pool_dataloader' not in cfg or 'model' not in cfg:
        raise CdmxError(f'{args.config} has no model or pool_dataloader; pass a clustering '
                        'config such as configs/gdui/spice-self_resnet18-w16_fashion-mnist-'
                        'pool.py.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'best_head'):
        raise CdmxError(f'{args.config} builds {type(model).__name__}, not a ClusterModel; pass '
                        'a clustering config (configs/gdui/spice-*.py).')
    load_checkpoint(model, resolve_checkpoint(args.checkpoint), map_location='cpu')
    model.to(args.device).eval()
    loader = Runner.build_dataloader(cfg.pool_dataloader)
    probs, feats = run_model(model, loader, args.device)
    meta = dict(head=model.best_head, config=args.config, checkpoint=args.checkpoint)
    labels = true_labels(loader.dataset)
    if labels is not None:
        meta['evaluation'] = clustering_scores(probs.argmax(axis=1), labels)
        print_log(f'clustering of the pool against its true labels: {meta["evaluation"]}',
                  logger='current')
    out = args.out or os.path.join(cfg.get('work_dir') or default_work_dir(args.config),
                                   'pseudo_labels')
    save_clusters(out, probs, feats, meta)
    sizes = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]).tolist()
    print_log(f'wrote P {probs.shape} and features {feats.shape} to {out}; cluster sizes '
              f'{sizes}', logger='current')


if __name__ == '__main__':
    run_cli(main)
