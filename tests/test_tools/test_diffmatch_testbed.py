"""DiffMatch's testbed flow (issue 17): its configs build and agree where they must, the chain
external-pool extractor -> supervised checkpoint -> an arm trains and tests on tiny scenes, the
gates tool, the timing projection, and (slow) the one-command script."""
import json
import os
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from tool_runner import REPO_ROOT, assert_ok, load_module, run, run_tool

from cdmx.registry import MODELS
from cdmx.utils.setup_env import register_all_modules

CONFIG = os.path.join(REPO_ROOT, 'configs', 'diffmatch', 'fashion-scenes_testbed-{}.py')
ARMS = ('sup-only', 'unimatch', 'dis-baseline', 'diffmatch-noadjust', 'diffmatch',
        'diffmatch-ddp-readout')
gates = load_module('diffmatch_gates', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                                    'diffmatch_gates.py'))
timing = load_module('testbed_timing', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                                    'testbed_timing.py'))


def config(name: str) -> Config:
    return Config.fromfile(CONFIG.format(name))


def without_init(cfg: dict) -> dict:
    """A copy of a model config with every ``init_cfg`` removed (no file is read)."""
    if isinstance(cfg, dict):
        return {k: without_init(v) for k, v in cfg.items() if k != 'init_cfg'}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(without_init(v) for v in cfg)
    return cfg


@pytest.mark.parametrize('name', ('extractor', 'supervised', 'oracle') + ARMS)
def test_every_testbed_config_builds(name):
    register_all_modules()
    model = MODELS.build(without_init(config(name).model.to_dict()))
    num_classes = 10 if name == 'extractor' else 8
    head = model.head if name == 'extractor' else (
        getattr(model, 'student', model).decode_head)
    assert head.num_classes == num_classes


@pytest.mark.parametrize('split', (None, '1_32'))
def test_the_labelled_split_follows_cdmx_testbed_split(split, monkeypatch):
    """Every config that reads labelled scenes takes the split from CDMX_TESTBED_SPLIT (1_16
    unset); the unlabelled list of the same split goes with it."""
    if split:
        monkeypatch.setenv('CDMX_TESTBED_SPLIT', split)
    else:
        monkeypatch.delenv('CDMX_TESTBED_SPLIT', raising=False)
    folder = f'splits/fashion_testbed/{split or "1_16"}'
    assert config('supervised').train_dataloader.dataset.split_file == f'{folder}/labeled.txt'
    for name in ARMS:
        files = [d.split_file for d in config(name).train_dataloader.dataset.datasets]
        assert files == [f'{folder}/labeled.txt', f'{folder}/unlabeled.txt'][:len(files)]


def test_arms_differ_only_in_readout_and_loop():
    cfgs = {name: config(name) for name in ARMS}
    extractor = config('supervised').model
    dis, diffmatch = cfgs['dis-baseline'].model, cfgs['diffmatch'].model
    for name, cfg in cfgs.items():
        student = cfg.model.segmentor
        # the same extractor as the supervised stage, loaded from the seed's checkpoint
        assert student.init_cfg == dict(type='Pretrained', checkpoint=cfg.start_checkpoint)
        assert cfg.start_checkpoint.endswith('supervised/seed_0/start.pth')
        assert {**student.backbone, 'init_cfg': None} == {**extractor.backbone,
                                                         'init_cfg': None}
        assert cfg.train_cfg.max_iters == cfg.arm_iters == cfg.param_scheduler[-1].end
        assert cfg.test_dataloader.dataset.data_prefix.img_path == 'img_dir/val'  # reported
        assert cfg.val_dataloader.dataset.data_prefix.img_path == 'img_dir/dev'  # choices
        if name != 'sup-only':
            assert cfg.model.burn_in_iters == cfg.burn_in_iters
            # every loop equally long; the new readouts burn in longer (chosen on dev)
            assert cfg.arm_iters - cfg.burn_in_iters == cfg.loop_iters == 320
            assert cfg.burn_in_iters == (80 if name == 'unimatch' else 1200)
    # Dis. Baseline = DiffMatch's deformable layers and loop with a classifier readout
    readout, denoiser = dis.segmentor.decode_head.readout, diffmatch.segmentor.denoiser
    for key in ('embed_dims', 'num_layers', 'num_heads', 'num_levels', 'num_points',
                'feedforward_channels'):
        assert readout[key] == denoiser[key], key
    for key in ('teacher', 'confidence_threshold', 'cutmix_prob', 'feature_dropout',
                'unsup_weight', 'burn_in_iters'):
        assert dis[key] == diffmatch[key], key
    assert cfgs['diffmatch-noadjust'].model.segmentor.loss.tau == 0.0
    assert diffmatch.segmentor.loss.tau == 0.1
    assert diffmatch.segmentor.td == 1.0  # Algorithm 3's
    assert 'readout' not in diffmatch.segmentor.denoiser  # MaskDenoiser's: the paper's L2
    # DDP's readout: the same arm but logits scored by cross-entropy (+ the same adjustment)
    ddp = cfgs['diffmatch-ddp-readout'].model.to_dict()
    paper = diffmatch.to_dict()
    assert ddp['segmentor'].pop('denoiser') == {**paper['segmentor'].pop('denoiser'),
                                                'readout': 'logits'}
    assert ddp['segmentor'].pop('loss') == dict(type='DebiasedCrossEntropyLoss', tau=0.1)
    paper['segmentor'].pop('loss')
    assert ddp == paper
    uni = cfgs['unimatch'].model
    assert (uni.confidence_threshold, uni.cutmix_prob) == (0.95, 0.5)  # UniMatch's own loop
    # supervised-only: the labelled source alone, no hook needing pseudo-labels
    loader = cfgs['sup-only'].train_dataloader
    assert [d.split_file for d in loader.dataset.datasets] == [
        'splits/fashion_testbed/1_16/labeled.txt']
    assert cfgs['sup-only'].custom_hooks == []
    metric = cfgs['diffmatch'].test_evaluator[0]
    assert (metric.type, metric.num_head, metric.num_tail) == ('HeadTailIoUMetric', 3, 3)


