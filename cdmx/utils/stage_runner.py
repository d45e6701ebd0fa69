"""A chain of commands declared once and re-run like make: each :class:`Stage` names its command,
the files it reads (inputs) and the files it writes (outputs); :class:`StageRunner` runs the
stale ones.

A stage is stale, and runs, when
  1. a stage whose output it reads runs (its upstream),
  2. one of its outputs is missing,
  3. there is no record of a completed run: the record (``<record_dir>/<name>.json``) is deleted
     when the command starts and written only after it exited 0 having written every output, so
     a failed or interrupted stage never looks complete, whatever files it left,
  4. its definition (command, inputs, outputs) differs from the recorded one, or
  5. an input is newer than an output (make's rule).
Code is not an input: delete a stage's record or output to redo it after a code change.

Stages of one lane run one after another in their declared order; lanes run side by side (one
thread each, starting subprocesses), and a stage also waits for its upstream stages in other
lanes. When a stage fails the runner reports its name, command, log and the end of the log,
starts no further stage, lets the stages already running in other lanes finish (their work is
kept) and returns ``False``.

Why not make: the rule "re-run when the definition changed" needs a record of each stage's
command, which make does not keep; the reason a stage runs (``--dry-run``), fixed lanes and a
failure's log tail would be shell inside recipes. Here they are plain Python, tested on toy
stages (tests/test_utils/test_stage_runner.py).
"""
import argparse
import json
import os
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import CdmxError


@dataclass(frozen=True)
class Stage:
    """One command of a chain.

    Attributes:
        name: Unique; names the log ``<log_dir>/<name>.log`` and the record.
        command: The argv, run without a shell from the current folder.
        inputs: Files it reads: configs, and outputs of other stages (those are its upstream).
        outputs: Files it writes (at least one, or ``stdout``).
        lane: Stages of one lane run in their declared order; lanes run side by side.
        stdout: A file that receives the command's standard output; it is an output too,
            written via ``<stdout>.partial`` and kept only when the command succeeds. Without
            it standard output goes to the log with standard error.
    """
    name: str
    command: Sequence[str]
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ()
    lane: str = 'main'
    stdout: Optional[str] = None

    def __post_init__(self):
        for field in ('command', 'inputs', 'outputs'):
            object.__setattr__(self, field, tuple(str(item) for item in getattr(self, field)))
        if not self.name or '/' in self.name:
            raise CdmxError(f'stage name {self.name!r} is empty or holds a "/"; name each '
                            'stage with a plain word.')
        if not self.command:
            raise CdmxError(f'stage {self.name} has no command; give it the argv to run.')
        if not self.products:
            raise CdmxError(f'stage {self.name} declares no output, so it could never be up '
                            'to date; list the files it writes.')

    @property
    def products(self) -> Tuple[str, ...]:
        """Every file the stage writes: ``outputs`` and ``stdout``."""
        return self.outputs + ((self.stdout, ) if self.stdout else ())

    def definition(self) -> dict:
        """What the record keeps; a stage whose definition differs from its record re-runs."""
        return dict(command=list(self.command), inputs=list(self.inputs),
                    outputs=list(self.outputs), stdout=self.stdout)


