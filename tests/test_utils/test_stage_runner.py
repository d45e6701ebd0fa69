"""The stage runner on toy stages: shell commands that copy files in a temporary folder and note
their name in ``runs.txt``, so each test reads exactly which stages ran."""
import json
import os
import shlex

import pytest

from cdmx.utils.errors import CdmxError
from cdmx.utils.stage_runner import Stage, StageRunner, log_tail


def copy(name: str, inputs, output: str, lane: str = 'main', extra: str = '') -> Stage:
    """A stage that writes its inputs' text (and its name) into ``output``; ``extra`` runs
    first."""
    script = f'{extra} cat {" ".join(inputs)} > {output} && echo {name} >> {output} && ' \
             f'echo {name} >> runs.txt'
    return Stage(name, ['sh', '-c', script], inputs, [output], lane)


def diamond(extra: dict = None) -> list:
    """config -> a -> b -> d and config -> c -> d; ``extra[name]`` is a shell prefix."""
    extra = extra or {}
    return [copy('a', ['config.txt'], 'a.txt', extra=extra.get('a', '')),
            copy('b', ['a.txt'], 'b.txt', extra=extra.get('b', '')),
            copy('c', ['config.txt'], 'c.txt', extra=extra.get('c', '')),
            copy('d', ['b.txt', 'c.txt'], 'd.txt', extra=extra.get('d', ''))]


def runner(stages, **kwargs) -> StageRunner:
    return StageRunner(stages, 'records', 'logs', name='toy', **kwargs)


def ran() -> list:
    """The stages that ran since the last call, in order."""
    if not os.path.exists('runs.txt'):
        return []
    with open('runs.txt') as f:
        names = f.read().split()
    os.remove('runs.txt')
    return names


def make_older(*paths: str) -> None:
    """Set the files' times one minute back (no test depends on the clock's resolution)."""
    for path in paths:
        stamp = os.stat(path).st_mtime - 60
        os.utime(path, (stamp, stamp))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'config.txt').write_text('config\n')
    make_older('config.txt')
    return tmp_path


def test_first_run_runs_all_then_reuses_all(folder, capsys):
    assert runner(diamond()).run()
    assert sorted(ran()) == ['a', 'b', 'c', 'd']
    assert (folder / 'd.txt').read_text() == 'config\na\nb\nconfig\nc\nd\n'
    record = json.loads((folder / 'records' / 'b.json').read_text())
    assert record['definition'] == dict(command=['sh', '-c', diamond()[1].command[2]],
                                        inputs=['a.txt'], outputs=['b.txt'], stdout=None)
    capsys.readouterr()
    assert runner(diamond()).run()
    assert ran() == []
    assert capsys.readouterr().out.count(': reused (up to date)') == 4


def test_newer_input_reruns_only_its_downstream(folder):
    runner(diamond()).run()
    ran()
    for name in 'abcd':
        make_older(f'{name}.txt')
    os.utime('a.txt')  # a.txt is now newer than b.txt: b and d are stale, a and c are not
    plan = runner(diamond()).plan()
    assert plan == dict(a=None, b='input a.txt is newer than output b.txt', c=None,
                        d='upstream b runs')
    assert runner(diamond()).run()
    assert ran() == ['b', 'd']


def test_missing_output_and_missing_record_rerun(folder):
    runner(diamond()).run()
    ran()
    os.remove('c.txt')
    os.remove(os.path.join('records', 'b.json'))  # as if b had been interrupted
    plan = runner(diamond()).plan()
    assert plan == dict(a=None, b='no record of a completed run', c='output c.txt is missing',
                        d='upstream b, c run')
    assert runner(diamond()).run()
    assert sorted(ran()) == ['b', 'c', 'd']


def test_changed_definition_reruns_the_stage_and_its_downstream(folder):
    runner(diamond()).run()
    ran()
    changed = diamond(extra=dict(b='true &&'))
    assert runner(changed).plan() == dict(a=None, b='its command changed', c=None,
                                          d='upstream b runs')
    assert runner(changed).run()
    assert ran() == ['b', 'd']
    assert runner(changed).plan() == dict(a=None, b=None, c=None, d=None)


def test_failure_names_the_stage_command_log_and_tail_and_stops(folder, capsys):
    failing = 'test -e fail.flag && { echo line1; echo line2 >&2; echo boom; exit 3; };'
    stages = diamond(extra=dict(b=failing))
    assert runner(stages).run()
    ran()
    (folder / 'fail.flag').write_text('')
    make_older('b.txt', 'c.txt', 'd.txt')  # a.txt is newer than b.txt: b runs, and fails
    capsys.readouterr()
    assert not runner(stages, tail_lines=2).run()
    out = capsys.readouterr().out
    log = os.path.join('logs', 'b.log')
    assert 'b: FAILED (exit status 3)' in out
    assert f'  command: {shlex.join(stages[1].command)}' in out
    assert f'  log: {log}; its last 2 lines:\n  | line2\n  | boom' in out
    assert '| line1' not in out and 'stopped: b failed (see above)' in out
    assert ran() == [] and not os.path.exists(os.path.join('records', 'b.json'))
    # b's old output is still there, but without its record it does not look complete.
    assert runner(stages).plan()['b'] == 'no record of a completed run'
    os.remove('fail.flag')
    assert runner(stages).run()
    assert ran() == ['b', 'd']


