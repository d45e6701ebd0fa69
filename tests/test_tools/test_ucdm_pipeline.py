"""UCDM's mini-world config end to end through the tools, on tiny data and a tiny random SD:
generate, train with labelling rounds, test, then re-score the predictions file with the table
tool (the whole of `make demo` at toy size; the real run is tools/ucdm_mini.sh); then two CPU
processes training across the BN freeze, and a variant refusing the other variant's cache."""
import csv
import json
import os

import re
import sys

import pytest
import torch
from tool_runner import REPO_ROOT, assert_ok, free_port, load_module, run, run_tool

from cdmx.utils.checkpoint import load_from_local

MAIN = os.path.join(REPO_ROOT, 'configs', 'ucdm', 'ucdm_wrn28-2_fashion-mnist-mini.py')
SPLIT = dict(known=['T-shirt/top', 'Sandal'], unknown=['Bag', 'Coat'], new=['Trouser'],
             known_count=6, test_counts=dict(known=8, unknown=8, new=8))


def toy_config(path: str, sd: str, root: str, cache_dir: str) -> str:
    """The mini config with tiny sizes: 12 seeds, 2 DDIM steps, Algorithm 2 steps of 2 seeds,
    6 iterations, 3 rounds."""
    text = f"""_base_ = [{MAIN!r}]
toy_split = dict(_delete_=True, **{SPLIT!r})
cache_dir = {cache_dir!r}
generation = dict(backend=dict(pretrained={sd!r}, resize_policy='bicubic'),
                  positive=dict(num_inference_steps=2), negative=dict(num_inference_steps=2),
                  shard_size=4, batch_size=8, num_threads=1, cache_dir=cache_dir)
data = dict(data_root={root!r}, external_size=100)
train_dataloader = dict(batch_size=2, dataset=dict(
    pairs=dict(cache_dir=cache_dir), real=dict(dataset=data, split=toy_split, mismatch=0.5)))
test_dataloader = dict(batch_size=8, dataset=dict(dataset=data, split=toy_split))
train_cfg = dict(max_iters=6)
custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='ConfidenceLabellingHook', interval=2, max_rounds=3, by_epoch=False,
         labeler=dict(type='ConfidencePairLabeler', delta=0.5),
         pool=dict(batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler',
                                                              shuffle=False))),
    {{{{_base_.pool_bn}}}},
]
default_hooks = dict(checkpoint=dict(interval=3))
"""
    with open(path, 'w') as f:
        f.write(text)
    return path


@pytest.fixture(scope='module')
def pipeline(tmp_path_factory, fashion_mnist_root):
    tmp = tmp_path_factory.mktemp('ucdm_pipeline')
    tiny = load_module('tiny_sd', os.path.join(REPO_ROOT, 'tests', 'test_generators',
                                                'tiny_sd.py'))
    sd = tiny.save_tiny_sd(str(tmp / 'sd'))
    config = toy_config(str(tmp / 'ucdm_toy.py'), sd, fashion_mnist_root, str(tmp / 'cache'))
    work_dir = str(tmp / 'run')
    results = [run_tool('generate.py', config),
               run_tool('train.py', config, '--work-dir', work_dir),
               run_tool('test.py', config, os.path.join(work_dir, 'last_checkpoint'),
                        '--work-dir', work_dir)]
    for result in results:
        assert_ok(result)
    return tmp, work_dir, results


def test_generation_covers_every_seed_and_class(pipeline):
    tmp, _, (generated, _, _) = pipeline
    manifest = json.load(open(tmp / 'cache' / 'manifest.json'))
    assert manifest['complete'] and manifest['resolution'] == 28
    assert sum(len(s['seed_ids']) for s in manifest['shards']) == 12  # 6 known + 6 unknown
    assert '24 (seed, class) pairs' in generated.stdout


