"""GDUI's clustering tools: train (EM stage) -> export_clusters -> select_reliable, on a tiny
Fashion-MNIST pool and a tiny ResNet. The tools run in this interpreter (``runpy``, with the
command line in ``sys.argv``): three fresh interpreters would take most of a minute."""
import json
import os
import runpy
import sys

import numpy as np
import pytest
from fixture_files import make_fashion_mnist
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from tool_runner import REPO_ROOT

from cdmx.registry import DATASETS
from cdmx.utils.setup_env import register_all_modules

# A 2-iteration EM stage on a 4-channel ResNet-18 without MoCo weights.
TINY_SELF = """_base_ = ['{repo}/configs/gdui/spice-self_resnet18-w16_fashion-mnist-pool.py']
model = dict(backbone=dict(stem_channels=4, base_channels=4, init_cfg=None),
             head=dict(in_channels=32, num_heads=2))
train_dataloader = dict(batch_size=50)
pool_dataloader = dict(batch_size=50)
val_dataloader = dict(batch_size=50)
max_iters = 2
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
"""
TINY_JOINT = """_base_ = ['{repo}/configs/gdui/spice-joint_resnet18-w16_fashion-mnist-pool.py']
pseudo_labeler = dict(num_neighbors=5, threshold=0.2)
"""


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp('gdui_tools')
    # 10,100 train images: the external pool takes 10,000, the train pool keeps 100.
    root = make_fashion_mnist(str(folder / 'fm'), num_train=10100, num_test=10)
    configs = {}
    for name, text in (('tiny_self.py', TINY_SELF), ('tiny_joint.py', TINY_JOINT)):
        configs[name] = str(folder / name)
        with open(configs[name], 'w', encoding='utf-8') as f:
            f.write(text.format(repo=REPO_ROOT))
    return folder, root, configs


def run_main(monkeypatch, tool: str, *args: str) -> None:
    """``python tools/<tool> args...`` in this interpreter (exit status 2 raises SystemExit)."""
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    runpy.run_path(os.path.join(REPO_ROOT, 'tools', tool), run_name='__main__')


def test_train_export_and_select_reliable(setup, monkeypatch, single_thread):
    folder, root, configs = setup
    monkeypatch.setenv('CDMX_FASHION_MNIST', root)
    cfg = Config.fromfile(configs['tiny_self.py'])
    cfg.work_dir = str(folder / 'self')
    Runner.from_cfg(cfg).train()
    assert os.path.isfile(folder / 'self' / 'iter_2.pth')
    out = folder / 'pseudo_labels'
    run_main(monkeypatch, 'gdui/export_clusters.py', configs['tiny_self.py'],
             str(folder / 'self' / 'last_checkpoint'), '--out', str(out))
    probs = np.load(out / 'probs.npy', allow_pickle=False)
    features = np.load(out / 'features.npy', allow_pickle=False)
    meta = json.loads((out / 'clusters.json').read_text())
    assert probs.shape == (100, 10) and features.shape == (100, 32)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert meta['labels'] == probs.argmax(axis=1).tolist() and meta['num_samples'] == 100
    assert set(meta['evaluation']) == {'accuracy', 'nmi', 'ari'}

    reliable = folder / 'reliable.json'
    run_main(monkeypatch, 'gdui/select_reliable.py', configs['tiny_joint.py'], '--pseudo-labels',
             str(out), '--out', str(reliable))
    content = json.loads(reliable.read_text())
    assert content['num_samples'] == 100 and content['num_clusters'] == 10
    assert len(content['indices']) == len(content['labels']) > 0
    assert content['labeler']['type'] == 'ReliableSampleLabeler'
    assert all(meta['labels'][i] == label
               for i, label in zip(content['indices'], content['labels']))


def test_export_refuses_a_config_without_a_cluster_model(setup, monkeypatch, capsys):
    folder, root, _ = setup
    monkeypatch.setenv('CDMX_FASHION_MNIST', root)
    with pytest.raises(SystemExit) as exit_info:
        run_main(monkeypatch, 'gdui/export_clusters.py',
                 os.path.join(REPO_ROOT, 'configs/gdui/mocov2_resnet18-w16_fashion-mnist-pool.py'),
                 str(folder / 'absent.pth'))
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'builds MoCo, not a ClusterModel' in last


def test_joint_training_set_yields_weak_and_strong_views_with_pseudo_labels(setup, tmp_path,
                                                                            monkeypatch):
    _, root, configs = setup
    monkeypatch.setenv('CDMX_FASHION_MNIST', root)
    reliable = tmp_path / 'reliable.json'
    reliable.write_text(json.dumps(dict(num_samples=100, num_clusters=10, indices=[3],
                                        labels=[7])))
    register_all_modules(init_default_scope=False)
    init_default_scope('cdmx')
    cfg = Config.fromfile(configs['tiny_joint.py'])
    cfg.train_dataloader.dataset.reliable_file = str(reliable)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    item = dataset[3]
    weak, strong = item['inputs']
    assert weak.shape == strong.shape == (3, 32, 32)
    assert item['data_samples'].pseudo_label == 7 and dataset[0]['data_samples'].pseudo_label == -1