def test_stage_without_its_output_fails(folder, capsys):
    stages = [Stage('lazy', ['sh', '-c', 'echo hello'], ['config.txt'], ['never.txt'])]
    assert not runner(stages).run()
    out = capsys.readouterr().out
    assert 'lazy: FAILED (exited 0 but did not write never.txt)' in out and '| hello' in out
    assert not os.path.exists(os.path.join('records', 'lazy.json'))


def test_stdout_file_is_written_only_on_success(folder):
    stages = [Stage('table', ['sh', '-c', 'echo "| row |"; test ! -e fail.flag'],
                    ['config.txt'], stdout='table.md')]
    (folder / 'fail.flag').write_text('')
    assert not runner(stages).run()
    assert not os.path.exists('table.md') and not os.path.exists('table.md.partial')
    os.remove('fail.flag')
    assert runner(stages).run()
    assert (folder / 'table.md').read_text() == '| row |\n'


def test_lanes_run_side_by_side_and_wait_across_lanes(folder):
    # The first stage of each lane waits for the other's to start: run one lane after the
    # other, the first would give up (after 20 s) and fail. b2 reads a2's output, so it waits
    # for a2 although its own lane is free.
    def handshake(me, other):
        return (f'touch {me}.started; i=0; while [ ! -e {other}.started ]; do sleep 0.05; '
                f'i=$((i+1)); [ $i -gt 400 ] && exit 1; done;')
    stages = [copy('a1', ['config.txt'], 'a1.txt', 'A', handshake('a1', 'b1')),
              copy('a2', ['b1.txt'], 'a2.txt', 'A'),
              copy('b1', ['config.txt'], 'b1.txt', 'B', handshake('b1', 'a1')),
              copy('b2', ['a2.txt'], 'b2.txt', 'B')]
    assert runner(stages).run()
    assert sorted(ran()[:2]) == ['a1', 'b1']
    assert (folder / 'b2.txt').read_text() == 'config\nb1\na2\nb2\n'


def test_failure_in_one_lane_starts_nothing_more_in_the_other(folder, capsys):
    # a1 fails once b1 has started; b1 ends two seconds later, long after the runner noted the
    # failure: b2 must not start, and b1's completed work is kept.
    wait = 'i=0; while [ ! -e b1.started ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done'
    stages = [Stage('a1', ['sh', '-c', f'{wait}; exit 1'], ['config.txt'], ['a1.txt'], 'A'),
              copy('b1', ['config.txt'], 'b1.txt', 'B', 'touch b1.started; sleep 2;'),
              copy('b2', ['b1.txt'], 'b2.txt', 'B')]
    assert not runner(stages).run()
    assert ran() == ['b1']
    assert os.path.exists(os.path.join('records', 'b1.json'))
    out = capsys.readouterr().out
    assert 'log: logs/a1.log (empty)' in out and 'stopped: a1 failed' in out


def test_targets_run_only_their_upstream(folder):
    assert runner(diamond()).select(['b']) == ['a', 'b']
    assert runner(diamond()).run(['b'])
    assert ran() == ['a', 'b']
    assert not os.path.exists('c.txt')


def test_dry_run_prints_reasons_and_runs_nothing(folder, capsys):
    runner(diamond()).dry_run()
    out = capsys.readouterr().out
    assert 'dry run: 4 of 4 stages would run, in 1 lane(s): main' in out
    assert '  a [main]: would run: output a.txt is missing\n      $ sh -c ' in out
    assert '  d [main]: would run: upstream b, c run' in out
    assert sorted(os.listdir(folder)) == ['config.txt']
    runner(diamond()).run()
    capsys.readouterr()
    runner(diamond()).dry_run()
    out = capsys.readouterr().out
    assert 'dry run: 0 of 4 stages would run' in out and out.count('up to date') == 4


def test_commands_get_the_given_environment(folder):
    stages = [Stage('env', ['sh', '-c', 'echo "$OMP_NUM_THREADS" > env.txt'], [], ['env.txt'])]
    assert runner(stages, env=dict(os.environ, OMP_NUM_THREADS='7')).run()
    assert (folder / 'env.txt').read_text() == '7\n'


def test_bad_chains_are_refused(folder):
    with pytest.raises(CdmxError, match='two stages are named a'):
        runner([copy('a', [], 'a.txt'), copy('a', [], 'b.txt')])
    with pytest.raises(CdmxError, match='stages a and b both write x.txt'):
        runner([copy('a', [], 'x.txt'), copy('b', [], 'x.txt')])
    # a reads b's output but comes first in the same lane.
    with pytest.raises(CdmxError, match='stages a, b can never start'):
        runner([copy('a', ['b.txt'], 'a.txt'), copy('b', [], 'b.txt')])
    with pytest.raises(CdmxError, match='declares no output'):
        Stage('nothing', ['true'])
    with pytest.raises(CdmxError, match='no stage is named e; the stages are a, b, c, d'):
        runner(diamond()).plan(['e'])
    with pytest.raises(CdmxError, match='stage a reads nope.txt, which does not exist'):
        runner([copy('a', ['nope.txt'], 'a.txt')]).plan()


def test_log_tail_reads_the_last_lines(tmp_path):
    path = tmp_path / 'log.txt'
    path.write_text(''.join(f'line {i}\n' for i in range(20000)))
    assert log_tail(str(path), 2) == ['line 19998', 'line 19999']