def test_training_ran_its_labelling_rounds(pipeline):
    _, work_dir, _ = pipeline
    log = json.load(open(os.path.join(work_dir, 'labelling.json')))
    assert [r['iter'] for r in log['rounds']] == [2, 4, 6]
    assert all(sum(r['selected']) <= r['pool_unlabelled'] for r in log['rounds'])
    assert os.path.isfile(os.path.join(work_dir, 'labelling.png'))
    assert os.path.isfile(os.path.join(work_dir, 'iter_6.pth'))


def test_predictions_land_in_the_work_dir_and_rescore(pipeline):
    tmp, work_dir, (_, _, tested) = pipeline
    path = os.path.join(work_dir, 'predictions.csv')
    rows = list(csv.DictReader(open(path, newline='')))
    assert len(rows) == 24 and {r['kind'] for r in rows} == {'known', 'unknown', 'new'}
    out = str(tmp / 'table.json')
    table = run_tool('analysis_tools/ucdm_table.py', f'UCDM={path}', '--out', out)
    assert_ok(table)
    assert '| UCDM |' in table.stdout and '8 known, 8 unknown, 8 new' in table.stdout
    scored = json.load(open(out))['UCDM']
    for kind in ('known', 'unknown', 'new'):
        mine = [r for r in rows if r['kind'] == kind]
        right = sum(r['open_pred'] == r['gt_label'] for r in mine)
        assert scored[f'open_{kind}'] == pytest.approx(100 * right / len(mine))
    # The test run re-estimated BN on the training pool (the mini config's 'pool' policy) and
    # logged the same numbers through OpenSetMetric.
    assert 'BN statistics re-estimated on the unlabeled pool' in tested.stdout + tested.stderr
    assert f'open_set/balance: {scored["balance"]:.4f}' in tested.stdout + tested.stderr


# Slow and out of the default suite: it passed in three local runs but rank 1 aborted (SIGABRT,
# 2 s into training) once in a fresh-clone CI run on 2026-12-07; the cause is not found yet.
@pytest.mark.slow
def test_two_processes_train_across_the_bn_freeze(pipeline):
    """DDP used to stop at the first step after the freeze ("Expected to have finished
    reduction"); the frozen BN parameters must stay put while the rest trains."""
    tmp, _, _ = pipeline
    work_dir = str(tmp / 'ddp')
    result = run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                  f'--master_port={free_port()}', os.path.join(REPO_ROOT, 'tools', 'train.py'),
                  str(tmp / 'ucdm_toy.py'), '--launcher', 'pytorch', '--work-dir', work_dir,
                  '--cfg-options', 'model.bn_policy.freeze_affine_after=2',
                  'default_hooks.checkpoint.max_keep_ckpts=2'])
    assert_ok(result)
    states = [load_from_local(os.path.join(work_dir, f'iter_{i}.pth'))['state_dict']
              for i in (3, 6)]
    bn = [k for k in states[0] if re.search(r'(norm|bn)\d*\.(weight|bias)$', k)]
    assert bn and all(torch.equal(states[0][k], states[1][k]) for k in bn)
    stem = 'backbone.stem.weight'
    assert not torch.equal(states[0][stem], states[1][stem])


def test_training_refuses_a_cache_of_other_generation_settings(pipeline):
    tmp, work_dir, _ = pipeline
    result = run_tool('train.py', str(tmp / 'ucdm_toy.py'), '--work-dir', str(tmp / 'variant'),
                      '--cfg-options', 'generation.positive.type=RandomPositiveGenerator')
    assert result.returncode != 0
    assert 'the positives in' in result.stderr and 'this config expects' in result.stderr
    assert not os.path.exists(os.path.join(str(tmp / 'variant'), 'iter_3.pth'))


def test_table_tool_refuses_a_missing_file(tmp_path):
    result = run_tool('analysis_tools/ucdm_table.py', f'UCDM={tmp_path}/none.csv')
    assert result.returncode != 0 and 'NAME=PATH of an existing predictions CSV' in result.stderr
