"""Print GDUI's mini results table (Tables 1-2) from the sampling and scoring outputs.

    python tools/analysis_tools/gdui_table.py NAME=DIR [NAME=DIR ...]
        [--labels NAME=LABELS.json ...] [--matchers NAME=MATCH_DIR ...]
        [--floor DIR] [--reference-note TEXT] [--diff A B [--diff A B ...]]
        [--grid FILE.png] [--per-class N] [--out FILE.json]

Each ``DIR`` is one row: a folder written by ``tools/gdui/sample.py`` (``manifest.json``,
``samples.npy``, ``labels.npy``) that also holds ``metrics.json``, the output of
``tools/gdui/eval_generation.py --out`` for those samples (FID, sFID, IS, precision, recall,
``class_accuracy``, ``num_samples``, ``num_reference``), or a folder of such folders named
``seed_<S>``, one per sampling seed. A cell is then the mean ± sample std over the seeds
(:mod:`cdmx.evaluation.seeds`), and a difference of two rows is paired by seed: rows sampled
with the same seed share their noise, so the paired difference ``B - A`` with its 95% t
interval removes the noise the two rows share. Every row needs the same seeds. ``--diff A B``
names a pair (default: every row against the first). ``--labels NAME=FILE`` adds the labels
file the row's classifier was trained on (``labels_{plg,plm,lmr}.json`` of
``tools/gdui/match_labels.py``): its ``evaluation`` gives the label accuracy, the clustering
ACC / NMI / ARI and the share of clusters matched to their true class. ``--matchers NAME=DIR``
compares matchers: one line per ``match_labels.py`` output folder with the label accuracy of its
plg / plm / lmr files and its matched clusters. ``--floor DIR`` adds the row ``real (floor)``:
``DIR/metrics.json`` scores held-out real images (the floor part of
``tools/gdui/split_references.py``, as many as a row's samples) against the same references,
so its FID, precision and recall are what real images reach at that sample count, and its
class accuracy is the judge's accuracy on real images.

Below the table a line gives the guidance scale s of the rows and how it was chosen, read from
each row's ``manifest.json`` (``scale`` and ``scale_source``, written by ``sample.py``: the
config's ``generator.scale``, a ``--scale`` with its reason such as ``set by GDUI_SCALE``, or
the chosen scale of a guidance-scale sweep with its rule and dev references); rows that share a
scale and a source share one entry. A manifest without ``scale_source`` is shown as such.

The tool only reads and prints; it computes nothing but the layout. ``--grid`` draws, for every
named class (rows), the first ``--per-class`` samples of every guided row (column groups) into
one PNG (the first seed's samples); ``--out`` writes the table's numbers, per seed and
summarised, as JSON.
"""
import argparse
import json
import os
import re
import sys
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cdmx.evaluation.seeds import paired_difference, summarize  # noqa: E402
from cdmx.utils.errors import CdmxError  # noqa: E402

GEN_COLUMNS = (('FID', 'FID', 1), ('sFID', 'sFID', 1), ('IS', 'IS', 2),
               ('precision', 'precision', 3), ('recall', 'recall', 3),
               ('class_accuracy', 'class acc.', 3))
FLOOR_ROW = 'real (floor)'
LABEL_COLUMNS = (('label_accuracy', 'label acc.'), ('accuracy', 'ACC'), ('nmi', 'NMI'),
                 ('ari', 'ARI'), ('matched_clusters', 'matched'))


def fail(message: str) -> None:
    sys.exit(f'error: {message}')


