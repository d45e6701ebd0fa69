"""Statistics over training seeds: what every number of a cdmx results table is made of.

A run's score is one draw from the distribution that the seed induces (initialisation, data
order, augmentation), so a table cell reports that distribution's mean with its uncertainty, and
a comparison of two configs is the *paired* difference over the seeds both were run with (the
seed fixes the same data order and initialisation for both, which removes most of the noise that
two independent samples would keep).

For values :math:`x_1, \\dots, x_n` (one per seed):

.. math::

    \\bar x = \\frac{1}{n} \\sum_s x_s, \\qquad
    s = \\sqrt{\\frac{1}{n - 1} \\sum_s (x_s - \\bar x)^2}, \\qquad
    \\bar x \\pm t_{0.975,\\,n-1} \\, \\frac{s}{\\sqrt n}

(the sample standard deviation and Student's t interval at 95%). A paired difference of config B
against config A applies the same to :math:`d_s = x^B_s - x^A_s`.
"""
import glob
import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from scipy import stats

from cdmx.utils.errors import CdmxError

#: Keys of mmengine's test log that are timings or counters, not metrics.
NOT_METRICS = frozenset({'data_time', 'time', 'step', 'iter', 'epoch', 'lr', 'memory'})


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation, count and 95% t interval of one metric over seeds.

    ``std`` and the interval are ``nan`` for a single seed: one run says nothing of the spread.
    """
    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean, sample std (n - 1) and the Student-t interval of ``values``.

    Args:
        values: One number per seed, ``n >= 1``.
        confidence: Coverage of the interval.

    Raises:
        CdmxError: ``values`` is empty or holds a value that is not finite.
    """
    values = [float(v) for v in values]
    if not values:
        raise CdmxError('no values to summarize; run at least one seed.')
    if not all(math.isfinite(v) for v in values):
        raise CdmxError(f'the values {values} are not all finite; check the runs that made them.')
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        return Summary(mean, math.nan, 1, math.nan, math.nan)
    std = math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return Summary(mean, std, n, float(mean - half), float(mean + half))


def unpaired_seeds(reference: Iterable[int], other: Iterable[int],
                   names: Sequence[str] = ('A', 'B')) -> Optional[str]:
    """``None`` when both seed sets are equal, else the sentence naming the unpaired seeds."""
    reference, other = set(reference), set(other)
    parts = [f'seed(s) {", ".join(map(str, sorted(seeds)))} only in {name}'
             for seeds, name in ((reference - other, names[0]), (other - reference, names[1]))
             if seeds]
    if not parts:
        return None
    return (f'{names[1]} cannot be paired with {names[0]}: {"; ".join(parts)}; run both on the '
            'same seeds.')


def paired_difference(reference: Mapping[int, float], other: Mapping[int, float],
                      names: Sequence[str] = ('A', 'B'),
                      confidence: float = 0.95) -> Summary:
    """Summary of ``other[s] - reference[s]`` over the seeds ``s`` of both.

    Args:
        reference: ``{seed: value}`` of the reference config (A).
        other: ``{seed: value}`` of the compared config (B).
        names: The two configs' names, for the error message.

    Raises:
        CdmxError: The two were not run on the same seeds (the message names the unpaired ones).
    """
    problem = unpaired_seeds(reference, other, names)
    if problem:
        raise CdmxError(problem)
    return summarize([other[s] - reference[s] for s in sorted(reference)], confidence)


def list_test_metrics(work_dir: str) -> List[str]:
    """The metrics JSONs of the ``tools/test.py`` runs in ``work_dir``, oldest first.

    mmengine's ``LoggerHook`` dumps a test run's metrics to ``<work_dir>/<timestamp>/<timestamp>
    .json`` (training logs go to ``<timestamp>/vis_data/``); timestamps sort in time order.
    """
    return [path for path in sorted(glob.glob(os.path.join(work_dir, '*', '*.json')))
            if os.path.basename(path) == os.path.basename(os.path.dirname(path)) + '.json']


def find_test_metrics(work_dir: str) -> Optional[str]:
    """The newest test metrics JSON in ``work_dir``, or ``None``."""
    found = list_test_metrics(work_dir)
    return found[-1] if found else None


def load_metrics_json(path: str) -> dict:
    """The dictionary a test metrics JSON holds.

    Raises:
        CdmxError: The file is not a JSON object.
    """
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as error:
            raise CdmxError(f'{path} is not valid JSON ({error.msg}); give the metrics file of '
                            'a tools/test.py run, or run the test again.') from None
    if not isinstance(data, dict):
        raise CdmxError(f'{path} holds no metrics dictionary; give the metrics file of a '
                        'tools/test.py run, or run the test again.')
    return data


def read_test_metrics(path: str) -> Dict[str, float]:
    """``{metric: value}`` of a test metrics JSON, without timings and non-numbers."""
    return {key: float(value) for key, value in load_metrics_json(path).items()
            if key not in NOT_METRICS and isinstance(value, (int, float))
            and not isinstance(value, bool)}


def collect(runs: Mapping[str, Mapping[int, Dict[str, float]]],
            metrics: Optional[Sequence[str]] = None) -> List[str]:
    """The metrics to report: ``metrics`` if given, else those every run of every config has.

    Args:
        runs: ``{config name: {seed: {metric: value}}}``.

    Raises:
        CdmxError: A requested metric is missing from a run, or the runs share no metric.
    """
    for name, by_seed in runs.items():
        for seed, values in by_seed.items():
            missing = [m for m in metrics or () if m not in values]
            if missing:
                raise CdmxError(f'{name} seed {seed} logged no {", ".join(missing)}; it has '
                                f'{", ".join(sorted(values))}.')
    if metrics:
        return list(metrics)
    every = [set(values) for by_seed in runs.values() for values in by_seed.values()]
    shared = sorted(set.intersection(*every)) if every else []
    if not shared:
        raise CdmxError('the runs share no metric; pass --metrics with names they all logged.')
    return shared
