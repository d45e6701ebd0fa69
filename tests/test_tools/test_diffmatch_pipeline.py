"""DiffMatch end to end: the Cityscapes paper config on a tiny Cityscapes-layout folder, and the
mini-world DiffMatch config trained, tested and its checkpoint evaluated by mmseg's own Runner
and IoUMetric (issue 5, section 6; the unit version with a plain DiffMatch checkpoint is in
tests/test_models/test_segmentors/test_diffmatch.py)."""
import copy
import json
import math
import os
import sys

import pytest
import torch
from fixture_files import make_cityscapes
from mmengine.config import Config
from mmengine.runner import Runner
from tool_runner import REPO_ROOT, assert_ok, load_module, run, run_tool

from cdmx.datasets.fashion_scenes import FASHION_SCENES_CLASSES, FASHION_SCENES_PALETTE
from cdmx.utils.setup_env import register_all_modules


def run_tool_main(path: str, monkeypatch, *args: str) -> None:
    """A tool's ``main()`` in this process (a fresh interpreter costs ~10 s here)."""
    module = load_module('tool', os.path.join(REPO_ROOT, path))
    monkeypatch.setattr(sys, 'argv', ['tool', *args])
    module.main()


def edit_pipelines(cfg: Config, **scales) -> None:
    """Set ``scale`` / ``crop_size`` of the transforms named in ``scales`` in every pipeline of
    the train and val loaders (inside wrappers and multi-branch datasets too)."""
    def walk(node):
        if isinstance(node, dict):
            if node.get('type') in scales:
                key = 'crop_size' if 'crop_size' in node else 'scale'
                node[key] = scales[node['type']]
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(cfg.train_dataloader)
    walk(cfg.val_dataloader)


def quiet_loaders(cfg: Config, work_dir: str, max_iters: int) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(num_workers=0, persistent_workers=False)
    cfg.train_cfg.update(max_iters=max_iters, val_interval=max_iters)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'


