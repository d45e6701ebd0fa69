"""Sweep GDUI's confidence threshold sigma_btm (§4.4.2, Fig. 4) over the refinement's labels.

    python tools/analysis_tools/gdui_sigma_sweep.py MATCH_DIR [--pseudo-labels DIR]
        [--truth FILE] [--sigmas S ...] [--out-dir DIR]

MATCH_DIR is the output folder of ``tools/gdui/match_labels.py`` run with a ``refinement`` and
``--score-all`` (Eq. 18 reaches every member below sigma_btm, so at sigma_btm -> 1 CLIP must
have scored the whole pool). The sweep reads there ``labels_lmr.json`` (the matched
``cluster_to_class`` g, the ``refinement_cfg`` and the ``pseudo_labels`` folder), ``clip_probs.npy``
(Z, N x C) and ``truth.npy`` (the pool's true labels as indices into the class names), and the
cluster probabilities P (N x K) from the ``pseudo_labels`` folder. For every sigma_btm of the
grid (default 0, 0.05, ..., 1) it reruns :class:`~cdmx.matchers.LabelMatchingRefinement` with
the run's other thresholds and measures the label accuracy of the refined labels against the
truth. It writes into ``--out-dir`` (default MATCH_DIR):

* ``sigma_sweep.json``: ``{"sigma_btm": [...], "label_accuracy": [...], "refined_clusters":
  [...], "adjusted": [...], "changed": [...], "cases": [case per cluster], "plm_label_accuracy",
  "clip_label_accuracy", "refinement_cfg", "match_dir", "pseudo_labels", "num_samples"}``;
* ``sigma_sweep.png``: label accuracy against sigma_btm, with the +PLM labels (no refinement)
  and CLIP's zero-shot labels of the whole pool as horizontal references.

The paper's Fig. 4 plots the generation metrics of GDUI against sigma_btm; this tool plots the
labels the noisy classifier would train on, which needs no training per point. Each point's
labels file can be trained and sampled as in docs/gdui.md to extend it to Fig. 4's metrics.
"""
import argparse
import json
import os
from typing import List, Optional

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.registry import init_default_scope

from cdmx.pseudo_labelers.cluster_file import load_clusters
from cdmx.registry import MATCHERS
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

DEFAULT_SIGMAS = [round(0.05 * i, 2) for i in range(21)]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Label accuracy after GDUI refinement against '
                                     'sigma_btm (Fig. 4).')
    parser.add_argument('match_dir', help='output folder of tools/gdui/match_labels.py '
                        '(run with --score-all)')
    parser.add_argument('--pseudo-labels', help='clustering export folder (default: the one '
                        'labels_lmr.json names)')
    parser.add_argument('--truth', help='(N,) int .npy of true class ids (default: '
                        'MATCH_DIR/truth.npy)')
    parser.add_argument('--sigmas', type=float, nargs='+', default=DEFAULT_SIGMAS,
                        help='sigma_btm grid (default 0, 0.05, ..., 1)')
    parser.add_argument('--out-dir', help='where the JSON and PNG go (default: MATCH_DIR)')
    return parser.parse_args(argv)


