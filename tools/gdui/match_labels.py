"""Name GDUI's clusters with the user's class names: scorer -> matcher -> refinement (§3.3–3.4).

    python tools/gdui/match_labels.py CONFIG [--pseudo-labels DIR] [--out-dir DIR]

CONFIG (``configs/gdui/match_*.py``) names the clustered ``pool`` dataset, the user's
``class_names`` (K of them), ``pseudo_labels`` (the export of tools/gdui/export_clusters.py),
a ``scorer`` (e.g. ``CLIPZeroShotScorer``), a ``matcher`` (``StableMarriageMatcher`` or
``HungarianMatcher``) and optionally a ``refinement`` (``LabelMatchingRefinement``). CLIP scores
every pool image once; then three labels files are written into the out dir (default
``work_dirs/<config name>/``), one per row of GDUI's Table 2:

- ``labels_plg.json``: pseudo-label generation only; cluster k is named ``class_names[k]``
  (an arbitrary naming, the "+PLG" baseline);
- ``labels_plm.json``: + pseudo-label matching (Algorithm 1: Eqs. 10–12);
- ``labels_lmr.json``: + label-matching refinement (§3.4, Eqs. 13–18), when ``refinement`` is
  set.

Each labels file (UTF-8 JSON)::

    {"class_names": [C names],  "labels": [class id per pool index, 0..C-1],
     "cluster_to_class": [class id per cluster], "clusters": [cluster id per pool index],
     "stage": "plg" | "plm" | "lmr", "matcher": "<type>", "num_clusters": K,
     "pseudo_labels": "<folder>", "priority": [[K x C]] (plm, lmr),
     "refinement": {...report...}, "refinement_cfg": {...} (lmr),
     "evaluation": {...} (when the pool has true labels)}

``evaluation`` (for information, computed with the pool's true labels where the class names are
the pool's own): ``label_accuracy`` (labels == truth), clustering ``accuracy``/``nmi``/``ari`` and
``matched_clusters``. ``clip_probs.npy`` (N x C float32) is kept beside them: CLIP scores only
the images matching and refinement read (each cluster's N_top most and N_btm least confident
samples, then the members that Eq. 18 reassigns; rows of NaN elsewhere), or all of them with
``--score-all`` (which tools/analysis_tools/gdui_sigma_sweep.py needs). ``truth.npy`` (N int64,
the pool's true labels as indices into ``class_names``) is written when the pool has them, for
evaluation only (the sweep reads it).
"""
import argparse
import json
import os

import numpy as np
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.clustering import clustering_scores
from cdmx.generators.prompts import check_class_names
from cdmx.matchers.clip_scorer import check_class_count
from cdmx.pseudo_labelers.cluster_file import load_clusters
from cdmx.registry import DATASETS, MATCHERS
from cdmx.utils.cli import default_work_dir, load_config, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Match clusters to class names and refine.')
    parser.add_argument('config', help='matching config (configs/gdui/match_*.py)')
    parser.add_argument('--pseudo-labels', help="clustering export folder (default: the "
                        "config's pseudo_labels)")
    parser.add_argument('--out-dir', help='output folder (default: work_dirs/<config name>)')
    parser.add_argument('--score-all', action='store_true',
                        help='score every pool image with CLIP (default: only the samples '
                        'that matching and refinement read); the sigma_btm sweep needs it')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. scorer.device=cuda')
    return parser.parse_args()


class PoolImages:
    """Some of the pool's images as a lazy sequence of uint8 (H, W, 3) arrays."""

    def __init__(self, dataset, indices: np.ndarray):
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> np.ndarray:
        return self.dataset.get_data_info(int(self.indices[idx]))['img']


def truth_in_name_order(dataset, class_names):
    """The pool's true labels as indices into ``class_names``, or None when the pool has no
    labels or its class names are not the user's."""
    classes = list(dataset.metainfo.get('classes') or ())
    if sorted(classes) != sorted(class_names) or not hasattr(dataset, 'get_gt_labels'):
        return None
    to_names = np.array([class_names.index(name) for name in classes])
    return to_names[dataset.get_gt_labels()]


def evaluate(labels, clusters, mapping, truth) -> dict:
    scores = clustering_scores(clusters, truth, mapping)
    return dict(label_accuracy=float(np.mean(labels == truth)), **scores)