def test_cityscapes_paper_config_trains_two_iterations(tmp_path, monkeypatch, single_thread):
    root = make_cityscapes(str(tmp_path / 'cityscapes'))  # 16 training images, 2 val, 32x64
    run_tool_main('tools/dataset_converters/make_semi_splits.py', monkeypatch, root, '--layout',
                  'cityscapes', '--fractions', '1/16')
    monkeypatch.setenv('CDMX_CITYSCAPES', root)
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', 'diffmatch', 'cityscapes_r101.py'))
    # The paper setting (issue 5, section 3), as read from the config.
    seg = cfg.model.segmentor
    assert (seg.type, seg.backbone.depth, seg.decode_head.channels) == ('DiffMatch', 101, 256)
    assert cfg.crop_size == (801, 801) and cfg.model.data_preprocessor.data_preprocessor.size \
        == (801, 801)
    assert cfg.train_dataloader.batch_size == 2  # 1 labelled + 1 unlabelled per GPU, 8 GPUs
    assert cfg.train_cfg.max_iters == 240 * 349 and cfg.param_scheduler[0].type == 'PolyLR'
    assert cfg.train_dataloader.dataset.datasets[0].split_file.endswith('1_16/labeled.txt')
    assert (seg.steps, seg.denoiser.num_layers, seg.denoiser.bit_scale, seg.loss.tau) == \
        (3, 4, 0.1, 0.1)
    # Shrunk to run on CPU in seconds: ResNetV1c-18 with 8 base channels, a 16-d embedding and
    # denoiser (still L = 4, 3 levels), 32x32 crops of 32x64 images, no ImageNet weights.
    seg.backbone.update(depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    seg.decode_head.update(in_channels=64, channels=16, c1_in_channels=8, c1_channels=4,
                           dilations=(1, 2, 3, 4))
    seg.denoiser.update(embed_dims=16, num_heads=2, feedforward_channels=32)
    seg.test_cfg.update(crop_size=(32, 32), stride=(21, 21))
    cfg.model.data_preprocessor.data_preprocessor.size = (32, 32)
    edit_pipelines(cfg, RandomResize=(64, 32), CheckedRandomCrop=(32, 32), Resize=(64, 32))
    quiet_loaders(cfg, str(tmp_path / 'work'), max_iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()  # 2 iterations, then validation by sliding windows
    hub = runner.message_hub
    assert math.isfinite(hub.get_scalar('train/loss').current())
    assert hub.get_scalar('train/unsup_pseudo_ratio').current() > 0  # threshold 0: every pixel
    assert 0 <= hub.get_scalar('val/mIoU').current() <= 100
    assert hub.get_scalar('val/mIoU_tail').current() >= 0  # HeadTailIoUMetric ran
    assert os.path.isfile(tmp_path / 'work' / 'iter_2.pth')
    with open(tmp_path / 'work' / 'pseudo_label_stats.json') as f:
        stats = json.load(f)
    assert stats['classes'][0] == 'road' and len(stats['classes']) == 19
    assert [r['iter'] for r in stats['records']] == [2]
    assert sum(stats['records'][0]['pseudo_counts']) > 0
    assert os.path.isfile(tmp_path / 'work' / 'pseudo_label_stats.png')


def to_mmseg_scope(cfg):
    """A cdmx model config written as an mmseg user writes it: default scope ``mmseg``, mmseg's
    types unprefixed, cdmx's models prefixed ``cdmx.`` (the denoiser and the loss are built by
    cdmx's own HEADS / LOSSES and keep their names)."""
    if isinstance(cfg, dict):
        out = {}
        for key, value in cfg.items():
            if key == 'type' and value.startswith('mmseg.'):
                value = value[len('mmseg.'):]
            elif key == 'type' and '.' not in value:
                value = f'cdmx.{value}'
            out[key] = value if key in ('denoiser', 'loss') else to_mmseg_scope(value)
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(to_mmseg_scope(v) for v in cfg)
    return cfg


def test_mini_diffmatch_trains_tests_and_mmseg_evaluates_its_checkpoint(
        fashion_mnist_root, tmp_path, monkeypatch, single_thread):
    scenes = str(tmp_path / 'scenes')
    run_tool_main('tools/dataset_converters/make_fashion_scenes.py', monkeypatch,
                  '--fashion-mnist', fashion_mnist_root, '--external-size', '100', '--out',
                  scenes, '--num-train', '64', '--num-val', '16', '--min-ratio', '0',
                  '--imbalance', '2', '--threshold', '10')
    monkeypatch.setenv('CDMX_FASHION_SCENES', scenes)
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', 'diffmatch',
                                       'fashion-scenes_diffmatch_1-16.py'))
    cfg.model.segmentor.backbone.init_cfg = None  # no converted ImageNet weights in tests
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    work = str(tmp_path / 'work')
    quiet_loaders(cfg, work, max_iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    for key in ('mIoU', 'mIoU_head', 'mIoU_tail', 'ECE'):
        assert 0 <= metrics[key] <= 100, key
    checkpoint = os.path.join(work, 'iter_2.pth')
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    assert any(k.startswith('student.denoiser.') for k in state)
    assert not any(k.startswith('teacher.') for k in state)  # the identical teacher (Sec. 3.1)

    # The trained checkpoint through mmseg's Runner, dataset and IoUMetric only.
    mmseg_cfg = Config(dict(
        default_scope='mmseg', custom_imports=dict(imports=['cdmx'], allow_failed_imports=False),
        model=to_mmseg_scope(model_cfg), work_dir=str(tmp_path / 'mmseg'), load_from=checkpoint,
        test_dataloader=dict(
            batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='BaseSegDataset', data_root=scenes,
                         metainfo=dict(classes=FASHION_SCENES_CLASSES,
                                       palette=FASHION_SCENES_PALETTE),
                         data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                         img_suffix='.png', seg_map_suffix='.png',
                         pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                   dict(type='PackSegInputs')])),
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        test_cfg=dict(type='TestLoop'), env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING'))
    mmseg_runner = Runner.from_cfg(mmseg_cfg)
    mmseg_metrics = mmseg_runner.test()
    loaded = mmseg_runner.model.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k].cpu(), state[k]) for k in state)  # the checkpoint, loaded
    assert 0 <= mmseg_metrics['mIoU'] <= 100 and 'aAcc' in mmseg_metrics


@pytest.mark.slow
def test_mini_command_runs_end_to_end_on_tiny_scenes(tmp_path):
    """tools/diffmatch_mini.sh with MAX_ITERS=2 on 64 training / 32 validation scenes of the real
    Fashion-MNIST (about 2 minutes on 2 cores: nine fresh interpreters)."""
    source = os.environ.get('CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist')
    if not os.path.isfile(os.path.join(source, 't10k-labels-idx1-ubyte.gz')):
        pytest.skip(f'Fashion-MNIST is not in {source} (set CDMX_FASHION_MNIST)')
    scenes, work = str(tmp_path / 'scenes'), str(tmp_path / 'work')
    assert_ok(run_tool('dataset_converters/make_fashion_scenes.py', '--fashion-mnist', source,
                       '--out', scenes, '--num-train', '64', '--num-val', '32', '--min-ratio',
                       '0', '--imbalance', '2'))
    weights = str(tmp_path / 'pretrained')
    result = run(['bash', 'tools/diffmatch_mini.sh'], timeout=900, CDMX_FASHION_SCENES=scenes,
                 CDMX_PRETRAINED=weights, WORK=work, MAX_ITERS='2', PYTHON=sys.executable)
    assert_ok(result)
    assert os.path.isfile(os.path.join(weights, 'mobilenet_v2_mmseg.pth'))  # converted
    table = result.stdout[result.stdout.index('| run |'):]
    for name in ('supervised only', 'discriminative (UniMatch-style)',
                 'DiffMatch without adjustment (tau 0)', 'DiffMatch (tau 0.1)'):
        assert f'| {name} |' in table
    with open(os.path.join(work, 'results.md')) as f:
        assert f.read().count('\n') == 6
    assert os.path.isfile(os.path.join(work, 'diffmatch', 'pseudo_label_stats.png'))