def test_extractor_weights_fit_the_segmentation_backbone():
    """The pretraining classifier's backbone has the testbed backbone's keys and shapes (the
    strides and dilations differ, the weights do not), so init_cfg prefix='backbone.' loads all
    of it."""
    register_all_modules()
    classifier = MODELS.build(config('extractor').model.to_dict())
    segmentor = MODELS.build(without_init(config('supervised').model.to_dict()))
    pretrained = {k: v.shape for k, v in classifier.backbone.state_dict().items()}
    target = {k: v.shape for k, v in segmentor.backbone.state_dict().items()}
    assert pretrained == target
    assert config('supervised').model.backbone.init_cfg.prefix == 'backbone.'


@pytest.fixture
def tiny_testbed(fashion_mnist_root, tmp_path, monkeypatch):
    out = str(tmp_path / 'testbed')
    tool = load_module('make_fashion_testbed', os.path.join(
        REPO_ROOT, 'tools', 'dataset_converters', 'make_fashion_testbed.py'))
    monkeypatch.setattr(sys, 'argv', [
        'tool', '--fashion-mnist', fashion_mnist_root, '--external-size', '100', '--out', out,
        '--num-train', '64', '--num-dev', '16', '--num-val', '16', '--imbalance', '2',
        '--threshold', '10', '--fractions', '1/4'])
    tool.main()
    monkeypatch.setenv('CDMX_FASHION_TESTBED', out)
    monkeypatch.setenv('CDMX_FASHION_MNIST', fashion_mnist_root)
    return out


def quiet(cfg: Config, work_dir: str, iters: int) -> Config:
    """``iters``-iteration runs in ``work_dir`` on the 1/4 split of the tiny testbed."""
    cfg.work_dir, cfg.log_level = work_dir, 'WARNING'
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    dataset = cfg.train_dataloader.dataset
    for d in dataset.get('datasets', [dataset]):
        if 'split_file' in d:
            d.split_file = d.split_file.replace('1_16', '1_4')
    return cfg