def read_json(path: str, what: str) -> dict:
    if not os.path.isfile(path):
        fail(f'{path} does not exist; {what}.')
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def pairs(items, what: str) -> dict:
    """``['NAME=VALUE', ...]`` -> ``{NAME: VALUE}`` in the given order."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition('=')
        if not sep or not name or not value:
            fail(f'{item!r} is not NAME=PATH; pass {what} as NAME=PATH.')
        out[name] = value
    return out


def read_run(folder: str) -> dict:
    """The manifest, metrics and samples of one sampling folder."""
    manifest = read_json(os.path.join(folder, 'manifest.json'),
                         'run tools/gdui/sample.py with --out-dir on it first')
    metrics = read_json(os.path.join(folder, 'metrics.json'),
                        'score the samples with tools/gdui/eval_generation.py --out '
                        f'{folder}/metrics.json first')
    images = np.load(os.path.join(folder, 'samples.npy'), allow_pickle=False)
    labels = np.load(os.path.join(folder, 'labels.npy'), allow_pickle=False)
    return dict(manifest=manifest, metrics=metrics, images=images, labels=labels)


def read_row(folder: str) -> Dict[int, dict]:
    """``{seed: run}`` of one row: its ``seed_<S>`` folders, or the folder itself as the run of
    the seed its manifest records."""
    seeds = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        found = re.fullmatch(r'seed_(\d+)', name)
        if found and os.path.isdir(os.path.join(folder, name)):
            seeds[int(found.group(1))] = read_run(os.path.join(folder, name))
    if seeds:
        return dict(sorted(seeds.items()))
    run = read_run(folder)
    return {int(run['manifest'].get('seed', 0)): run}


def first(row: Dict[int, dict]) -> dict:
    """The run of the row's lowest seed."""
    return row[min(row)]


def summary_cell(values: Sequence[Optional[float]], digits: int) -> str:
    """``mean ± std`` over the seeds (the value alone for one seed; ``-`` when absent)."""
    if any(v is None for v in values):
        return '-'
    if len(values) == 1:
        return cell(values[0], digits)
    found = summarize(values)
    return f'{found.mean:.{digits}f} ± {found.std:.{digits}f}'


def differences(rows: dict, pairs_: Sequence[Sequence[str]]) -> dict:
    """``{'B - A': {metric: Summary}}`` of the paired differences over the seeds."""
    out = {}
    for a, b in pairs_:
        for name in (a, b):
            if name not in rows:
                fail(f'--diff names row {name!r}, which is not among {list(rows)}.')
        found = {}
        for key, _, _ in GEN_COLUMNS:
            values = [{s: run['metrics'].get(key) for s, run in rows[n].items()}
                      for n in (a, b)]
            if any(v is None for side in values for v in side.values()):
                continue
            try:
                found[key] = paired_difference(*values, names=(a, b))
            except CdmxError as err:
                fail(str(err))
        out[f'{b} - {a}'] = found
    return out


def print_differences(diffs: dict) -> None:
    print('\nPaired differences over the sampling seeds (B - A: mean [95% t interval]; the '
          'seeds share their noise across rows):\n')
    head = ['B - A'] + [h for _, h, _ in GEN_COLUMNS]
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for name, found in diffs.items():
        values = [name]
        for key, _, digits in GEN_COLUMNS:
            d = found.get(key)
            values.append('-' if d is None else f'{d.mean:+.{digits}f}' + (
                '' if d.n < 2 else f' [{d.ci_low:+.{digits}f}, {d.ci_high:+.{digits}f}]'))
        print('| ' + ' | '.join(values) + ' |')


def scale_groups(rows: dict) -> List[dict]:
    """``[{'scale', 'chosen_by', 'rows'}]``: the rows grouped by their manifests' scale and
    ``scale_source`` text, in row order."""
    groups = {}
    for name, row in rows.items():
        if len({run['manifest']['scale'] for run in row.values()}) > 1:
            fail(f'the seeds of row {name} were sampled at different scales; sample every seed '
                 'of a row at one scale.')
        row = first(row)
        source = row['manifest'].get('scale_source')
        how = source.get('text') if isinstance(source, dict) else None
        key = (row['manifest']['scale'], how or 'not recorded (its manifest.json has no '
               'scale_source; sampled before sample.py recorded it)')
        groups.setdefault(key, []).append(name)
    return [dict(scale=scale, chosen_by=how, rows=names)
            for (scale, how), names in groups.items()]


def print_scales(groups: List[dict]) -> None:
    print('\nGuidance scale: ' + '; '.join(
        f"s = {group['scale']:g} for {', '.join(group['rows'])}, {group['chosen_by']}"
        for group in groups) + '.')


