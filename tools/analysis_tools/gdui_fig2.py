"""GDUI's Fig. 2: sample quality against the diffusion model's training iterations.

    python tools/analysis_tools/gdui_fig2.py NAME=DIR [NAME=DIR ...] --out-dir OUT
        [--floor FLOOR_METRICS.json]

Each ``DIR`` is one curve (e.g. ``unconditional``, ``+LMR (GDUI)``, ``ground-truth labels``) and
holds one folder per evaluated UNet checkpoint, ``iter_<N>/``, with the ``metrics.json`` that
``tools/gdui/eval_generation.py --out`` wrote for samples of ``tools/gdui/sample.py
--unet-checkpoint .../iter_<N>.pth`` (the mini chain makes them when ``GDUI_FIG2_ITERS`` is
set: tools/gdui/mini_stages.py). The tool computes nothing: it reads those files and writes

* ``OUT/fig2.json``: per curve the iterations and, per metric, the values;
* ``OUT/fig2.png``: Fig. 2's panels (a) FID, (b) sFID, (c) IS, (d) precision, (e) recall, and
  (f) the judge's class accuracy (cdmx's addition), one line per curve; ``--floor`` (the
  ``metrics.json`` of the real floor images) draws the real images' values as a dashed line.
"""
import argparse
import json
import os
import re
from typing import List, Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

PANELS = (('FID', '(a) FID'), ('sFID', '(b) sFID'), ('IS', '(c) IS'),
          ('precision', '(d) precision'), ('recall', '(e) recall'),
          ('class_accuracy', '(f) class accuracy (judge)'))
ITER_FOLDER = re.compile(r'^iter_(\d+)$')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Metrics against training iterations (Fig. 2).')
    parser.add_argument('curves', nargs='+', metavar='NAME=DIR')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--floor', help='metrics.json of the real floor images')
    return parser.parse_args(argv)


def read_curve(name: str, folder: str) -> dict:
    """``{'iterations': [...], metric: [...]}`` from ``folder/iter_<N>/metrics.json``."""
    found = sorted((int(match.group(1)), entry) for entry in
                   (os.listdir(folder) if os.path.isdir(folder) else [])
                   for match in [ITER_FOLDER.match(entry)] if match
                   and os.path.isfile(os.path.join(folder, entry, 'metrics.json')))
    if not found:
        raise CdmxError(f'curve {name}: {folder} holds no iter_<N>/metrics.json; sample and '
                        'score the UNet checkpoints there first (docs/gdui.md, Fig. 2).')
    curve = dict(iterations=[iteration for iteration, _ in found], folder=folder)
    metrics = []
    for _, entry in found:
        with open(os.path.join(folder, entry, 'metrics.json'), encoding='utf-8') as f:
            metrics.append(json.load(f))
    for key, _ in PANELS:
        curve[key] = [m.get(key) for m in metrics]
    curve['num_samples'] = [m.get('num_samples') for m in metrics]
    return curve


def plot(curves: dict, floor: Optional[dict], out_file: str) -> None:
    """Six panels, one line per curve (module docstring)."""
    figure = Figure(figsize=(12, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    for axes, (key, title) in zip(figure.subplots(2, 3).flat, PANELS):
        for name, curve in curves.items():
            points = [(i, v) for i, v in zip(curve['iterations'], curve[key]) if v is not None]
            if points:
                axes.plot(*zip(*points), 'o-', label=name)
        if floor is not None and floor.get(key) is not None:
            axes.axhline(floor[key], color='black', linestyle='--', linewidth=1,
                         label='real images (floor)')
        axes.set_title(title, fontsize=10)
        axes.set_xlabel('UNet training iterations')
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    figure.suptitle('Sample quality against training iterations (cf. GDUI Fig. 2)', fontsize=11)
    figure.tight_layout()
    figure.savefig(out_file)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    curves = {}
    for item in args.curves:
        name, sep, folder = item.partition('=')
        if not sep or not name or not folder:
            raise CdmxError(f'{item!r} is not NAME=DIR; pass each curve as NAME=DIR.')
        curves[name] = read_curve(name, folder)
    floor = None
    if args.floor:
        if not os.path.isfile(args.floor):
            raise CdmxError(f'floor metrics {args.floor} do not exist; score the floor part '
                            'with tools/gdui/eval_generation.py first.')
        with open(args.floor, encoding='utf-8') as f:
            floor = json.load(f)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, 'fig2.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(curves=curves, floor=floor), f, indent=1)
    plot(curves, floor, os.path.join(args.out_dir, 'fig2.png'))
    for name, curve in curves.items():
        print(f'{name}: ' + ', '.join(f'iter {i}: FID {v:.2f}' if v is not None else f'iter {i}'
                                      for i, v in zip(curve['iterations'], curve['FID'])))
    print(f'wrote {args.out_dir}/fig2.{{json,png}}')


if __name__ == '__main__':
    run_cli(main)