def test_an_arm_starts_from_the_supervised_checkpoint_trains_and_tests(tiny_testbed, tmp_path,
                                                                       single_thread):
    register_all_modules()
    work = str(tmp_path / 'work')
    imagenet = str(tmp_path / 'mobilenet_v2_mmseg.pth')  # the converted ImageNet weights
    converter = load_module('converter', os.path.join(
        REPO_ROOT, 'tools', 'model_converters', 'mobilenetv2_torchvision2mmseg.py'))
    torch.save(converter.convert(torch.load(converter.default_source(), weights_only=True)),
               imagenet)
    extractor = quiet(config('extractor'), f'{work}/extractor', 2)
    extractor.model.backbone.init_cfg.checkpoint = imagenet
    extractor.train_dataloader.update(batch_size=8)
    extractor.train_dataloader.dataset.external_size = 100
    runner = Runner.from_cfg(extractor)
    runner._init_model_weights()
    assert torch.equal(runner.model.backbone.conv1.conv.weight,
                       torch.load(imagenet, weights_only=True)['conv1.conv.weight'])
    runner.train()
    pretrained = f'{work}/extractor/iter_2.pth'

    supervised = quiet(config('supervised'), f'{work}/supervised', 2)
    supervised.model.backbone.init_cfg.checkpoint = pretrained
    runner = Runner.from_cfg(supervised)
    runner._init_model_weights()
    weights = torch.load(pretrained, map_location='cpu', weights_only=True)['state_dict']
    assert torch.equal(runner.model.backbone.conv1.conv.weight,
                       weights['backbone.conv1.conv.weight'])  # the external-pool extractor
    runner.train()
    start = f'{work}/supervised/iter_2.pth'

    arm = quiet(config('diffmatch'), f'{work}/diffmatch', 2)
    arm.model.segmentor.init_cfg.checkpoint = start
    arm.model.burn_in_iters = 1  # iteration 2 runs the loop
    arm.test_dataloader.batch_size = 8
    runner = Runner.from_cfg(arm)
    runner._init_model_weights()
    weights = torch.load(start, map_location='cpu', weights_only=True)['state_dict']
    student = runner.model.student
    for key in ('backbone.conv1.conv.weight', 'decode_head.bottleneck.conv.weight'):
        assert torch.equal(student.state_dict()[key], weights[key]), key
    assert not any(key.startswith('denoiser.') for key in weights)  # the new readout
    assert int(runner.model.train_iters) == 0  # the burn-in counts from the arm's start
    runner.train()
    hub = runner.message_hub
    assert hub.get_scalar('train/unsup_pseudo_ratio').current() >= 0  # the loop ran
    metrics = runner.test()
    for key in ('mIoU', 'mIoU_head', 'mIoU_tail', 'ECE', 'IoU.Top'):
        assert 0 <= metrics[key] <= 100, key
    with open(f'{work}/diffmatch/pseudo_label_stats.json') as f:
        stats = json.load(f)
    last = stats['records'][-1]
    assert sum(last['pseudo_gt_counts']) > 0  # the unlabelled ground truth, for Figs. 1 and 8
    assert os.path.isfile(f'{work}/diffmatch/pseudo_label_stats.png')


def summary(oracle=72.0, tail=20.0, sup=50.0, uni=54.0):
    def entry(mean):
        return dict(mean=mean, std=1.0, n=3, ci_low=mean - 2, ci_high=mean + 2)
    return {'summary': {'oracle': {'mIoU': entry(oracle)},
                        'sup-only': {'mIoU': entry(sup), 'mIoU_tail': entry(tail)},
                        'unimatch': {'mIoU': entry(uni)}}}


