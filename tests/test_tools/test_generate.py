"""tools/generate.py as a user runs it: one process, two torchrun CPU processes, bad input."""
import json
import os
import sys

import pytest
from tool_runner import HERE, REPO_ROOT, assert_ok, free_port, load_module, run, run_tool

CONFIG = os.path.join(HERE, 'configs', 'generate_tiny.py')


@pytest.fixture(scope='module')
def options(tmp_path_factory, fashion_mnist_root) -> list:
    """``--cfg-options`` naming a tiny random SD folder and the test Fashion-MNIST folder."""
    tiny = load_module('tiny_sd', os.path.join(REPO_ROOT, 'tests', 'test_generators', 'tiny_sd.py'))
    sd = tiny.save_tiny_sd(str(tmp_path_factory.mktemp('generate_sd') / 'pipeline'))
    return ['--cfg-options', f'generation.backend.pretrained={sd}',
            f'generation_dataset.dataset.data_root={fashion_mnist_root}']


def cache_files(work_dir: str) -> dict:
    folder = os.path.join(work_dir, 'generated_pairs')
    return {name: open(os.path.join(folder, name), 'rb').read()
            for name in sorted(os.listdir(folder))}


@pytest.fixture(scope='module')
def one_process(tmp_path_factory, options) -> str:
    work_dir = str(tmp_path_factory.mktemp('generate_one'))
    result = run_tool('generate.py', CONFIG, '--work-dir', work_dir, *options)
    assert_ok(result)
    assert '12 (seed, class) pairs in 3 shards' in result.stdout
    # mmengine's progress bar over this rank's (seed, class) pairs, with rate and ETA.
    assert '] 12/12, ' in result.stdout and 'task/s' in result.stdout and 'ETA' in result.stdout
    return work_dir


def test_one_process_writes_the_cache(one_process):
    files = cache_files(one_process)
    assert sorted(files) == ['manifest.json'] + [f'shard_0000{j}.{ext}' for j in range(3)
                                                 for ext in ('json', 'npy')]
    manifest = json.loads(files['manifest.json'])
    assert manifest['complete'] and manifest['classes'] == ['T-shirt/top', 'Sandal']
    assert manifest['resolution'] == 12 and len(manifest['shards']) == 3


def test_two_processes_write_the_same_bytes(one_process, options, tmp_path):
    result = run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                  f'--master_port={free_port()}', 'tools/generate.py', CONFIG, '--launcher',
                  'pytorch', '--work-dir', str(tmp_path), *options])
    assert_ok(result)
    assert 'gloo process group of 2 CPU processes' in result.stdout + result.stderr
    # Rank 0 made shards 0 and 2 (8 pairs), rank 1 shard 1.
    assert '] 8/8, ' in result.stdout and '12/12' not in result.stdout
    assert cache_files(str(tmp_path)) == cache_files(one_process)


def error_line(args: list, monkeypatch, capsys) -> str:
    tool = load_module('generate', os.path.join(REPO_ROOT, 'tools', 'generate.py'))
    monkeypatch.setattr('sys.argv', ['generate.py', *args])
    with pytest.raises(SystemExit) as exit_info:
        tool.run_cli(tool.main)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    return lines[0]


def test_changed_classes_are_refused(one_process, options, monkeypatch, capsys):
    line = error_line([CONFIG, '--work-dir', one_process, *options,
                       'generation.classes=[Bag,Coat]'], monkeypatch, capsys)
    assert 'the class list changed' in line and '--force-regenerate' in line


def test_unknown_generation_key_is_refused(options, monkeypatch, capsys, tmp_path):
    line = error_line([CONFIG, '--work-dir', str(tmp_path), *options, 'generation.shards=3'],
                      monkeypatch, capsys)
    assert "unknown keys ['shards']" in line
