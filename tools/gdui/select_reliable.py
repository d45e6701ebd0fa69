"""Select SPICE's reliable samples (GDUI §3.2, Eqs. 7–8) for the joint training stage.

    python tools/gdui/select_reliable.py CONFIG [--pseudo-labels DIR] [--out FILE]

CONFIG is a joint-stage config (``configs/gdui/spice-joint_*.py``) naming ``pseudo_labels`` (the
EM stage's export, see tools/gdui/export_clusters.py), ``pseudo_labeler`` (e.g.
``ReliableSampleLabeler``) and ``reliable_file``. Writes the reliable-samples JSON that
``ReliableSamplesDataset`` reads: ``{"num_samples", "num_clusters", "indices", "labels",
"labeler", "pseudo_labels"}`` (plus ``"accuracy"`` of the reliable labels under the best
cluster-to-class map when the pool has true labels; for information only).
"""
import argparse
import json
import os

import numpy as np
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.clustering import best_cluster_map
from cdmx.pseudo_labelers.cluster_file import load_clusters
from cdmx.registry import DATASETS, PSEUDO_LABELERS
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Select reliable samples (Eqs. 7-8).')
    parser.add_argument('config', help='joint-stage config (configs/gdui/spice-joint_*.py)')
    parser.add_argument('--pseudo-labels', help='EM export folder (default: the config\'s '
                        'pseudo_labels)')
    parser.add_argument('--out', help="output JSON (default: the config's reliable_file)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. scorer.device=cuda')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    for key in ('pseudo_labeler', 'reliable_file', 'pseudo_labels'):
        if key not in cfg:
            raise CdmxError(f'{args.config} has no {key}; pass a joint-stage config such as '
                            'configs/gdui/spice-joint_resnet18-w16_fashion-mnist-pool.py.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    folder = args.pseudo_labels or cfg.pseudo_labels
    clusters = load_clusters(folder)
    labeler = PSEUDO_LABELERS.build(cfg.pseudo_labeler)
    indices, labels = labeler(clusters['features'], clusters['probs'])
    indices, labels = indices.numpy(), labels.numpy()
    content = dict(num_samples=int(clusters['probs'].shape[0]),
                   num_clusters=int(clusters['probs'].shape[1]), indices=indices.tolist(),
                   labels=labels.tolist(), labeler=cfg.pseudo_labeler.to_dict(),
                   pseudo_labels=folder)
    pool = DATASETS.build(cfg.pool) if 'pool' in cfg else None
    truth = pool.get_gt_labels() if pool is not None and hasattr(pool, 'get_gt_labels') else None
    if truth is not None and len(truth) == content['num_samples'] and indices.size:
        mapping = best_cluster_map(clusters['probs'].argmax(axis=1), truth)
        content['accuracy'] = float(np.mean(mapping[labels] == truth[indices]))
    out = args.out or cfg.reliable_file
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(content, f)
    sizes = np.bincount(labels, minlength=content['num_clusters']).tolist()
    print_log(f'{indices.size} of {content["num_samples"]} samples are reliable (per cluster '
              f'{sizes}; accuracy {content.get("accuracy", "n/a")}); wrote {out}',
              logger='current')


if __name__ == '__main__':
    run_cli(main)
