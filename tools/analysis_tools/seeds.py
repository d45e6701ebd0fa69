"""Train and test configs over several seeds; print and write mean, std and paired differences.

    python tools/analysis_tools/seeds.py CONFIG [CONFIG ...] --seeds 0 1 2
        [--work-dir-pattern work_dirs/seeds/{name}/seed_{seed}] [--cfg-options KEY=VALUE ...]
        [--aggregate] [--checkpoint PATTERN] [--jobs N] [--metrics M [M ...]]
        [--diff A B [--diff A B ...]] [--out PREFIX]

Each ``CONFIG`` is a config path or ``NAME=PATH`` (the name labels its row and its work dirs;
default: the file name). For every config and seed the tool runs, as a user would,

    python tools/train.py CONFIG --work-dir DIR --cfg-options randomness.seed=S [KEY=VALUE ...]
    python tools/test.py CONFIG DIR/last_checkpoint --work-dir DIR --cfg-options (the same)

in fresh processes (``{seed}`` in an option becomes ``S``, e.g. ``load_from=work_dirs/sup/
seed_{seed}/iter_600.pth`` starts each seed from its own checkpoint; output to
``DIR/seeds.log``; ``--checkpoint PATTERN`` trains nothing and tests the checkpoint (or
``last_checkpoint`` file) that PATTERN names with ``{name}`` and ``{seed}`` filled in, for knobs
that act at test time alone, e.g. a post-hoc prior correction chosen on a dev split over the
seeds of trained runs; ``--jobs N`` runs N seeds at once, each with
``OMP_NUM_THREADS`` = cores / N unless it is set: on a 2-core CPU two one-thread runs finish
sooner than two two-thread runs in turn), then reads each test run's metrics JSON
(``DIR/<timestamp>/<timestamp>.json``, mmengine's ``LoggerHook``) and reports per config and
metric the mean, the sample standard deviation, n and the 95% Student-t interval
(:mod:`cdmx.evaluation.seeds`), and for each compared pair the paired difference over the seeds
(``--diff A B`` reports B - A; default: every config against the first).

A seed whose test metrics exist is never run again and nothing it wrote is touched, so a re-run
resumes the missing seeds only (a seed whose training stopped part-way resumes from its
``last_checkpoint``). A seed that fails is reported in one line and the others go on; the exit
status is then 1. ``--aggregate`` runs nothing and only reads existing work dirs (any layout the
pattern describes, e.g. ``work_dirs/old/{name}_s{seed}``); without ``--seeds`` it takes the
seeds it finds. The tables go to ``PREFIX.md`` and ``PREFIX.json``, and ``PREFIX.png`` shows
every seed's value beside the mean and its interval (default ``work_dirs/seeds/summary_<time>``);
existing files are never overwritten.
"""
import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from cdmx.evaluation.seeds import (Summary, collect, find_test_metrics, paired_difference,
                                   read_test_metrics, summarize, unpaired_seeds)
from cdmx.utils.cli import run_cli
from cdmx.visualization.seeds_plot import plot_seeds
from cdmx.utils.errors import CdmxError

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test configs over seeds; report mean, std, 95% intervals and '
        'paired differences.')
    parser.add_argument('configs', nargs='+', metavar='[NAME=]CONFIG')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='the seeds (required unless --aggregate, which then takes the '
                        'seeds it finds)')
    parser.add_argument('--work-dir-pattern', default='work_dirs/seeds/{name}/seed_{seed}',
                        help='work dir of one run, with {name} and {seed}')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to both tools/train.py and tools/test.py; {seed} in a '
                        'value becomes the run\'s seed')
    parser.add_argument('--jobs', type=int, default=1,
                        help='how many (config, seed) runs at once (default: 1)')
    parser.add_argument('--checkpoint', metavar='PATTERN',
                        help='train nothing: test this checkpoint, with {name} and {seed}')
    parser.add_argument('--aggregate', action='store_true',
                        help='run nothing; summarize existing work dirs')
    parser.add_argument('--metrics', nargs='+',
                        help='metrics to report (default: every metric all runs logged)')
    parser.add_argument('--diff', nargs=2, action='append', metavar=('A', 'B'),
                        help='report the paired difference B - A (repeatable; default: each '
                        'config against the first)')
    parser.add_argument('--out', help='write PREFIX.md, .json and .png (default: '
                        'work_dirs/seeds/summary_<time>)')
    return parser.parse_args(argv)