def _key(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _mtime(path: str) -> float:
    return os.stat(path).st_mtime


def log_tail(path: str, lines: int) -> List[str]:
    """The last ``lines`` lines of a text file (read from its last 64 KiB)."""
    with open(path, 'rb') as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        text = f.read().decode('utf-8', errors='replace')
    return text.splitlines()[-lines:]


class StageRunner:
    """Runs the stale stages of ``stages`` (module docstring).

    Args:
        stages: In declared order (the order of each lane).
        record_dir: Folder of the records of completed stages.
        log_dir: Folder of the logs, one per stage.
        env: The environment of the commands (default: this process's).
        name: The prefix of every message, e.g. ``gdui_mini``.
        tail_lines: How many lines of a failed stage's log to print.

    Raises:
        CdmxError: Two stages share a name or an output, or lane order and inputs make stages
            wait on each other.
    """

    def __init__(self, stages: Sequence[Stage], record_dir: str, log_dir: str,
                 env: Optional[Mapping[str, str]] = None, name: str = 'stages',
                 tail_lines: int = 15):
        self.stages = {}
        for stage in stages:
            if stage.name in self.stages:
                raise CdmxError(f'two stages are named {stage.name}; give each a unique name.')
            self.stages[stage.name] = stage
        self.record_dir, self.log_dir = record_dir, log_dir
        self.env = None if env is None else dict(env)
        self.name, self.tail_lines = name, tail_lines
        self.writer = {}  # output path -> the stage that writes it
        for stage in stages:
            for path in stage.products:
                other = self.writer.setdefault(_key(path), stage.name)
                if other != stage.name:
                    raise CdmxError(f'stages {other} and {stage.name} both write {path}; '
                                    'one file has one writer.')
        self.upstream = {stage.name: sorted({self.writer[_key(path)] for path in stage.inputs
                                             if _key(path) in self.writer})
                         for stage in stages}
        self.order = self._topological_order()
        self._lock = threading.Condition()  # guards the messages and the two sets below
        self.finished, self.failed = set(), None  # of the current run()

    def lanes(self, names: Sequence[str]) -> Dict[str, List[str]]:
        """``{lane: its stages among names, in declared order}``, lanes in order of appearance."""
        lanes = {}
        for name in self.stages:
            if name in names:
                lanes.setdefault(self.stages[name].lane, []).append(name)
        return lanes

    def _topological_order(self) -> List[str]:
        """The stages, each after its upstream and its lane predecessor (declared order among
        the ready ones)."""
        waits = {name: set(up) for name, up in self.upstream.items()}
        for lane in self.lanes(self.stages).values():
            for before, after in zip(lane, lane[1:]):
                waits[after].add(before)
        order = []
        while len(order) < len(waits):
            ready = [name for name in waits if name not in order and waits[name] <= set(order)]
            if not ready:
                stuck = ', '.join(name for name in waits if name not in order)
                raise CdmxError(f'stages {stuck} can never start: inputs and lane order make '
                                'some of them wait on each other; declare each stage after the '
                                'stages it reads.')
            order.append(ready[0])
        return order

    def select(self, targets: Sequence[str] = ()) -> List[str]:
        """``targets`` and their upstream, or every stage; in topological order."""
        unknown = [name for name in targets if name not in self.stages]
        if unknown:
            raise CdmxError(f'no stage is named {", ".join(unknown)}; the stages are '
                            f'{", ".join(self.stages)}.')
        if not targets:
            return list(self.order)
        chosen, todo = set(), list(targets)
        while todo:
            name = todo.pop()
            if name not in chosen:
                chosen.add(name)
                todo.extend(self.upstream[name])
        return [name for name in self.order if name in chosen]

    def record_path(self, name: str) -> str:
        return os.path.join(self.record_dir, f'{name}.json')

    def log_path(self, name: str) -> str:
        return os.path.join(self.log_dir, f'{name}.log')

    def _read_record(self, name: str) -> Optional[dict]:
        try:
            with open(self.record_path(name), encoding='utf-8') as f:
                return json.load(f)['definition']
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def reason_to_run(self, name: str, running: Sequence[str]) -> Optional[str]:
        """Why stage ``name`` is stale (rules 1-5 of the module docstring), or ``None``.

        Args:
            name: A stage.
            running: The stages already found stale (every upstream stage has been judged).
        """
        stage = self.stages[name]
        for path in stage.inputs:
            if _key(path) not in self.writer and not os.path.exists(path):
                raise CdmxError(f'stage {name} reads {path}, which does not exist and no stage '
                                'writes; create it or fix the path.')
        stale_upstream = [up for up in self.upstream[name] if up in running]
        if stale_upstream:
            return (f'upstream {", ".join(stale_upstream)} '
                    f'{"runs" if len(stale_upstream) == 1 else "run"}')
        for path in stage.products:
            if not os.path.exists(path):
                return f'output {path} is missing'
        record = self._read_record(name)
        if record is None:
            return 'no record of a completed run'
        changed = [field for field, value in stage.definition().items()
                   if record.get(field) != value]
        if changed:
            return f'its {" and ".join(changed)} changed'
        oldest = min(stage.products, key=_mtime)
        for path in stage.inputs:
            if _mtime(path) > _mtime(oldest):
                return f'input {path} is newer than output {oldest}'
        return None

    def plan(self, targets: Sequence[str] = ()) -> Dict[str, Optional[str]]:
        """``{stage: why it runs, or None when up to date}`` for the selected stages, in
        topological order."""
        reasons = {}
        for name in self.select(targets):
            reasons[name] = self.reason_to_run(name, [n for n, why in reasons.items() if why])
        return reasons

    def say(self, message: str) -> None:
        with self._lock:
            print(f'[{self.name} {time.strftime("%H:%M:%S")}] {message}', flush=True)

    def dry_run(self, targets: Sequence[str] = ()) -> Dict[str, Optional[str]]:
        """Print what :meth:`run` would run and why, in declared order; run nothing."""
        reasons = self.plan(targets)
        lanes = self.lanes(reasons)
        self.say(f'dry run: {sum(map(bool, reasons.values()))} of {len(reasons)} stages would '
                 f'run, in {len(lanes)} lane(s): {", ".join(lanes)}')
        for name in self.stages:
            if name not in reasons:
                continue
            stage = self.stages[name]
            if reasons[name] is None:
                print(f'  {name} [{stage.lane}]: up to date')
                continue
            redirect = f' > {shlex.quote(stage.stdout)}' if stage.stdout else ''
            print(f'  {name} [{stage.lane}]: would run: {reasons[name]}\n'
                  f'      $ {shlex.join(stage.command)}{redirect}')
        return reasons

    def run(self, targets: Sequence[str] = ()) -> bool:
        """Run the stale selected stages, lanes side by side; ``False`` when a stage failed."""
        reasons = self.plan(targets)
        self.say(f'{sum(map(bool, reasons.values()))} of {len(reasons)} stages to run, in '
                 f'lane(s) {", ".join(self.lanes(reasons))} side by side; logs in '
                 f'{self.log_dir}, records of completed stages in {self.record_dir}')
        os.makedirs(self.record_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        self.finished, self.failed = set(), None
        threads = [threading.Thread(target=self._run_lane, args=(lane, reasons), name=name)
                   for name, lane in self.lanes(reasons).items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.failed:
            self.say(f'stopped: {self.failed} failed (see above); fix it and run again: '
                     'complete stages are reused')
            return False
        return True

    def _run_lane(self, lane: Sequence[str], reasons: Mapping[str, Optional[str]]) -> None:
        for name in lane:
            with self._lock:
                self._lock.wait_for(
                    lambda: self.failed or set(self.upstream[name]) <= self.finished)
                if self.failed:
                    return
            if reasons[name] is None:
                self.say(f'{name}: reused (up to date)')
            elif not self._execute_or_stop(self.stages[name], reasons[name]):
                with self._lock:
                    self.failed = self.failed or name
                    self._lock.notify_all()
                return
            with self._lock:
                self.finished.add(name)
                self._lock.notify_all()

    def _execute_or_stop(self, stage: Stage, reason: str) -> bool:
        """:meth:`_execute`; an exception (a bug, or e.g. a full disk) fails the stage too, so
        that no other lane waits for it forever."""
        try:
            return self._execute(stage, reason)
        except BaseException:
            with self._lock:
                self.failed = self.failed or stage.name
                self._lock.notify_all()
            raise

    def _execute(self, stage: Stage, reason: str) -> bool:
        """Run one stage; write its record only when it succeeded and wrote every output."""
        record, log = self.record_path(stage.name), self.log_path(stage.name)
        if os.path.exists(record):
            os.remove(record)
        partial = f'{stage.stdout}.partial' if stage.stdout else None
        self.say(f'{stage.name}: running ({reason}; log {log})')
        start = time.monotonic()
        with open(log, 'w', encoding='utf-8') as log_file:
            if partial:
                os.makedirs(os.path.dirname(partial) or '.', exist_ok=True)
            out = open(partial, 'w', encoding='utf-8') if partial else log_file
            try:
                status = subprocess.run(stage.command, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=log_file, env=self.env).returncode
            except OSError as error:
                log_file.write(f'could not start the command: {error}\n')
                status = None
            finally:
                if partial:
                    out.close()
        if status == 0 and partial:
            os.replace(partial, stage.stdout)
        elif partial and os.path.exists(partial):
            os.remove(partial)
        missing = [path for path in stage.products if not os.path.exists(path)]
        if status != 0 or missing:
            why = (f'exit status {status}' if status != 0 else
                   f'exited 0 but did not write {", ".join(missing)}')
            self._report_failure(stage, why, log)
            return False
        seconds = time.monotonic() - start
        tmp = f'{record}.partial'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(dict(definition=stage.definition(), seconds=round(seconds, 1),
                           finished=time.strftime('%Y-%m-%d %H:%M:%S')), f, indent=1)
        os.replace(tmp, record)
        self.say(f'{stage.name}: done in {seconds:.0f} s')
        return True

    def _report_failure(self, stage: Stage, why: str, log: str) -> None:
        tail = log_tail(log, self.tail_lines)
        redirect = f' > {shlex.quote(stage.stdout)}' if stage.stdout else ''
        lines = [f'{stage.name}: FAILED ({why})', f'  command: {shlex.join(stage.command)}'
                 f'{redirect}', f'  log: {log}; its last {len(tail)} lines:' if tail else
                 f'  log: {log} (empty)']
        self.say('\n'.join(lines + [f'  | {line}' for line in tail]))


def parse_args(description: str, argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of a chain: ``[--dry-run] [STAGE ...]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('stages', nargs='*', metavar='STAGE',
                        help='run only these stages and their upstream (default: all)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print which stages would run and why; run nothing')
    return parser.parse_args(argv)
