"""Bad input stops the tools with one line on stderr and exit status 2, never a traceback."""
import os

import pytest
import torch
from tool_runner import TOY_CONFIG, run_tool


class _MakeDir:
    """Unpickling this calls ``os.mkdir(path)``: a stand-in for code a checkpoint smuggles in."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _one_error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr[-3000:]
    return lines[0]


def test_unknown_type_names_the_type_and_the_registry(tmp_path):
    line = _one_error_line(run_tool('train.py', TOY_CONFIG, '--work-dir', str(tmp_path),
                                    '--cfg-options', 'model.type=NoSuchNet'))
    assert line.startswith("error: type 'NoSuchNet' is not in the cdmx::model registry;")
    assert 'custom_imports' in line


def test_missing_config_file(tmp_path):
    missing = str(tmp_path / 'nope.py')
    line = _one_error_line(run_tool('train.py', missing))
    assert line.startswith(f'error: config file {missing} does not exist;')


def test_missing_checkpoint(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    line = _one_error_line(run_tool('test.py', TOY_CONFIG, missing, '--work-dir', str(tmp_path)))
    assert line.startswith(f'error: checkpoint {missing} does not exist;')


def test_checkpoint_with_a_pickled_call_is_refused(tmp_path):
    marker = tmp_path / 'created_by_the_checkpoint'
    evil = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=_MakeDir(str(marker))), evil)
    line = _one_error_line(run_tool('train.py', TOY_CONFIG, '--work-dir', str(tmp_path / 'w'),
                                    '--resume', evil))
    assert line.startswith(f"error: checkpoint {evil} holds objects outside cdmx's allow-list")
    assert 'cdmx will not unpickle it' in line
    assert not marker.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='--amp is refused only without CUDA')
def test_amp_without_a_gpu(tmp_path):
    line = _one_error_line(run_tool('train.py', TOY_CONFIG, '--work-dir', str(tmp_path),
                                    '--amp'))
    assert line.startswith('error: --amp needs a CUDA GPU')
