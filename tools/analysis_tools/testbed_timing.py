"""Project the wall time of DiffMatch's testbed table from a few timed iterations per run.

    python tools/analysis_tools/testbed_timing.py TIMING_DIR [--seeds 3] [--jobs 2]
        [--val-scenes 800] [--skip 3] [--scenes-seconds 40]

``TIMING_DIR`` is what ``bash tools/diffmatch_testbed.sh timing`` leaves: one folder per timed
run, each with ``wall_seconds`` (the whole command, interpreter start included) and, for
training runs, mmengine's ``<timestamp>/vis_data/scalars.json`` logged at every iteration.
Training runs: ``extractor``, ``supervised``, ``oracle``, ``sup-only`` and, in the loop,
``unimatch``, ``dis-baseline``, ``diffmatch``; in their labelled burn-in ``dis-baseline-burn-in``,
``diffmatch-burn-in``. Test runs (``test-unimatch``, ``test-diffmatch``) also hold
``num_images``.

A run's time is its seconds per iteration (median ``time`` after the first ``--skip``
iterations) times its iterations (read from the testbed configs) plus its overhead (wall time
minus the logged iteration times: interpreter start, model build, data listing, checkpoint
writes), then a test of ``--val-scenes`` scenes (per-image time and overhead of the test runs;
the discriminative arms take UniMatch's, the DiffMatch arms DiffMatch's). Stages run one after
the other as tools/diffmatch_testbed.sh runs them, each as seeds.py schedules its runs on
``--jobs`` lanes (config-major order, a free lane takes the next run): scenes and extractor,
then supervised + oracle, then supervised-only + UniMatch (the gates), then Dis. Baseline and
DiffMatch without and with the adjustment and with DDP's readout (the table; the last is
projected at DiffMatch's rate, not timed on its own). The post-hoc extension (tests only) is not
projected. Prints the per-iteration times, each run's projection and the total.
"""
import argparse
import glob
import heapq
import json
import os
import statistics
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

CONFIG = 'configs/diffmatch/fashion-scenes_testbed-{}.py'
TRAIN_RUNS = ('extractor', 'supervised', 'oracle', 'sup-only', 'unimatch', 'dis-baseline',
              'dis-baseline-burn-in', 'diffmatch', 'diffmatch-burn-in')
TEST_RUNS = ('test-unimatch', 'test-diffmatch')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Project the testbed table's wall time.")
    parser.add_argument('timing_dir')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--val-scenes', type=int, default=800)
    parser.add_argument('--skip', type=int, default=3,
                        help='first iterations left out of the per-iteration time')
    parser.add_argument('--scenes-seconds', type=float, default=40.0,
                        help='time to write the scenes (measured once: about 30 s)')
    return parser.parse_args(argv)


def _read_wall(folder: str) -> float:
    path = os.path.join(folder, 'wall_seconds')
    if not os.path.isfile(path):
        raise CdmxError(f'{path} does not exist; run bash tools/diffmatch_testbed.sh timing '
                        'first.')
    with open(path) as f:
        return float(f.read())


