"""tools/analysis_tools/seeds.py: aggregation of synthetic work dirs, and real train + test runs
of the toy config through the tools, with a failing seed and a resumed re-run."""
import json
import math
import os

import pytest
from tool_runner import REPO_ROOT, TOY_CONFIG, assert_ok, load_module, run_tool

seeds_tool = load_module('seeds_tool', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                                     'seeds.py'))


def write_run(root, name, seed, metrics, stamp='20260101_000000'):
    folder = root / name / f'seed_{seed}' / stamp
    folder.mkdir(parents=True)
    (folder / f'{stamp}.json').write_text(json.dumps(dict(metrics, time=1.0, data_time=0.1)))


@pytest.fixture
def synthetic(tmp_path):
    """Two configs on seeds 0-2 with known values: base mIoU 10/12/17, new 11/14/18 (d = 1/2/1)."""
    for seed, (a, b) in enumerate([(10.0, 11.0), (12.0, 14.0), (17.0, 18.0)]):
        write_run(tmp_path, 'base', seed, {'mIoU': a, 'aAcc': 0.5 + seed / 10})
        write_run(tmp_path, 'new', seed, {'mIoU': b, 'aAcc': 0.6 + seed / 10})
    for name in ('base', 'new'):
        (tmp_path / f'{name}.py').write_text('')
    return tmp_path


def aggregate(root, *extra):
    return seeds_tool.main([f'base={root / "base.py"}', f'new={root / "new.py"}', '--aggregate',
                            '--work-dir-pattern', str(root / '{name}' / 'seed_{seed}'),
                            '--out', str(root / 'summary'), *extra])