def read_npy(path: str, what: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise CdmxError(f'{path} does not exist; {what}.')
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise CdmxError(f'{path} is not a readable .npy array ({err}); {what}.') from err


def load_inputs(args: argparse.Namespace) -> dict:
    """P, g, Z, the truth and the refinement config, checked against each other."""
    lmr_file = os.path.join(args.match_dir, 'labels_lmr.json')
    if not os.path.isfile(lmr_file):
        raise CdmxError(f'{lmr_file} does not exist; run tools/gdui/match_labels.py with a '
                        'refinement config and --score-all into that folder first.')
    with open(lmr_file, encoding='utf-8') as f:
        lmr = json.load(f)
    if 'refinement_cfg' not in lmr:
        raise CdmxError(f'{lmr_file} records no refinement_cfg (an older run); rerun '
                        'tools/gdui/match_labels.py with --score-all.')
    folder = args.pseudo_labels or lmr['pseudo_labels']
    probs = load_clusters(folder)['probs']
    clip_probs = read_npy(os.path.join(args.match_dir, 'clip_probs.npy'),
                          'run tools/gdui/match_labels.py --score-all into MATCH_DIR')
    truth_file = args.truth or os.path.join(args.match_dir, 'truth.npy')
    truth = read_npy(truth_file, 'pass --truth with the true class id of every pool image')
    num, classes = probs.shape[0], len(lmr['class_names'])
    if clip_probs.shape != (num, classes):
        raise CdmxError(f'clip_probs.npy has shape {clip_probs.shape} but P has {num} samples '
                        f'and there are {classes} class names; use the match folder of this '
                        'clustering.')
    if not np.isfinite(clip_probs).all():
        missing = int(np.sum(~np.isfinite(clip_probs).all(axis=1)))
        raise CdmxError(f'CLIP scored only {num - missing} of {num} pool images; rerun '
                        'tools/gdui/match_labels.py with --score-all (Eq. 18 reaches every '
                        'member as sigma_btm -> 1).')
    if truth.shape != (num, ) or not np.issubdtype(truth.dtype, np.integer) or \
            truth.min() < 0 or truth.max() >= classes:
        raise CdmxError(f'{truth_file} holds {truth.dtype} {truth.shape}; pass one class id in '
                        f'0..{classes - 1} per pool image ({num}).')
    return dict(probs=probs, mapping=np.asarray(lmr['cluster_to_class']), clip_probs=clip_probs,
                truth=truth, refinement_cfg=lmr['refinement_cfg'], pseudo_labels=folder)


def sweep(inputs: dict, sigmas: List[float]) -> dict:
    """The refinement at every sigma_btm of ``sigmas`` (other thresholds as recorded)."""
    if not sigmas or any(not 0 <= s <= 1 for s in sigmas):
        raise CdmxError(f'--sigmas are {sigmas}; give values of sigma_btm in [0, 1].')
    probs, mapping, clip_probs, truth = (inputs[k] for k in ('probs', 'mapping', 'clip_probs',
                                                             'truth'))
    result = dict(sigma_btm=[], label_accuracy=[], refined_clusters=[], adjusted=[], changed=[])
    for sigma in sorted(sigmas):
        refinement = MATCHERS.build(dict(inputs['refinement_cfg'], sigma_btm=float(sigma)))
        labels, report = refinement(probs, mapping, clip_probs)
        result['sigma_btm'].append(float(sigma))
        result['label_accuracy'].append(float(np.mean(labels == truth)))
        result['refined_clusters'].append(sum(c['refined'] for c in report['clusters']))
        result['adjusted'].append(report['adjusted'])
        result['changed'].append(report['changed'])
    result['cases'] = [c['case'] for c in report['clusters']]  # the same at every sigma_btm
    result['plm_label_accuracy'] = float(np.mean(mapping[probs.argmax(axis=1)] == truth))
    result['clip_label_accuracy'] = float(np.mean(clip_probs.argmax(axis=1) == truth))
    return result


def plot(result: dict, out_file: str) -> None:
    """Label accuracy against sigma_btm, with the +PLM and CLIP references, as a PNG."""
    figure = Figure(figsize=(5, 3.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(result['sigma_btm'], result['label_accuracy'], 'o-', label='+LMR (refined)')
    axes.axhline(result['plm_label_accuracy'], color='grey', linestyle='--',
                 label='+PLM (no refinement)')
    axes.axhline(result['clip_label_accuracy'], color='tab:green', linestyle=':',
                 label='CLIP zero-shot, every image')
    axes.set_xlabel(r'$\sigma_{btm}$')
    axes.set_ylabel('label accuracy (train pool)')
    axes.set_xlim(-0.02, 1.02)
    axes.set_title(r'GDUI refinement against $\sigma_{btm}$ (cf. Fig. 4)', fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out_file)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    init_default_scope('cdmx')
    inputs = load_inputs(args)
    result = sweep(inputs, args.sigmas)
    result.update(refinement_cfg={k: v for k, v in inputs['refinement_cfg'].items()
                                  if k != 'sigma_btm'},
                  match_dir=args.match_dir, pseudo_labels=inputs['pseudo_labels'],
                  num_samples=int(inputs['probs'].shape[0]))
    out_dir = args.out_dir or args.match_dir
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'sigma_sweep.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    plot(result, os.path.join(out_dir, 'sigma_sweep.png'))
    for sigma, accuracy in zip(result['sigma_btm'], result['label_accuracy']):
        print(f'sigma_btm {sigma:.2f}: label accuracy {accuracy:.4f}')
    print(f"+PLM {result['plm_label_accuracy']:.4f}, CLIP everywhere "
          f"{result['clip_label_accuracy']:.4f}; wrote {out_dir}/sigma_sweep.{{json,png}}")


if __name__ == '__main__':
    run_cli(main)
