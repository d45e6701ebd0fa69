"""Check the gates of DiffMatch's testbed (issue 17) on a seeds.py summary.

    python tools/analysis_tools/diffmatch_gates.py SUMMARY.json [--oracle NAME]
        [--sup-only NAME] [--unimatch NAME] [--min-oracle 70] [--tail-range 15 35]
        [--min-gain 3] [--tail-metric mIoU_tail]

``SUMMARY.json`` is what ``tools/analysis_tools/seeds.py --out PREFIX`` writes (``PREFIX.json``)
for configs that include the full-label oracle, supervised-only and UniMatch (run names
``oracle``, ``sup-only``, ``unimatch`` by default). The gates, on the means over seeds:

1. the oracle's mIoU >= ``--min-oracle`` (the testbed can be learnt at all);
2. supervised-only's tail mIoU (``--tail-metric``) within ``--tail-range`` (the tail is hard
   but not hopeless, so a method can move it);
3. UniMatch's mIoU >= supervised-only's + ``--min-gain`` (the semi-supervised loop adds
   something the methods can then be told apart on).

Prints one line per gate (value, seeds, met / not met) and exits 0 when all are met, 1 when
not (so a script can stop before spending the method comparison on an unsound testbed).
"""
import argparse
import json
import os
import sys
from typing import List, Optional, Sequence, Tuple

from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check the DiffMatch testbed's gates.")
    parser.add_argument('summary', help='PREFIX.json written by tools/analysis_tools/seeds.py')
    parser.add_argument('--oracle', default='oracle')
    parser.add_argument('--sup-only', default='sup-only')
    parser.add_argument('--unimatch', default='unimatch')
    parser.add_argument('--min-oracle', type=float, default=70.0)
    parser.add_argument('--tail-range', type=float, nargs=2, default=(15.0, 35.0),
                        metavar=('LOW', 'HIGH'))
    parser.add_argument('--min-gain', type=float, default=3.0)
    parser.add_argument('--tail-metric', default='mIoU_tail')
    return parser.parse_args(argv)


def mean_of(summary: dict, name: str, metric: str) -> Tuple[float, int]:
    """``(mean, n)`` of ``metric`` for run ``name``; a missing one is a clear error."""
    if name not in summary:
        raise CdmxError(f'the summary has no run named {name!r} (it has {sorted(summary)}); '
                        'pass the right name or run that config with seeds.py.')
    if metric not in summary[name]:
        raise CdmxError(f'run {name!r} logged no {metric!r} (it logged {sorted(summary[name])});'
                        ' evaluate with the testbed configs (HeadTailIoUMetric).')
    entry = summary[name][metric]
    return float(entry['mean']), int(entry['n'])


def check_gates(summary: dict, args: argparse.Namespace) -> List[Tuple[str, bool]]:
    """``[(line, met)]`` for the three gates (module docstring)."""
    oracle, n_oracle = mean_of(summary, args.oracle, 'mIoU')
    tail, n_sup = mean_of(summary, args.sup_only, args.tail_metric)
    sup, _ = mean_of(summary, args.sup_only, 'mIoU')
    uni, n_uni = mean_of(summary, args.unimatch, 'mIoU')
    low, high = args.tail_range
    gates = [
        (f'gate 1: full-label oracle mIoU {oracle:.2f} (n={n_oracle}) >= {args.min_oracle:g}',
         oracle >= args.min_oracle),
        (f'gate 2: supervised-only {args.tail_metric} {tail:.2f} (n={n_sup}) in '
         f'[{low:g}, {high:g}]', low <= tail <= high),
        (f'gate 3: UniMatch mIoU {uni:.2f} (n={n_uni}) >= supervised-only {sup:.2f} + '
         f'{args.min_gain:g} (gain {uni - sup:+.2f})', uni >= sup + args.min_gain),
    ]
    return [(f'{line}: {"met" if met else "NOT MET"}', met) for line, met in gates]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if not os.path.isfile(args.summary):
        raise CdmxError(f'{args.summary} does not exist; give the PREFIX.json that '
                        'tools/analysis_tools/seeds.py --out PREFIX wrote.')
    with open(args.summary, encoding='utf-8') as f:
        summary = json.load(f).get('summary')
    if not isinstance(summary, dict):
        raise CdmxError(f'{args.summary} has no "summary" record; give a seeds.py summary.')
    gates = check_gates(summary, args)
    for line, _ in gates:
        print(line)
    return 0 if all(met for _, met in gates) else 1


if __name__ == '__main__':
    run_cli(lambda: sys.exit(main()))