@pytest.mark.parametrize('values,met', [
    (dict(), [True, True, True]),
    (dict(oracle=69.9), [False, True, True]),
    (dict(tail=35.5), [True, False, True]),
    (dict(tail=14.0), [True, False, True]),
    (dict(uni=52.9), [True, True, False]),
])
def test_gates_are_the_issue_s_three_thresholds(values, met, tmp_path, capsys):
    path = tmp_path / 'gates.json'
    path.write_text(json.dumps(summary(**values)))
    status = gates.main([str(path)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.endswith(': met') for line in lines] == met
    assert status == (0 if all(met) else 1)
    assert 'gain +' in lines[2] or 'gain -' in lines[2]


def test_gates_name_a_missing_run(tmp_path):
    path = tmp_path / 'gates.json'
    record = summary()
    del record['summary']['oracle']
    path.write_text(json.dumps(record))
    with pytest.raises(Exception, match="no run named 'oracle'"):
        gates.main([str(path)])


def test_makespan_is_greedy_over_lanes():
    assert timing.makespan([3, 3, 3], 2) == 6
    assert timing.makespan([5, 1, 1, 1], 2) == 5
    assert timing.makespan([2, 2], 1) == 4


def write_timed_run(folder, times, wall):
    os.makedirs(os.path.join(folder, '20260101_000000', 'vis_data'))
    with open(os.path.join(folder, '20260101_000000', 'vis_data', 'scalars.json'), 'w') as f:
        for i, t in enumerate(times, 1):
            f.write(json.dumps(dict(iter=i, time=t, lr=0.001)) + '\n')
    with open(os.path.join(folder, 'wall_seconds'), 'w') as f:
        f.write(str(wall))


def test_timing_projection_from_synthetic_runs(tmp_path, monkeypatch, capsys):
    """Every training run: 4 iterations, the first slow (5 s), then 1 s; wall 20 s ->
    1 s/iteration, overhead 20 - 8 = 12 s. Tests: 16-scene batches of 1.6 s (0.1 s a scene),
    wall 10 s for 16 scenes -> overhead 8.4 s."""
    for name in timing.TRAIN_RUNS:
        write_timed_run(str(tmp_path / name), [5, 1, 1, 1], 20)
    for name in timing.TEST_RUNS:
        folder = tmp_path / name / '20260101_000000'
        folder.mkdir(parents=True)
        (folder / '20260101_000000.log').write_text(
            'x - mmengine - INFO - Iter(test) [1/1]    time: 1.6000  data_time: 0.1\n')
        (tmp_path / name / 'num_images').write_text('16')
        (tmp_path / name / 'wall_seconds').write_text('10')
    monkeypatch.setattr(timing, 'schedule', lambda: dict(
        sup=10, arm=10, burn_in=2, readout_arm=14, readout_burn_in=6, oracle=20, extractor=30))
    timing.main([str(tmp_path), '--seeds', '2', '--val-scenes', '100', '--skip', '1',
                 '--scenes-seconds', '60'])
    out = capsys.readouterr().out
    # a run: 12 s + iterations x 1 s, then a test of 8.4 + 100 x 0.1 = 18.4 s
    # stage 1: supervised 40.4 s, oracle 50.4 s, 2 seeds each on 2 lanes: 90.8 s
    # stage 2: sup-only 40.4, UniMatch 40.4 (burn-in at the same rate): 80.8 s
    # stage 3: four arms of 14 iterations, 44.4 s, 2 seeds each: 8 runs on 2 lanes = 177.6 s
    # total 60 + (12 + 30) + 90.8 + 80.8 + 177.6 = 451.2 s = 7.5 min
    assert 'total 7.5 min' in out
    assert 'one oracle run (train + test): 0.8 min' in out


@pytest.mark.slow
def test_testbed_command_runs_end_to_end_on_small_scenes(tmp_path):
    """tools/diffmatch_testbed.sh with MAX_ITERS=2 and two seeds on 320 training scenes of the
    real Fashion-MNIST (6 minutes on 2 idle cores, 11 beside another job: every stage in fresh
    interpreters)."""
    source = os.environ.get('CDMX_FASHION_MNIST', '/usr/share/datasets/fashion-mnist')
    if not os.path.isfile(os.path.join(source, 't10k-labels-idx1-ubyte.gz')):
        pytest.skip(f'Fashion-MNIST is not in {source} (set CDMX_FASHION_MNIST)')
    scenes, work = str(tmp_path / 'scenes'), str(tmp_path / 'work')
    assert_ok(run_tool('dataset_converters/make_fashion_testbed.py', '--fashion-mnist', source,
                       '--out', scenes, '--num-train', '320', '--num-dev', '32', '--num-val',
                       '32', '--imbalance', '1', '--fractions', '1/16'))
    result = run(['bash', 'tools/diffmatch_testbed.sh'], timeout=1200,
                 CDMX_FASHION_TESTBED=scenes, CDMX_PRETRAINED=str(tmp_path / 'pretrained'),
                 CDMX_FASHION_MNIST=source, WORK=work, MAX_ITERS='2', SEEDS='0 1',
                 FORCE_TABLE='1', ALPHAS='0.5', PYTHON=sys.executable)
    assert_ok(result)
    assert 'gate 1: full-label oracle mIoU' in result.stdout
    for name in ('gates', 'table'):
        for ext in ('md', 'json', 'png'):
            assert os.path.isfile(os.path.join(work, f'{name}.{ext}'))
    with open(os.path.join(work, 'table.json')) as f:
        table = json.load(f)
    assert list(table['summary']) == [*ARMS, 'dis-baseline+posthoc', 'diffmatch+posthoc']
    assert [(d['reference'], d['other']) for d in table['differences']] == [
        ('sup-only', 'unimatch'), ('dis-baseline', 'diffmatch-noadjust'),
        ('diffmatch-noadjust', 'diffmatch'), ('sup-only', 'diffmatch'),
        ('diffmatch', 'diffmatch-ddp-readout'), ('dis-baseline', 'diffmatch-ddp-readout'),
        ('dis-baseline', 'dis-baseline+posthoc'),
        ('diffmatch', 'diffmatch+posthoc')]
    # the post-hoc correction: alpha 0 and 0.5 on dev, trained checkpoints tested, not retrained
    for arm, knob in (('dis-baseline', 'logit_adjust'), ('diffmatch', 'debias_sampling')):
        with open(os.path.join(work, f'dev_{arm}.json')) as f:
            assert list(json.load(f)['summary']) == [f'{arm}-a0', f'{arm}-a0.5']
        log = open(os.path.join(work, f'{arm}+posthoc', 'seed_1', 'seeds.log')).read()
        assert 'tools/train.py' not in log and f'{arm}/seed_1/last_checkpoint' in log
        assert 'img_dir/dev' in open(os.path.join(work, 'dev', f'{arm}-a0.5', 'seed_1',
                                                  'seeds.log')).read()
        assert f'model.segmentor.{knob}=' in log
    for arm in ARMS[1:]:
        assert os.path.isfile(os.path.join(work, f'pseudo_labels_{arm}.png'))
    for seed in (0, 1):  # each seed's arms started from that seed's supervised checkpoint
        log = open(os.path.join(work, 'diffmatch', f'seed_{seed}', 'seeds.log')).read()
        assert f'supervised/seed_{seed}/start.pth' in log
