"""Print UCDM's results table from the predictions files of several test runs.

    python tools/analysis_tools/ucdm_table.py NAME=PREDICTIONS.csv [NAME=...] [--out FILE.json]

Each ``PREDICTIONS.csv`` is the file ``OpenSetMetric`` writes in a test run's work dir
(``index,true_class,kind,gt_label,closed_pred,open_pred``, one row per test image). The tool
re-scores it on its own, independently of the metric's code: closed-set accuracy over the known
rows (``closed_pred == gt_label``), open-set accuracy over the known / unknown / new rows
(``open_pred == gt_label``; unknown and new are right when predicted "other" = K) and the balance
score = mean - sample standard deviation of the three (divisor 2, as the paper's tables). Prints one Markdown table,
rows in the order given, with the number of test images of each kind; ``--out`` also writes the
numbers as JSON.
"""
import argparse
import csv
import json
import math
import os
import sys

KINDS = ('known', 'unknown', 'new')


def score(path: str) -> dict:
    """The five numbers (percent) and the per-kind counts of one predictions CSV."""
    hits = {kind: 0 for kind in KINDS}
    counts = {kind: 0 for kind in KINDS}
    closed = 0
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            kind, gt = row['kind'], int(row['gt_label'])
            counts[kind] += 1
            hits[kind] += int(int(row['open_pred']) == gt)
            if kind == 'known':
                closed += int(int(row['closed_pred']) == gt)
    empty = [kind for kind in KINDS if counts[kind] == 0]
    if empty:
        sys.exit(f'error: {path} has no {"/".join(empty)} rows; score a full '
                 "MismatchDataset(part='test') predictions file.")
    accs = [100 * hits[kind] / counts[kind] for kind in KINDS]
    mean = sum(accs) / 3
    std = math.sqrt(sum((a - mean) ** 2 for a in accs) / 2)
    return dict(closed_accuracy=100 * closed / counts['known'], open_known=accs[0],
                open_unknown=accs[1], open_new=accs[2], balance=mean - std, counts=counts)


def main() -> None:
    parser = argparse.ArgumentParser(description='UCDM results table from predictions CSVs.')
    parser.add_argument('runs', nargs='+', metavar='NAME=PREDICTIONS.csv')
    parser.add_argument('--out', help='also write the numbers to this JSON file')
    args = parser.parse_args()
    results = {}
    for run in args.runs:
        name, sep, path = run.partition('=')
        if not sep or not name or not os.path.isfile(path):
            sys.exit(f'error: {run!r} is not NAME=PATH of an existing predictions CSV; test the '
                     'run first (tools/test.py writes predictions.csv in its work dir).')
        results[name] = score(path)
    counts = next(iter(results.values()))['counts']
    print(f'\nTest images: {counts["known"]} known, {counts["unknown"]} unknown, '
          f'{counts["new"]} new. Accuracies in %; balance = mean - sample std of the three '
          'open-set accuracies.\n')
    print('| method | closed-set | open known | open unknown | open new | balance |')
    print('|---|---|---|---|---|---|')
    for name, r in results.items():
        print(f'| {name} | {r["closed_accuracy"]:.1f} | {r["open_known"]:.1f} | '
              f'{r["open_unknown"]:.1f} | {r["open_new"]:.1f} | {r["balance"]:.1f} |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