def test_aggregation_reports_mean_sample_std_and_the_paired_difference(synthetic, capsys):
    assert aggregate(synthetic, '--seeds', '0', '1', '2') == 0
    record = json.loads((synthetic / 'summary.json').read_text())
    base = record['summary']['base']['mIoU']
    assert base['mean'] == pytest.approx(13.0)
    assert base['std'] == pytest.approx(math.sqrt(13.0))  # ((-3)^2 + (-1)^2 + 4^2) / 2 = 13
    assert base['n'] == 3
    diff = record['differences'][0]
    assert (diff['reference'], diff['other']) == ('base', 'new')
    assert diff['mIoU']['mean'] == pytest.approx(4 / 3)
    assert diff['mIoU']['std'] == pytest.approx(math.sqrt(1 / 3))
    assert set(record['summary']['base']) == {'mIoU', 'aAcc'}  # timings are not metrics
    table = (synthetic / 'summary.md').read_text()
    assert '| base | 0, 1, 2 | 0.6000 ± 0.1000 | 13.00 ± 3.61 |' in table
    assert '| new − base | 3 |' in table and '+1.33 [' in table
    assert table in capsys.readouterr().out
    with open(synthetic / 'summary.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_aggregation_without_seeds_takes_the_seeds_it_finds(synthetic):
    assert aggregate(synthetic) == 0
    record = json.loads((synthetic / 'summary.json').read_text())
    assert sorted(record['runs']['new']) == ['0', '1', '2']


def test_a_missing_seed_is_one_clear_error(synthetic):
    with pytest.raises(seeds_tool.CdmxError, match=r'base seed 3 has no test metrics'):
        aggregate(synthetic, '--seeds', '0', '1', '3')
    assert not (synthetic / 'summary.md').exists()


def test_configs_on_different_seeds_are_refused_naming_the_unpaired_seeds(synthetic):
    write_run(synthetic, 'new', 5, {'mIoU': 1.0, 'aAcc': 0.1})
    with pytest.raises(seeds_tool.CdmxError,
                       match=r'new cannot be paired with base: seed\(s\) 5 only in new'):
        aggregate(synthetic)
    assert not (synthetic / 'summary.json').exists()


def test_existing_outputs_are_never_overwritten(synthetic):
    (synthetic / 'summary.md').write_text('keep me')
    with pytest.raises(seeds_tool.CdmxError, match='nothing is overwritten'):
        aggregate(synthetic)
    assert (synthetic / 'summary.md').read_text() == 'keep me'


def test_no_jobs_is_refused(synthetic):
    with pytest.raises(seeds_tool.CdmxError, match='--jobs 0 runs nothing'):
        aggregate(synthetic, '--jobs', '0')


def test_a_diff_naming_an_unknown_config_is_refused(synthetic):
    with pytest.raises(seeds_tool.CdmxError, match='--diff names other'):
        aggregate(synthetic, '--diff', 'base', 'other')


def test_seed_placeholders_in_cfg_options_become_each_runs_seed():
    assert seeds_tool.seed_options(2, ['load_from=w/seed_{seed}/start.pth', 'a.b=1']) == [
        '--cfg-options', 'randomness.seed=2', 'load_from=w/seed_2/start.pth', 'a.b=1']


def test_train_and_test_per_seed_a_failing_seed_then_a_resumed_rerun(tmp_path):
    pattern = str(tmp_path / 'runs' / '{name}' / 'seed_{seed}')
    # seed 1 fails: its work dir points --resume at a checkpoint that is not one
    broken = tmp_path / 'runs' / 'toy' / 'seed_1'
    broken.mkdir(parents=True)
    (broken / 'iter_2.pth').write_text('not a checkpoint')
    (broken / 'last_checkpoint').write_text(str(broken / 'iter_2.pth'))
    command = [os.path.join('analysis_tools', 'seeds.py'), f'toy={TOY_CONFIG}', '--seeds', '0',
               '1', '--work-dir-pattern', pattern]
    first = run_tool(*command, '--jobs', '2', '--out', str(tmp_path / 'first'))  # side by side
    assert first.returncode == 1, first.stdout + first.stderr
    failures = [line for line in first.stdout.splitlines() if line.startswith('toy seed 1 failed')]
    assert len(failures) == 1 and 'train exited' in failures[0]
    record = json.loads((tmp_path / 'first.json').read_text())
    assert list(record['runs']['toy']) == ['0'] and record['failed'] == failures
    seed0 = tmp_path / 'runs' / 'toy' / 'seed_0'
    metrics_file = seeds_tool.find_test_metrics(str(seed0))
    accuracy = json.loads(open(metrics_file).read())['toy/accuracy']
    assert record['runs']['toy']['0']['toy/accuracy'] == accuracy

    for name in ('iter_2.pth', 'last_checkpoint'):  # mend seed 1, keep its log
        (broken / name).unlink()
    second = run_tool(*command, '--out', str(tmp_path / 'second'))
    assert_ok(second)
    assert '1 run(s) already tested, kept as they are.' in second.stdout
    assert (seed0 / 'seeds.log').read_text().count('tools/train.py') == 1  # seed 0 not re-run
    assert seeds_tool.find_test_metrics(str(seed0)) == metrics_file
    record = json.loads((tmp_path / 'second.json').read_text())
    assert sorted(record['runs']['toy']) == ['0', '1']
    assert record['summary']['toy']['toy/accuracy']['n'] == 2
    # each seed trained with its own seed
    log = (broken / 'seeds.log').read_text()
    assert 'randomness.seed=1' in log and 'randomness.seed=0' not in log
    assert 'toy seed 0: done' in first.stdout and 'toy seed 1: FAILED' in first.stdout


def test_checkpoint_tests_trained_runs_without_training(tmp_path):
    """--checkpoint: each seed's trained checkpoint is tested with other options (a test-time
    knob), nothing is trained; a checkpoint that does not exist is refused before any run."""
    trained = str(tmp_path / 'trained' / 'seed_{seed}')
    assert_ok(run_tool(os.path.join('analysis_tools', 'seeds.py'), f'toy={TOY_CONFIG}',
                       '--seeds', '0', '1', '--work-dir-pattern', trained,
                       '--out', str(tmp_path / 'trained')))
    command = [os.path.join('analysis_tools', 'seeds.py'), f'posthoc={TOY_CONFIG}',
               '--work-dir-pattern', str(tmp_path / 'posthoc' / 'seed_{seed}'),
               '--checkpoint', os.path.join(trained, 'last_checkpoint')]
    missing = run_tool(*command, '--seeds', '0', '2', '--out', str(tmp_path / 'missing'))
    assert missing.returncode != 0 and 'seed_2/last_checkpoint do(es) not exist' in missing.stderr
    assert not (tmp_path / 'posthoc').exists()
    assert_ok(run_tool(*command, '--seeds', '0', '1', '--out', str(tmp_path / 'posthoc')))
    for seed in (0, 1):
        log = (tmp_path / 'posthoc' / f'seed_{seed}' / 'seeds.log').read_text()
        assert 'tools/train.py' not in log and 'tools/test.py' in log
        assert os.path.join('trained', f'seed_{seed}', 'last_checkpoint') in log
    record = json.loads((tmp_path / 'posthoc.json').read_text())
    before = json.loads((tmp_path / 'trained.json').read_text())
    assert record['runs']['posthoc'] == before['runs']['toy']  # the same weights, same metrics