def cell(value, digits: int) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def read_floor(folder: str, rows: dict) -> dict:
    """The floor's metrics, refused unless it matches the rows' sample and reference counts."""
    floor = read_json(os.path.join(folder, 'metrics.json'), 'score the floor part with '
                      f'tools/gdui/eval_generation.py --out {folder}/metrics.json first')
    row = first(next(iter(rows.values())))['metrics']
    for key in ('num_samples', 'num_reference'):
        if floor.get(key) != row.get(key):
            fail(f"the floor has {key} {floor.get(key)} but the rows {row.get(key)}; split "
                 'the floor with as many images as a row has samples, scored against the same '
                 'references.')
    return floor


def print_table(rows: dict, labels: dict, note: str, floor: Optional[dict] = None) -> None:
    metrics = first(next(iter(rows.values())))['metrics']
    is_net = metrics.get('is_classifier', 'a classifier given to eval_generation.py')
    judge = next((run['metrics']['class_accuracy_by'] for row in rows.values()
                  for run in row.values() if 'class_accuracy_by' in run['metrics']),
                 'the classifier given to eval_generation.py')  # unguided rows have none
    ceiling = metrics.get('judge_reference_accuracy')
    seeds = sorted({s for row in rows.values() for s in row})
    print(f"\nGeneration: {metrics['num_samples']} samples per row and sampling seed against "
          f"{metrics['num_reference']} reference images{f' ({note})' if note else ''}; "
          f"sampling seeds {', '.join(map(str, seeds))}"
          f"{' (cells: mean ± sample std over them)' if len(seeds) > 1 else ''}. FID and "
          'sFID lower is better; precision (k = 3) and recall from the same Inception '
          f'features; IS from p(y | x) of {is_net} (the Inception file has no logits). '
          f'class acc.: share of guided samples that {judge} assigns to the class they were '
          'guided to' + ('' if ceiling is None else
                         f'; its accuracy on the reference images: {ceiling:.3f}') + '. ' +
          ('' if floor is None else f'{FLOOR_ROW}: held-out real images, as many as a row\'s '
           'samples, scored alike. ') + 'Label columns (fractions of the train pool) come from '
          'the labels file the row\'s classifier was trained on.\n')
    head = ['method', 'seeds', 'steps', 'scale'] + [h for _, h, _ in GEN_COLUMNS] + \
        [h for _, h in LABEL_COLUMNS]
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for name, row in rows.items():
        manifest = first(row)['manifest']
        evaluation = labels.get(name, {}).get('evaluation', {})
        values = [name, str(len(row)), str(manifest['num_inference_steps']),
                  f"{manifest['scale']:g}"]
        values += [summary_cell([run['metrics'].get(key) for run in row.values()], digits)
                   for key, _, digits in GEN_COLUMNS]
        values += [cell(evaluation.get(key), 3) for key, _ in LABEL_COLUMNS]
        print('| ' + ' | '.join(values) + ' |')
    if floor is not None:
        values = [FLOOR_ROW, '-', '-', '-'] + [cell(floor.get(key), digits)
                                          for key, _, digits in GEN_COLUMNS]
        print('| ' + ' | '.join(values + ['-'] * len(LABEL_COLUMNS)) + ' |')


def print_matchers(matchers: dict) -> dict:
    """One line per matcher folder; returns its numbers."""
    out = {}
    print('\nMatchers (label accuracy of the train pool after each stage; matched = share of '
          'clusters named with their true class):\n')
    print('| matcher | +PLG | +PLM | +LMR | matched |')
    print('|---|---|---|---|---|')
    for name, folder in matchers.items():
        stages = {}
        for stage in ('plg', 'plm', 'lmr'):
            path = os.path.join(folder, f'labels_{stage}.json')
            if os.path.isfile(path):
                stages[stage] = read_json(path, '').get('evaluation', {})
        if 'plm' not in stages:
            fail(f'{folder} has no labels_plm.json; run tools/gdui/match_labels.py with '
                 '--out-dir on it first.')
        out[name] = stages
        print(f'| {name} | ' + ' | '.join(
            cell(stages.get(s, {}).get('label_accuracy'), 3) for s in ('plg', 'plm', 'lmr')) +
            f" | {cell(stages['plm'].get('matched_clusters'), 3)} |")
    return out


