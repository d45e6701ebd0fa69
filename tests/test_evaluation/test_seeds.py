"""Statistics over seeds (cdmx.evaluation.seeds) against numbers worked out by hand."""
import json
import math

import pytest

from cdmx.evaluation.seeds import (collect, find_test_metrics, paired_difference,
                                   read_test_metrics, summarize)
from cdmx.utils.errors import CdmxError


def test_summary_is_the_mean_the_sample_std_and_the_t_interval():
    summary = summarize([1.0, 2.0, 3.0, 4.0])
    assert summary.n == 4
    assert summary.mean == pytest.approx(2.5)
    # sample std: sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3); population would be sqrt(5/4)
    assert summary.std == pytest.approx(math.sqrt(5 / 3))
    # t_{0.975, 3} = 3.182446
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert summary.ci_low == pytest.approx(2.5 - half, abs=1e-5)
    assert summary.ci_high == pytest.approx(2.5 + half, abs=1e-5)


def test_one_seed_has_no_spread_and_no_interval():
    summary = summarize([7.0])
    assert (summary.mean, summary.n) == (7.0, 1)
    assert math.isnan(summary.std) and math.isnan(summary.ci_low) and math.isnan(summary.ci_high)


@pytest.mark.parametrize('values', [[], [1.0, float('nan')], [float('inf')]])
def test_no_or_non_finite_values_are_refused(values):
    with pytest.raises(CdmxError):
        summarize(values)


def test_paired_difference_pairs_by_seed_not_by_position():
    reference = {0: 1.0, 1: 2.0, 2: 4.0}
    other = {2: 5.0, 0: 2.0, 1: 4.0}  # another order: pairs must follow the seed
    diff = paired_difference(reference, other)
    # d = [1, 2, 1]: mean 4/3, sample std sqrt(1/3), t_{0.975, 2} = 4.302653
    assert diff.mean == pytest.approx(4 / 3)
    assert diff.std == pytest.approx(math.sqrt(1 / 3))
    assert diff.ci_high - diff.mean == pytest.approx(4.302653 * math.sqrt(1 / 3) / math.sqrt(3),
                                                     abs=1e-5)
    # an unpaired test of the same numbers would have a much wider interval
    assert diff.ci_high - diff.ci_low < 2 * 4.302653 * summarize([1, 2, 4]).std / math.sqrt(3)


def test_unpaired_seeds_are_named():
    with pytest.raises(CdmxError, match=r'seed\(s\) 2 only in base; seed\(s\) 3 only in new'):
        paired_difference({0: 1.0, 1: 1.0, 2: 1.0}, {0: 1.0, 1: 1.0, 3: 1.0}, ('base', 'new'))


def test_the_newest_test_metrics_json_is_read_without_timings(tmp_path):
    for stamp, value in (('20260101_000000', 1.0), ('20260102_000000', 2.0)):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / f'{stamp}.json').write_text(
            json.dumps({'mIoU': value, 'data_time': 0.1, 'time': 0.2, 'note': 'x'}))
    # a training log's scalars live under vis_data/ and are not test metrics
    (tmp_path / '20260103_000000' / 'vis_data').mkdir(parents=True)
    (tmp_path / '20260103_000000' / 'vis_data' / '20260103_000000.json').write_text('{}')
    path = find_test_metrics(str(tmp_path))
    assert path.endswith('20260102_000000.json')
    assert read_test_metrics(path) == {'mIoU': 2.0}
    assert find_test_metrics(str(tmp_path / 'absent')) is None


def test_collect_takes_the_shared_metrics_or_names_a_missing_one():
    runs = {'a': {0: {'x': 1.0, 'y': 2.0}}, 'b': {0: {'x': 1.0}}}
    assert collect(runs) == ['x']
    with pytest.raises(CdmxError, match='b seed 0 logged no y'):
        collect(runs, ['y'])
