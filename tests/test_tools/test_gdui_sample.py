"""tools/gdui/sample.py on the mini-world configs, with models trained for two iterations."""
import json
import os
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

from cdmx.utils.errors import CdmxError

TOOL = 'gdui/sample.py'
GDUI = os.path.join(REPO_ROOT, 'configs', 'gdui')


def train_two_iterations(config: str, work_dir: str, data_root: str, **options) -> str:
    """Train a mini-world config for two iterations on the fixture data (train pool: 500
    images); return its last_checkpoint."""
    cfg = Config.fromfile(os.path.join(GDUI, config))
    cfg.merge_from_dict({'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
                         'train_dataloader.batch_size': 4, 'default_hooks.checkpoint.interval': 2,
                         'param_scheduler': [], 'custom_hooks': [], **options})
    dataset = cfg.train_dataloader.dataset
    (dataset.get('dataset') or dataset).update(data_root=data_root, external_size=100)
    if 'val_dataloader' in cfg:
        cfg.val_dataloader.dataset.data_root = data_root
    cfg.work_dir = work_dir
    Runner.from_cfg(cfg).train()
    return os.path.join(work_dir, 'last_checkpoint')


@pytest.fixture(scope='module')
def checkpoints(fashion_mnist_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('gdui_models')
    labels = {'class_names': ['Trouser', 'T-shirt/top', 'Pullover', 'Dress', 'Coat', 'Sandal',
                              'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
              'labels': [i % 10 for i in range(500)]}  # 600 fixture train images, 100 external
    (root / 'labels.json').write_text(json.dumps(labels))
    unet = train_two_iterations('unet_fashion-mnist-mini.py', str(root / 'unet'),
                                fashion_mnist_root)
    classifier = train_two_iterations(
        'noisy-classifier_fashion-mnist-mini_pseudo-labels.py', str(root / 'classifier'),
        fashion_mnist_root, **{'train_dataloader.dataset.labels_file': str(root / 'labels.json')})
    return unet, classifier


def test_guided_sampling_writes_grids_and_arrays(checkpoints, tmp_path):
    unet, classifier = checkpoints
    out = tmp_path / 'guided'
    result = run_tool(TOOL, 'configs/gdui/sample_fashion-mnist-mini_pseudo-labels.py',
                      '--unet-checkpoint', unet, '--classifier-checkpoint', classifier,
                      '--out-dir', str(out), '--classes', 'T-shirt/top', '8', '--num-per-class',
                      '3', '--batch-size', '2', '--steps', '3')
    assert_ok(result)
    assert 'wrote 6 images' in result.stdout
    manifest = json.loads((out / 'manifest.json').read_text())
    assert manifest['scale'] == 2.0 and manifest['num_inference_steps'] == 3
    assert sorted(manifest['files']) == ['Bag', 'T-shirt/top']
    for stem in ('T_shirt_top', 'Bag'):
        images = np.load(out / f'{stem}.npy', allow_pickle=False)
        assert images.dtype == np.uint8 and images.shape == (3, 28, 28, 1)
        assert Image.open(out / f'{stem}.png').size[0] > 100
    samples = np.load(out / 'samples.npy', allow_pickle=False)
    labels = np.load(out / 'labels.npy', allow_pickle=False)
    assert samples.shape == (6, 28, 28, 1) and labels.tolist() == [0, 0, 0, 8, 8, 8]
    # Sample j of every class starts from the same noise; guidance makes them differ.
    assert not np.array_equal(samples[:3], samples[3:])


def test_unconditional_sampling_and_bad_input(checkpoints, tmp_path):
    unet, _ = checkpoints
    out = tmp_path / 'unconditional'
    result = run_tool(TOOL, 'configs/gdui/sample_fashion-mnist-mini_unconditional.py',
                      '--unet-checkpoint', unet, '--out-dir', str(out), '--num-samples', '2',
                      '--steps', '2')
    assert_ok(result)
    images = np.load(out / 'unconditional.npy', allow_pickle=False)
    assert images.shape == (2, 28, 28, 1) and (out / 'unconditional.png').is_file()
    assert np.load(out / 'labels.npy').tolist() == [-1, -1]


def test_bad_input_is_one_sentence(checkpoints, tmp_path, monkeypatch):
    tool = load_module('gdui_sample', os.path.join(REPO_ROOT, 'tools', TOOL))
    config = os.path.join(GDUI, 'sample_fashion-mnist-mini_pseudo-labels.py')
    for extra, match in (([], '--classifier-checkpoint'),
                         (['--classifier-checkpoint', checkpoints[1], '--classes', 'Hat'],
                          "'Hat' is not among")):
        monkeypatch.setattr(sys, 'argv', ['sample.py', config, '--unet-checkpoint',
                                          checkpoints[0], '--out-dir', str(tmp_path), *extra])
        with pytest.raises(CdmxError, match=match):
            tool.main()