def parse_configs(items: Sequence[str]) -> Dict[str, str]:
    """``{name: config path}`` from ``NAME=PATH`` or ``PATH`` items.

    Raises:
        CdmxError: A config file does not exist, or two configs get the same name.
    """
    configs = {}
    for item in items:
        name, sep, path = item.partition('=')
        if not sep:
            name, path = os.path.splitext(os.path.basename(item))[0], item
        if not os.path.isfile(path):
            raise CdmxError(f'config {path} does not exist; pass config files, optionally as '
                            'NAME=PATH.')
        if not re.fullmatch(r'[\w.+-]+', name):
            raise CdmxError(f'{name!r} is not a usable run name; use letters, digits and . _ + -.')
        if name in configs:
            raise CdmxError(f'two configs are named {name}; give them distinct NAME=PATH names.')
        configs[name] = path
    return configs


def work_dir(pattern: str, name: str, seed: int) -> str:
    return pattern.format(name=name, seed=seed)


def check_pattern(pattern: str, several: bool) -> None:
    if '{seed}' not in pattern or (several and '{name}' not in pattern):
        raise CdmxError(f'--work-dir-pattern {pattern!r} needs {{seed}}' +
                        (' and {name}' if several else '') + ' so that runs do not share a '
                        'work dir.')


def found_seeds(pattern: str, name: str) -> List[int]:
    """The seeds whose work dirs exist for ``name`` under ``pattern``."""
    regex = re.compile(re.escape(pattern.format(name=name, seed='\0')).replace('\0', r'(\d+)'))
    seeds = []
    for path in glob.glob(pattern.format(name=glob.escape(name), seed='*')):
        match = regex.fullmatch(path)
        if match and os.path.isdir(path):
            seeds.append(int(match.group(1)))
    return sorted(seeds)


def seed_options(seed: int, cfg_options: Sequence[str]) -> List[str]:
    """The ``--cfg-options`` of one seed: its ``randomness.seed``, then ``cfg_options`` with
    ``{seed}`` replaced by the seed."""
    return ['--cfg-options', f'randomness.seed={seed}',
            *[option.replace('{seed}', str(seed)) for option in cfg_options]]


def run_one(config: str, directory: str, seed: int, cfg_options: Sequence[str],
            threads: Optional[int] = None, checkpoint: Optional[str] = None) -> Optional[str]:
    """Train and test one seed in fresh processes (only test ``checkpoint`` when it is given);
    ``None`` or what failed, in a few words."""
    os.makedirs(directory, exist_ok=True)
    options = seed_options(seed, cfg_options)
    pointer = checkpoint or os.path.join(directory, 'last_checkpoint')
    steps = [('test', [sys.executable, os.path.join(TOOLS, 'test.py'), config, pointer,
                       '--work-dir', directory])]
    if not checkpoint:
        train = [sys.executable, os.path.join(TOOLS, 'train.py'), config, '--work-dir', directory]
        steps.insert(0, ('train', train + ['--resume'] if os.path.isfile(pointer) else train))
    env = dict(os.environ)
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # spinning threads collapse on shared cores
    if threads is not None:
        env.setdefault('OMP_NUM_THREADS', str(threads))
    with open(os.path.join(directory, 'seeds.log'), 'a', encoding='utf-8') as log:
        for step, command in steps:
            command += options
            log.write(f'\n$ {" ".join(command)}\n')
            log.flush()
            status = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            if status != 0:
                return f'{step} exited {status}'
    if find_test_metrics(directory) is None:
        return 'test wrote no metrics JSON'
    return None


