"""Print a segmentation results table (mIoU, head-5 / tail-5 mIoU) from several test runs.

    python tools/analysis_tools/seg_table.py NAME=PATH [NAME=PATH ...] [--out FILE.md]

``PATH`` is the metrics JSON that ``tools/test.py`` leaves in its work dir
(``<work_dir>/<timestamp>/<timestamp>.json``, written by mmengine's ``LoggerHook``), or that work
dir itself, in which case the newest such JSON holding ``mIoU`` is read. The columns are
mmseg's ``mIoU`` and ``HeadTailIoUMetric``'s ``mIoU_head`` / ``mIoU_tail`` (DiffMatch Table 6,
the 5 most / least frequent classes), plus ``aAcc`` and ``ECE`` where the run logged them.
Prints one Markdown table, rows in the order given; ``--out`` also writes it to a file.
"""
import argparse
import math
import os

from cdmx.evaluation.seeds import load_metrics_json, list_test_metrics
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

#: (metric key, column title, required)
COLUMNS = (('mIoU', 'mIoU', True), ('mIoU_head', 'head-5 mIoU', True),
           ('mIoU_tail', 'tail-5 mIoU', True), ('aAcc', 'aAcc', False), ('ECE', 'ECE', False))


def metrics_file(path: str) -> str:
    """``path`` itself when it is a file, else the newest ``<ts>/<ts>.json`` under it with
    ``mIoU``."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise CdmxError(f'{path} is neither a metrics JSON nor a work dir; give the work dir of '
                        'a tools/test.py run or its <timestamp>/<timestamp>.json.')
    candidates = [json_path for json_path in list_test_metrics(path)
                  if 'mIoU' in load_metrics_json(json_path)]
    if not candidates:
        raise CdmxError(f'{path} holds no <timestamp>/<timestamp>.json with mIoU; run '
                        f'tools/test.py with --work-dir {path} first.')
    return candidates[-1]  # timestamps sort in time order


def row(name: str, path: str) -> dict:
    """``{'run', 'file', <metric keys>}`` of one run."""
    file = metrics_file(path)
    metrics = load_metrics_json(file)
    missing = [key for key, _, required in COLUMNS if required and key not in metrics]
    if missing:
        raise CdmxError(f'{file} has no {missing}; evaluate with HeadTailIoUMetric (mIoU, head '
                        'and tail mIoU) as the DiffMatch configs do.')
    return dict(run=name, file=file,
                **{key: float(metrics[key]) for key, _, _ in COLUMNS if key in metrics})


def table(rows: list) -> str:
    """The rows as a Markdown table (``-`` where a run lacks an optional column)."""
    def cell(value):
        return '-' if value is None or math.isnan(value) else f'{value:.2f}'

    lines = ['| run | ' + ' | '.join(title for _, title, _ in COLUMNS) + ' |',
             '|---|' + '---:|' * len(COLUMNS)]
    for r in rows:
        lines.append(f"| {r['run']} | " + ' | '.join(cell(r.get(key)) for key, _, _ in COLUMNS)
                     + ' |')
    return '\n'.join(lines)


def parse_runs(items: list) -> list:
    runs = []
    for item in items:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            raise CdmxError(f'{item!r} is not NAME=PATH; give each run as e.g. '
                            'diffmatch=work_dirs/diffmatch_mini/diffmatch/test.')
        runs.append((name, path))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description='Table of mIoU, head-5 and tail-5 mIoU.')
    parser.add_argument('runs', nargs='+', metavar='NAME=PATH',
                        help='a run name and its metrics JSON or test work dir')
    parser.add_argument('--out', help='also write the table to this Markdown file')
    args = parser.parse_args()
    rows = [row(name, path) for name, path in parse_runs(args.runs)]
    text = table(rows)
    print(text)
    for r in rows:
        print(f"  {r['run']}: {r['file']}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    run_cli(main)