def train_rate(folder: str, skip: int) -> Dict[str, float]:
    """``{'per_iter', 'overhead'}`` seconds of one timed training run."""
    logs = sorted(glob.glob(os.path.join(folder, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise CdmxError(f'{folder} holds no */vis_data/scalars.json; the timed run failed, see '
                        f'{folder}.log.')
    with open(logs[-1]) as f:
        times = [json.loads(line)['time'] for line in f if '"time"' in line]
    if len(times) <= skip:
        raise CdmxError(f'{logs[-1]} logged {len(times)} iterations, not more than --skip '
                        f'{skip}; time more iterations (TIMING_ITERS).')
    return dict(per_iter=statistics.median(times[skip:]),
                overhead=max(0.0, _read_wall(folder) - sum(times)))


def test_rate(folder: str, batch_size: int = 16) -> Dict[str, float]:
    """``{'per_image', 'overhead'}`` seconds of one timed test run: the median ``time`` of its
    logged test iterations (batches of ``batch_size`` scenes, mmengine's log lines
    ``Iter(test) [i/n] ... time: T``) per scene, and the rest of its wall time."""
    with open(os.path.join(folder, 'num_images')) as f:
        images = int(f.read())
    per_batch = []
    for log in glob.glob(os.path.join(folder, '*', '*.log')):
        with open(log) as f:
            per_batch += [float(line.split(' time: ')[1].split()[0]) for line in f
                          if 'Iter(test)' in line and ' time: ' in line]
    if not per_batch:
        raise CdmxError(f'{folder} logged no test iteration; the timed test failed, see '
                        f'{folder}.log.')
    per_image = statistics.median(per_batch) / batch_size
    return dict(per_image=per_image, overhead=max(0.0, _read_wall(folder) - per_image * images))


def schedule() -> Dict[str, int]:
    """Iterations of every stage; ``readout_*``: the arms whose readout the supervised
    checkpoint lacks (Dis. Baseline, DiffMatch), which burn in longer."""
    cfg = Config.fromfile(CONFIG.format('unimatch'))
    readout = Config.fromfile(CONFIG.format('diffmatch'))
    extractor = Config.fromfile(CONFIG.format('extractor'))
    return dict(sup=cfg.sup_iters, arm=cfg.arm_iters, burn_in=cfg.burn_in_iters,
                readout_arm=readout.arm_iters, readout_burn_in=readout.burn_in_iters,
                oracle=cfg.oracle_iters, extractor=extractor.train_cfg.max_iters)


def makespan(durations: List[float], jobs: int) -> float:
    """Wall time of ``durations`` run in order on ``jobs`` lanes, a free lane taking the next."""
    lanes = [0.0] * jobs
    for duration in durations:
        heapq.heappush(lanes, heapq.heappop(lanes) + duration)
    return max(lanes)


def project(rates: dict, tests: dict, iters: dict, args) -> Dict[str, float]:
    """Seconds of one run of every testbed config (train and test)."""
    def train(name, count, burn_in_name=None, burn_in=0):
        r = rates[name]
        seconds = r['overhead'] + (count - burn_in) * r['per_iter']
        if burn_in:
            seconds += burn_in * rates[burn_in_name]['per_iter']
        return seconds

    def test(kind):
        t = tests[f'test-{kind}']
        return t['overhead'] + args.val_scenes * t['per_image']

    b, a, rb = iters['burn_in'], iters['readout_arm'], iters['readout_burn_in']
    diffmatch = train('diffmatch', a, 'diffmatch-burn-in', rb) + test('diffmatch')
    return {
        'supervised': train('supervised', iters['sup']) + test('unimatch'),
        'oracle': train('oracle', iters['oracle']) + test('unimatch'),
        'sup-only': train('sup-only', iters['arm']) + test('unimatch'),
        'unimatch': train('unimatch', iters['arm'], 'sup-only', b) + test('unimatch'),
        'dis-baseline': train('dis-baseline', a, 'dis-baseline-burn-in', rb) + test('unimatch'),
        'diffmatch-noadjust': diffmatch,
        'diffmatch': diffmatch,
        'diffmatch-ddp-readout': diffmatch,
    }


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    rates = {name: train_rate(os.path.join(args.timing_dir, name), args.skip)
             for name in TRAIN_RUNS}
    tests = {name: test_rate(os.path.join(args.timing_dir, name)) for name in TEST_RUNS}
    iters = schedule()
    runs = project(rates, tests, iters, args)
    stages = [('supervised', 'oracle'), ('sup-only', 'unimatch'),
              ('diffmatch-noadjust', 'diffmatch', 'diffmatch-ddp-readout', 'dis-baseline')]
    extractor = rates['extractor']['overhead'] + iters['extractor'] * \
        rates['extractor']['per_iter']
    spans = [makespan([runs[n] for n in names for _ in range(args.seeds)], args.jobs)
             for names in stages]
    print('seconds per iteration (median) and overhead per run:')
    for name, r in rates.items():
        print(f"  {name:22s} {r['per_iter']:.3f} s/it, overhead {r['overhead']:.0f} s")
    for name, t in tests.items():
        print(f"  {name:22s} {t['per_image'] * 1000:.1f} ms/scene, overhead {t['overhead']:.0f} s")
    print(f"schedule: extractor {iters['extractor']}, supervised {iters['sup']}, oracle "
          f"{iters['oracle']}, arms {iters['arm']} (burn-in {iters['burn_in']}; Dis. Baseline and "
          f"DiffMatch {iters['readout_arm']}, burn-in {iters['readout_burn_in']}) iterations; "
          f'{args.seeds} seeds on {args.jobs} lanes, {args.val_scenes} val scenes per test')
    for name, seconds in runs.items():
        print(f'  one {name} run (train + test): {seconds / 60:.1f} min')
    total = args.scenes_seconds + extractor + sum(spans)
    print(f'scenes {args.scenes_seconds / 60:.1f} min, extractor {extractor / 60:.1f} min, '
          f'supervised + oracle {spans[0] / 60:.1f} min, gates {spans[1] / 60:.1f} min, '
          f'table {spans[2] / 60:.1f} min: total {total / 60:.1f} min')


if __name__ == '__main__':
    run_cli(main)
