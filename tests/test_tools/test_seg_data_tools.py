"""The segmentation data tools: MobileNetV2 weight converter, semi-supervised split writer and
the mini world's scene writer (its full run is in tests/test_datasets/test_fashion_scenes.py)."""
import json
import os
import sys

import numpy as np
import pytest
import torch
import torchvision
from fixture_files import make_cityscapes
from mmseg.models.backbones import MobileNetV2
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

from cdmx.utils.errors import CdmxError


def load_tool(path: str):
    return load_module('tool', os.path.join(REPO_ROOT, path))


@pytest.fixture(scope='module')
def torchvision_checkpoint(tmp_path_factory):
    """A randomly initialised torchvision MobileNetV2 with random BN statistics, saved."""
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    path = str(tmp_path_factory.mktemp('mobilenet') / 'mobilenet_v2.pth')
    torch.save(model.state_dict(), path)
    return path, model.eval()


def test_converted_weights_give_torchvision_features(torchvision_checkpoint, single_thread):
    path, reference = torchvision_checkpoint
    converter = load_tool('tools/model_converters/mobilenetv2_torchvision2mmseg.py')
    converted = converter.convert(torch.load(path, weights_only=True))
    backbone = MobileNetV2(out_indices=(2, 6))
    backbone.load_state_dict(converted, strict=True)
    backbone.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        low, high = backbone(x)
        assert torch.allclose(low, reference.features[:7](x), atol=1e-5)  # 1/8 scale, 32 ch
        assert torch.allclose(high, reference.features[:18](x), atol=1e-5)  # 320 channels
    assert high.shape == (1, 320, 2, 2)


def test_converter_refuses_other_checkpoints(torchvision_checkpoint):
    converter = load_tool('tools/model_converters/mobilenetv2_torchvision2mmseg.py')
    state = torch.load(torchvision_checkpoint[0], weights_only=True)
    with pytest.raises(CdmxError, match='is not one of torchvision MobileNetV2'):
        converter.convert({**state, 'head.fc.weight': torch.zeros(1)})
    small = torchvision.models.mobilenet_v2(width_mult=0.5).state_dict()
    with pytest.raises(CdmxError, match='do not match mmseg MobileNetV2'):
        converter.convert(small)


def test_converter_command_line(torchvision_checkpoint, tmp_path):
    out = str(tmp_path / 'mmseg_mobilenet_v2.pth')
    result = run_tool('model_converters/mobilenetv2_torchvision2mmseg.py',
                      torchvision_checkpoint[0], out)
    assert_ok(result)
    assert '306 tensors' in result.stdout
    state = torch.load(out, weights_only=True)['state_dict']
    MobileNetV2().load_state_dict(state, strict=True)


def run_main(module, monkeypatch, *args):
    """A tool's ``main()`` in this process (a fresh interpreter per case costs ~10 s here)."""
    monkeypatch.setattr(sys, 'argv', ['tool', *args])
    module.main()


def test_converter_reports_a_missing_checkpoint(tmp_path, monkeypatch):
    converter = load_tool('tools/model_converters/mobilenetv2_torchvision2mmseg.py')
    with pytest.raises(CdmxError, match='none.pth does not exist'):
        run_main(converter, monkeypatch, str(tmp_path / 'none.pth'), str(tmp_path / 'out.pth'))


def test_split_tool_writes_cityscapes_splits_and_pixel_counts(tmp_path):
    root = make_cityscapes(str(tmp_path / 'cityscapes'), per_city=16)
    result = run_tool('dataset_converters/make_semi_splits.py', root, '--layout', 'cityscapes',
                      '--count-pixels')
    assert_ok(result)
    assert '1_16: 2 labelled, 30 unlabelled' in result.stdout
    folder = os.path.join(root, 'splits', 'cityscapes')
    assert sorted(os.listdir(folder)) == ['1_16', '1_2', '1_4', '1_8',
                                          'class_pixel_counts.json']
    with open(os.path.join(folder, '1_2', 'labeled.txt')) as f:
        assert len(f.read().splitlines()) == 16
    with open(os.path.join(folder, 'class_pixel_counts.json')) as f:
        counts = json.load(f)
    assert len(counts['class_pixel_counts']) == 19 and counts['classes'][0] == 'road'
    # 32 images of 32x64 pixels; the rest of the pixels are the ignore index
    assert 0 < sum(counts['class_pixel_counts']) <= 32 * 32 * 64


def test_split_tool_is_deterministic_and_reports_bad_input(tmp_path, monkeypatch):
    splitter = load_tool('tools/dataset_converters/make_semi_splits.py')
    root = make_cityscapes(str(tmp_path / 'cityscapes'), per_city=4)
    for out in ('a', 'b'):
        run_main(splitter, monkeypatch, root, '--layout', 'cityscapes', '--out',
                 str(tmp_path / out))
    for name in ('labeled.txt', 'unlabeled.txt'):
        with open(tmp_path / 'a' / '1_4' / name) as a, open(tmp_path / 'b' / '1_4' / name) as b:
            assert a.read() == b.read()  # same seed, same split
    with pytest.raises(CdmxError, match='no cityscapes training image'):
        run_main(splitter, monkeypatch, str(tmp_path / 'a'), '--layout', 'cityscapes')
    label = os.path.join(root, 'gtFine', 'train', 'jena',
                         'jena_000000_000001_gtFine_labelTrainIds.png')
    os.rename(label, label + '.moved')
    with pytest.raises(CdmxError, match='1 images under .* have no label map'):
        run_main(splitter, monkeypatch, root, '--layout', 'cityscapes')
    os.rename(label + '.moved', label)
    Image.fromarray(np.full((4, 4), 40, np.uint8)).save(label)
    with pytest.raises(CdmxError, match=r'values \[40\] outside the 19 classes'):
        run_main(splitter, monkeypatch, root, '--layout', 'cityscapes', '--count-pixels',
                 '--fractions', '1/2')


def test_scene_tool_refuses_a_weak_long_tail(fashion_mnist_root, tmp_path, monkeypatch):
    scenes = load_tool('tools/dataset_converters/make_fashion_scenes.py')
    common = ['--fashion-mnist', fashion_mnist_root, '--external-size', '100', '--num-val',
              '40', '--threshold', '10', '--overwrite', '--out', str(tmp_path)]
    with pytest.raises(CdmxError, match='head:tail pixel ratio of .* raise --imbalance'):
        run_main(scenes, monkeypatch, *common, '--num-train', '200', '--imbalance', '1')
    with pytest.raises(CdmxError, match='the train scenes have no pixel of'):
        run_main(scenes, monkeypatch, *common, '--num-train', '2')
