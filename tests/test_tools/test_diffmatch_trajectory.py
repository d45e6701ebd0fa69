"""tools/visualization/diffmatch_trajectory.py on a tiny DiffMatch and a two-image test set."""
import os
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from tool_runner import REPO_ROOT, load_module

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

HERE = os.path.dirname(os.path.abspath(__file__))


# The segmentor tests' tiny models and toy scenes (ResNetV1c-18 with 8 base channels, 3 classes).
tiny = load_module('tiny_segmentors', os.path.join(
    os.path.dirname(HERE), 'test_models', 'test_segmentors', 'tiny_segmentors.py'))
TOOL = os.path.join(REPO_ROOT, 'tools', 'visualization', 'diffmatch_trajectory.py')


@pytest.fixture
def tiny_setup(tmp_path, single_thread):
    """A config file (tiny DiffMatch, two 32x32 toy scenes as mmseg's BaseSegDataset) and a
    checkpoint of the model's initial weights."""
    root = tmp_path / 'data'
    for folder in ('img', 'ann'):
        os.makedirs(root / folder)
    for i in range(2):
        image, label = tiny.toy_scene(i)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(root / 'img' / f'{i}.png')
        Image.fromarray(label.numpy().astype(np.uint8)).save(root / 'ann' / f'{i}.png')
    test_dataloader = dict(
        batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='mmseg.BaseSegDataset', data_root=str(root),
                     metainfo=dict(classes=('background', 'bright', 'dark'),
                                   palette=[[0, 0, 0], [255, 255, 255], [200, 0, 0]]),
                     data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
                     seg_map_suffix='.png',
                     pipeline=[dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations'),
                               dict(type='mmseg.PackSegInputs')]))

    def write(model_cfg, name: str):
        config = str(tmp_path / f'{name}.py')
        Config(dict(default_scope='cdmx', model=model_cfg.to_dict(),
                    test_dataloader=test_dataloader)).dump(config)
        init_default_scope('cdmx')
        torch.manual_seed(0)
        checkpoint = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=MODELS.build(model_cfg).state_dict(), meta={}), checkpoint)
        return config, checkpoint

    return write


def run(monkeypatch, *args: str):
    monkeypatch.setattr(sys, 'argv', ['tool', *args])
    load_module('diffmatch_trajectory', TOOL).main()


def test_trajectory_grid_has_a_column_per_step(tiny_setup, tmp_path, monkeypatch, capsys):
    config, checkpoint = tiny_setup(tiny.diffmatch_cfg(), 'diffmatch')
    for steps, columns in ((None, 5), ('2', 4)):  # image, steps 1..S, ground truth
        out = str(tmp_path / f'trajectory_{steps}.png')
        run(monkeypatch, config, checkpoint, '--out', out, *(('--steps', steps) if steps else ()))
        assert f'2 images over {columns - 2} steps' in capsys.readouterr().out
        width, height = Image.open(out).size
        assert (width, height) == (round(220 * columns), round(100 * (2.2 * 2 + 0.3)))


def test_trajectory_refuses_a_discriminative_model_and_bad_indices(tiny_setup, monkeypatch,
                                                                   tmp_path):
    config, checkpoint = tiny_setup(tiny.baseline_cfg(), 'baseline')
    with pytest.raises(CdmxError, match='has no diffusion trajectory'):
        run(monkeypatch, config, checkpoint, '--out', str(tmp_path / 'x.png'))
    config, checkpoint = tiny_setup(tiny.diffmatch_cfg(), 'diffmatch')
    with pytest.raises(CdmxError, match=r'images \[5\] are not in the test set of 2'):
        run(monkeypatch, config, checkpoint, '--indices', '5')