def write(path: str, content: dict) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(content, f)
    summary = content.get('evaluation', {})
    print_log(f"{content['stage']}: wrote {path}" + (f'; {summary}' if summary else ''),
              logger='current')


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    for key in ('pool', 'class_names', 'pseudo_labels', 'scorer', 'matcher'):
        if key not in cfg:
            raise CdmxError(f'{args.config} has no {key}; pass a matching config such as '
                            'configs/gdui/match_mini-clip-stable-marriage_fashion-mnist-pool.py.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    names = check_class_names(cfg.class_names)
    folder = args.pseudo_labels or cfg.pseudo_labels
    clusters_out = load_clusters(folder)
    probs = clusters_out['probs']
    check_class_count(len(names), probs.shape[1])
    dataset = DATASETS.build(cfg.pool)
    if len(dataset) != probs.shape[0]:
        raise CdmxError(f'{folder} holds P for {probs.shape[0]} images but the pool has '
                        f'{len(dataset)}; export the clusters of this pool.')
    scorer, matcher = MATCHERS.build(cfg.scorer), MATCHERS.build(cfg.matcher)
    refinement = MATCHERS.build(cfg.refinement) if cfg.get('refinement') else None
    out_dir = args.out_dir or default_work_dir(args.config)
    os.makedirs(out_dir, exist_ok=True)

    clusters = probs.argmax(axis=1)
    truth = truth_in_name_order(dataset, names)
    common = dict(class_names=names, clusters=clusters.tolist(), num_clusters=probs.shape[1],
                  matcher=cfg.matcher['type'], pseudo_labels=folder)

    def labels_file(stage: str, labels, mapping, **extra) -> None:
        content = dict(common, stage=stage, labels=np.asarray(labels).tolist(),
                       cluster_to_class=np.asarray(mapping).tolist(), **extra)
        if truth is not None:
            content['evaluation'] = evaluate(np.asarray(labels), clusters, mapping, truth)
        write(os.path.join(out_dir, f'labels_{stage}.json'), content)

    if truth is not None:
        np.save(os.path.join(out_dir, 'truth.npy'), truth.astype(np.int64), allow_pickle=False)
    identity = np.arange(probs.shape[1])
    labels_file('plg', identity[clusters], identity, matcher='identity')
    needed = scorer.needed_indices(probs)
    if refinement is not None:
        needed = np.union1d(needed, refinement.needed_indices(probs))
    if args.score_all:
        needed = np.arange(len(dataset))
    clip_probs = np.full((len(dataset), len(names)), np.nan, dtype=np.float32)

    def score(indices: np.ndarray) -> np.ndarray:
        """Score the pool images ``indices`` not scored yet; all scored indices."""
        new = np.setdiff1d(indices, np.flatnonzero(np.isfinite(clip_probs).all(axis=1)))
        if new.size:
            clip_probs[new] = scorer.zero_shot(PoolImages(dataset, new), names)
        return np.flatnonzero(np.isfinite(clip_probs).all(axis=1))

    needed = score(needed)
    priority = scorer.priority(probs, clip_probs)  # Eq. 11 and the class proportions
    mapping = matcher(priority)  # Algorithm 1, Eq. 12
    labels_file('plm', mapping[clusters], mapping, priority=priority.tolist())
    if refinement is not None:
        # The decision (Eqs. 14-17) reads T_m and B_m; Eq. 18 then reassigns X_adj, scored now.
        needed = score(refinement.adjustment_indices(probs, mapping, clip_probs))
        refined, report = refinement(probs, mapping, clip_probs)
        labels_file('lmr', refined, mapping, priority=priority.tolist(), refinement=report,
                    refinement_cfg=cfg.refinement.to_dict())
    np.save(os.path.join(out_dir, 'clip_probs.npy'), clip_probs, allow_pickle=False)
    if truth is not None:
        accuracy = float(np.mean(clip_probs[needed].argmax(axis=1) == truth[needed]))
        print_log(f'CLIP zero-shot accuracy on the {needed.size} scored images: {accuracy:.4f}',
                  logger='current')


if __name__ == '__main__':
    run_cli(main)