def draw_grid(rows: dict, path: str, per_class: int) -> None:
    """Rows: named classes; column groups: the guided rows' first ``per_class`` samples."""
    rows = {name: first(row) for name, row in rows.items()}
    guided = {name: row for name, row in rows.items() if (row['labels'] >= 0).all()}
    if not guided:
        fail('no guided row to draw; --grid needs samples of named classes.')
    names = next(iter(guided.values()))['manifest']['class_names']
    for name, row in guided.items():
        if row['manifest']['class_names'] != names:
            fail(f'row {name} names other classes than the first guided row; sample every row '
                 'with the same class_names.')
    group_width = max(per_class * 0.55 + 0.3, 1.8)
    fig, axes = plt.subplots(1, len(guided), figsize=(len(guided) * group_width + 1.2,
                                                        len(names) * 0.6 + 0.8), squeeze=False)
    for ax, (name, row) in zip(axes[0], guided.items()):
        height, width = row['images'].shape[1:3]
        canvas = np.zeros((len(names) * (height + 2), per_class * (width + 2)), dtype=np.uint8)
        for c in range(len(names)):
            for j, image in enumerate(row['images'][row['labels'] == c][:per_class]):
                canvas[c * (height + 2) + 1:c * (height + 2) + 1 + height,
                       j * (width + 2) + 1:j * (width + 2) + 1 + width] = image[..., 0]
        ax.imshow(canvas, cmap='gray', vmin=0, vmax=255, interpolation='nearest')
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([c * (height + 2) + height / 2 for c in range(len(names))])
        ax.set_yticklabels(names if ax is axes[0][0] else [], fontsize=8)
        ax.tick_params(length=0)
    fig.suptitle('Guided samples per named class (sample j: the same noise in every group)',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f'\nwrote {path}')


def main() -> None:
    parser = argparse.ArgumentParser(description="GDUI's mini results table.")
    parser.add_argument('rows', nargs='+', metavar='NAME=DIR')
    parser.add_argument('--labels', nargs='*', metavar='NAME=LABELS.json', default=[])
    parser.add_argument('--matchers', nargs='*', metavar='NAME=MATCH_DIR', default=[])
    parser.add_argument('--floor', metavar='DIR', help='held-out real images scored as a row '
                        '(their metrics.json): the row real (floor)')
    parser.add_argument('--reference-note', default='', help='what the reference images are')
    parser.add_argument('--diff', nargs=2, action='append', metavar=('A', 'B'),
                        help='report the paired difference B - A over the seeds (repeatable; '
                        'default: every row against the first)')
    parser.add_argument('--grid', help='also draw the guided samples per class into this PNG')
    parser.add_argument('--per-class', type=int, default=8, help='samples per class in --grid')
    parser.add_argument('--out', help='also write the numbers to this JSON file')
    args = parser.parse_args()
    rows = {name: read_row(folder) for name, folder in pairs(args.rows, 'rows').items()}
    labels = {}
    for name, path in pairs(args.labels, '--labels').items():
        if name not in rows:
            fail(f'--labels names row {name!r}, which is not among {list(rows)}.')
        labels[name] = read_json(path, 'run tools/gdui/match_labels.py first')
    floor = read_floor(args.floor, rows) if args.floor else None
    print_table(rows, labels, args.reference_note, floor)
    scales = scale_groups(rows)
    print_scales(scales)
    names = list(rows)
    diffs = differences(rows, args.diff or [(names[0], name) for name in names[1:]])
    if diffs:
        print_differences(diffs)
    matchers = print_matchers(pairs(args.matchers, '--matchers')) if args.matchers else {}
    if args.grid:
        draw_grid(rows, args.grid, args.per_class)
    if args.out:
        numbers = {}
        for name, row in rows.items():
            manifest = first(row)['manifest']
            numbers[name] = dict(
                seeds={seed: run['metrics'] for seed, run in row.items()},
                summary={key: summarize([run['metrics'][key] for run in row.values()]).as_dict()
                         for key, _, _ in GEN_COLUMNS
                         if all(run['metrics'].get(key) is not None for run in row.values())},
                scale=manifest['scale'], scale_source=manifest.get('scale_source'),
                num_inference_steps=manifest['num_inference_steps'],
                labels=labels.get(name, {}).get('evaluation'))
        results = dict(reference_note=args.reference_note, matchers=matchers, floor=floor,
                       guidance_scale=scales, rows=numbers,
                       differences={pair: {key: d.as_dict() for key, d in found.items()}
                                    for pair, found in diffs.items()})
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