def run_all(configs: Dict[str, str], seeds: Sequence[int], pattern: str,
            cfg_options: Sequence[str], jobs: int = 1,
            checkpoint: Optional[str] = None) -> Dict[Tuple[str, int], str]:
    """Run every missing (config, seed), ``jobs`` at a time (test only the checkpoint that the
    ``checkpoint`` pattern names, if given); ``{(name, seed): one line}`` of the failures."""
    todo = [(name, seed) for name in configs for seed in seeds
            if find_test_metrics(work_dir(pattern, name, seed)) is None]
    done = len(configs) * len(seeds) - len(todo)
    if done:
        print(f'{done} run(s) already tested, kept as they are.', flush=True)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    failures = {}
    lock = threading.Lock()

    def one(numbered: Tuple[int, Tuple[str, int]]) -> None:
        i, (name, seed) = numbered
        directory = work_dir(pattern, name, seed)
        with lock:
            print(f'[{i}/{len(todo)}] {name} seed {seed}: '
                  f'{"test" if checkpoint else "train + test"} in {directory} '
                  f'(log: {directory}/seeds.log)', flush=True)
        start = time.time()
        problem = run_one(configs[name], directory, seed, cfg_options, threads,
                          checkpoint and work_dir(checkpoint, name, seed))
        minutes, seconds = divmod(round(time.time() - start), 60)
        with lock:
            if problem:
                failures[name, seed] = (f'{name} seed {seed} failed ({problem}); see '
                                        f'{directory}/seeds.log and run the same command again '
                                        'to retry it.')
            print(f'[{i}/{len(todo)}] {name} seed {seed}: '
                  f'{"FAILED" if problem else "done"} after {minutes} min {seconds:02d} s',
                  flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, enumerate(todo, 1)))
    return failures


def read_runs(configs: Dict[str, str], seeds: Optional[Sequence[int]], pattern: str,
              skip: Sequence[Tuple[str, int]] = ()) -> Dict[str, Dict[int, Dict[str, float]]]:
    """``{name: {seed: metrics}}`` of the tested runs.

    Raises:
        CdmxError: A requested seed has no test metrics (and did not just fail, ``skip``), or a
            config has no tested seed at all.
    """
    runs = {}
    for name in configs:
        wanted = seeds if seeds is not None else found_seeds(pattern, name)
        runs[name] = {}
        for seed in wanted:
            path = find_test_metrics(work_dir(pattern, name, seed))
            if path is not None:
                runs[name][seed] = read_test_metrics(path)
            elif (name, seed) not in skip:
                raise CdmxError(f'{name} seed {seed} has no test metrics in '
                                f'{work_dir(pattern, name, seed)}; run it (drop --aggregate) or '
                                'leave that seed out of --seeds.')
        if not runs[name]:
            raise CdmxError(f'{name} has no tested seed under {pattern!r}; run the seeds first.')
    return runs


