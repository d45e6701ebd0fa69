"""Running the tools as a user does (fresh interpreters, from the repository root), or importing
a tool's file in-process."""
import importlib.util
import os
import re
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
TOY_CONFIG = os.path.join(HERE, 'configs', 'toy_runner.py')


def tool_env(**extra: str) -> dict:
    """The environment of a tool subprocess: the checkout and this folder (the toy components)
    on ``PYTHONPATH``, one thread per process (the test machine's cores are shared)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO_ROOT, HERE, env.get('PYTHONPATH', '')])
    env['OMP_NUM_THREADS'] = '1'
    env.update(extra)
    return env


def run(args: list, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``args`` from the repository root; return its exit status and output."""
    return subprocess.run(args, cwd=REPO_ROOT, env=tool_env(**env), capture_output=True,
                          text=True, timeout=timeout)


def run_tool(tool: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python tools/<tool> args...`` with the interpreter that runs the tests."""
    return run([sys.executable, os.path.join('tools', tool), *args], **env)


def free_port() -> int:
    """A TCP port nobody listens on now, for a torchrun rendezvous."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def logged_iterations(log: str) -> dict:
    """``{iteration: lr}`` from mmengine's ``Iter(train) [i/n]  lr: x`` log lines."""
    pattern = re.compile(r'Iter\(train\) \[\s*(\d+)/\d+\]\s+lr: ([0-9.e+-]+)')
    return {int(i): float(lr) for i, lr in pattern.findall(log)}


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f'exit {result.returncode}\n{result.stdout[-3000:]}\n' \
        f'{result.stderr[-5000:]}'


def load_module(name: str, path: str):
    """Import the Python file ``path`` as module ``name`` (tools are scripts, not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