def decimals(values: Sequence[float]) -> int:
    """2 decimals for metrics in percent or larger, 4 for fractions."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    return 2 if finite and max(finite) >= 1 else 4


def cell(summary: Summary, places: int) -> str:
    if summary.n == 1:
        return f'{summary.mean:.{places}f} (n=1)'
    return f'{summary.mean:.{places}f} ± {summary.std:.{places}f}'


def interval_cell(summary: Summary, places: int) -> str:
    if summary.n == 1:
        return f'{summary.mean:+.{places}f} (n=1, no interval)'
    return f'{summary.mean:+.{places}f} [{summary.ci_low:+.{places}f}, ' \
           f'{summary.ci_high:+.{places}f}]'


def report(runs: Dict[str, Dict[int, Dict[str, float]]], metrics: Sequence[str],
           pairs: Sequence[Tuple[str, str]]) -> Tuple[str, dict]:
    """The Markdown tables and the JSON record of the summaries and differences."""
    summaries = {name: {m: summarize([by_seed[s][m] for s in sorted(by_seed)]) for m in metrics}
                 for name, by_seed in runs.items()}
    differences = []
    for a, b in pairs:
        diff = {m: paired_difference({s: v[m] for s, v in runs[a].items()},
                                     {s: v[m] for s, v in runs[b].items()}, (a, b))
                for m in metrics}
        differences.append((a, b, diff))
    places = {m: decimals([s[m].mean for s in summaries.values()]) for m in metrics}
    lines = ['Mean ± sample std over seeds (n per row); 95% Student-t intervals in the JSON.', '',
             '| config | seeds | ' + ' | '.join(metrics) + ' |',
             '|---|---|' + '---:|' * len(metrics)]
    for name, by_seed in runs.items():
        lines.append(f'| {name} | {", ".join(map(str, sorted(by_seed)))} | ' +
                     ' | '.join(cell(summaries[name][m], places[m]) for m in metrics) + ' |')
    if differences:
        lines += ['', 'Paired differences over the same seeds: mean [95% interval].', '',
                  '| difference | n | ' + ' | '.join(metrics) + ' |',
                  '|---|---|' + '---:|' * len(metrics)]
        for a, b, diff in differences:
            n = next(iter(diff.values())).n
            lines.append(f'| {b} − {a} | {n} | ' +
                         ' | '.join(interval_cell(diff[m], places[m]) for m in metrics) + ' |')
    record = dict(
        runs={name: {str(s): v for s, v in sorted(by_seed.items())}
              for name, by_seed in runs.items()},
        summary={name: {m: s.as_dict() for m, s in by_metric.items()}
                 for name, by_metric in summaries.items()},
        differences=[dict(reference=a, other=b, **{m: s.as_dict() for m, s in diff.items()})
                     for a, b, diff in differences])
    return '\n'.join(lines) + '\n', record


def output_prefix(out: Optional[str]) -> str:
    """``out`` or a new ``work_dirs/seeds/summary_<time>``; refuses to overwrite."""
    prefix = out or os.path.join('work_dirs', 'seeds',
                                 time.strftime('summary_%Y%m%d_%H%M%S'))
    existing = [p for p in (prefix + '.md', prefix + '.json', prefix + '.png')
                if os.path.exists(p)]
    if existing:
        raise CdmxError(f'{" and ".join(existing)} already exist(s); choose another --out, '
                        'nothing is overwritten.')
    return prefix


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    configs = parse_configs(args.configs)
    check_pattern(args.work_dir_pattern, len(configs) > 1)
    if not args.aggregate and not args.seeds:
        raise CdmxError('pass --seeds (e.g. --seeds 0 1 2), or --aggregate to summarize '
                        'existing work dirs.')
    if args.jobs < 1:
        raise CdmxError(f'--jobs {args.jobs} runs nothing; give 1 or more.')
    if args.seeds and len(set(args.seeds)) != len(args.seeds):
        raise CdmxError(f'--seeds {" ".join(map(str, args.seeds))} repeats a seed; give each '
                        'once.')
    pairs = [tuple(pair) for pair in args.diff or []] or \
        [(next(iter(configs)), name) for name in list(configs)[1:]]
    for pair in pairs:
        unknown = [name for name in pair if name not in configs]
        if unknown:
            raise CdmxError(f'--diff names {", ".join(unknown)}, which is not among the configs '
                            f'({", ".join(configs)}).')
    if args.checkpoint and not args.aggregate:
        missing = [path for path in (work_dir(args.checkpoint, name, seed) for name in configs
                                     for seed in args.seeds) if not os.path.isfile(path)]
        if missing:
            raise CdmxError(f'--checkpoint: {", ".join(missing)} do(es) not exist; train those '
                            'runs first (drop --checkpoint) or fix the pattern.')
    prefix = output_prefix(args.out)

    failed = {} if args.aggregate else run_all(configs, args.seeds, args.work_dir_pattern,
                                               args.cfg_options, args.jobs, args.checkpoint)
    failures = list(failed.values())
    runs = read_runs(configs, args.seeds, args.work_dir_pattern, skip=list(failed))
    metrics = collect(runs, args.metrics)
    refused = {(a, b): unpaired_seeds(runs[a], runs[b], (a, b)) for a, b in pairs}
    refused = {pair: problem for pair, problem in refused.items() if problem}
    if refused and not failures:
        raise CdmxError(next(iter(refused.values())))
    failures += refused.values()  # a seed that failed just now: report the rest, refuse the pair
    text, record = report(runs, metrics, [pair for pair in pairs if pair not in refused])
    record.update(command=[os.path.relpath(__file__)] + list(sys.argv[1:] if argv is None
                                                              else argv),
                  configs=configs, failed=failures)
    os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
    with open(prefix + '.md', 'w', encoding='utf-8') as f:
        f.write(text)
    with open(prefix + '.json', 'w', encoding='utf-8') as f:
        json.dump(record, f, indent=2)
    plot_seeds(runs, metrics, prefix + '.png')
    print('\n' + text)
    print(f'wrote {prefix}.md, {prefix}.json and {prefix}.png')
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == '__main__':
    run_cli(lambda: sys.exit(main()))
