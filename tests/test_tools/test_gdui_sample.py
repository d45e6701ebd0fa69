"""tools/gdui/sample.py on the mini-world configs, with models trained for two iterations."""
import json
import os
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image
from tool_runner import REPO_ROOT, assert_ok, load_module, run_tool

from cdmx.utils.checkpoint import load_from_local
from cdmx.utils.cli import resolve_checkpoint
from cdmx.utils.errors import CdmxError
from cdmx.utils.training_meta import TRAINING_META_KEY

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


def sample_tool():
    return load_module('gdui_sample', os.path.join(REPO_ROOT, 'tools', TOOL))


def run_main(tool, monkeypatch, config: str, *argv: str) -> None:
    monkeypatch.setattr(sys, 'argv', ['sample.py', os.path.join(GDUI, config), *argv])
    tool.main()


def test_the_checkpoints_record_what_they_were_trained_on(checkpoints):
    """The mini configs' Runner writes TrainingMetaHook's record (configs/_base_ runtime)."""
    for checkpoint in checkpoints:
        record = load_from_local(resolve_checkpoint(checkpoint))['meta'][TRAINING_META_KEY]
        assert record['input_shape'] == [1, 28, 28]
        assert record['noise_scheduler']['num_train_timesteps'] == 500


def test_noise_indices_are_run_wide():
    tool = sample_tool()
    assert [tool.noise_index(c, j, 50) for c, j in ((0, 0), (0, 49), (1, 0), (9, 49))] == \
        [0, 49, 50, 499]
    assert tool.noise_index(-1, 7, 500) == 7  # unconditional sample 7
    first, second = (torch.randn(4, generator=g)
                     for g in tool.noise_generators(0, [3, 53], 'cpu'))  # j = 3 of classes 0, 1
    assert not torch.equal(first, second)


def test_every_sample_has_its_own_noise_and_runs_repeat(checkpoints, tmp_path, monkeypatch):
    """The initial noise x_T of every sample of a guided run differs (two classes of three);
    an unconditional run of as many samples uses the same six noises; a run repeats exactly
    with its seed."""
    tool = sample_tool()
    original, drawn = tool.noise_generators, []

    def recording(seed, indices, device):  # x_T of each sample, drawn from a copy of its
        generators = original(seed, indices, device)  # generator as the sampler draws it
        drawn.append([torch.randn((1, 1, 28, 28), generator=torch.Generator().set_state(
            g.get_state())) for g in generators])
        return generators

    monkeypatch.setattr(tool, 'noise_generators', recording)
    unet, classifier = checkpoints
    guided = ('sample_fashion-mnist-mini_pseudo-labels.py', '--unet-checkpoint', unet,
              '--classifier-checkpoint', classifier, '--classes', '0', '1', '--num-per-class',
              '3', '--batch-size', '2', '--steps', '2')
    run_main(tool, monkeypatch, *guided, '--out-dir', str(tmp_path / 'a'))
    noises = [x for batch in drawn for x in batch]
    assert len(noises) == 6 and len({x.numpy().tobytes() for x in noises}) == 6
    first_class, second_class = noises[:3], noises[3:]
    assert all(not torch.equal(a, b) for a in first_class for b in second_class)

    drawn.clear()
    run_main(tool, monkeypatch, 'sample_fashion-mnist-mini_unconditional.py', '--unet-checkpoint',
             unet, '--num-samples', '6', '--batch-size', '4', '--steps', '2', '--out-dir',
             str(tmp_path / 'unconditional'))
    assert torch.equal(torch.cat([x for batch in drawn for x in batch]), torch.cat(noises))

    run_main(tool, monkeypatch, *guided, '--out-dir', str(tmp_path / 'b'))
    run_main(tool, monkeypatch, *guided, '--seed', '1', '--out-dir', str(tmp_path / 'c'))
    samples = {run: np.load(tmp_path / run / 'samples.npy') for run in 'abc'}
    assert np.array_equal(samples['a'], samples['b'])
    assert not np.array_equal(samples['a'], samples['c'])


def altered_checkpoint(checkpoint: str, path, **record) -> str:
    """A copy of ``checkpoint`` whose training record has the given entries changed."""
    state = load_from_local(resolve_checkpoint(checkpoint))
    state['meta'][TRAINING_META_KEY].update(record)
    torch.save(state, path)
    return str(path)


def test_bad_input_is_one_sentence(checkpoints, tmp_path, monkeypatch):
    tool = sample_tool()
    unet, classifier = checkpoints
    state = load_from_local(resolve_checkpoint(classifier))
    schedule = state['meta'][TRAINING_META_KEY]['noise_scheduler']
    bigger = altered_checkpoint(classifier, tmp_path / 'bigger.pth', input_shape=[1, 32, 32])
    other = altered_checkpoint(classifier, tmp_path / 'other.pth',
                               noise_scheduler=dict(schedule, beta_end=0.02))
    classes = list(state['meta']['dataset_meta']['classes'])
    assert classes[:2] == ['T-shirt/top', 'Trouser']  # the config's class_names
    state['meta']['dataset_meta']['classes'] = [classes[1], classes[0], *classes[2:]]
    swapped = str(tmp_path / 'swapped.pth')  # trained on labels of another class order
    torch.save(state, swapped)
    out = tmp_path / 'out'
    for extra, match in (
            ([], '--classifier-checkpoint'),
            (['--classifier-checkpoint', classifier, '--classes', 'Hat'], "'Hat' is not among"),
            (['--classifier-checkpoint', classifier, '--scale', '-1'], 'finite number >= 0'),
            (['--classifier-checkpoint', classifier, '--scale', 'nan'], 'finite number >= 0'),
            (['--classifier-checkpoint', classifier, '--scale', 'inf'], 'finite number >= 0'),
            (['--classifier-checkpoint', bigger], 'trained on 1x32x32 images but the UNet '
             'samples 1x28x28'),
            (['--classifier-checkpoint', other], 'trained with another noise schedule'),
            (['--classifier-checkpoint', swapped], r"trained on classes \['Trouser', "
             r"'T-shirt/top'.* but the config names \['T-shirt/top', 'Trouser'"),
            (['--classifier-checkpoint', classifier, '--seed', '-1'], 'seed is -1')):
        with pytest.raises(CdmxError, match=match):
            run_main(tool, monkeypatch, 'sample_fashion-mnist-mini_pseudo-labels.py',
                     '--unet-checkpoint', unet, '--out-dir', str(out), *extra)
        assert not out.exists()  # nothing written


def write_sweep(path, **changes) -> str:
    """A guidance_sweep.json as tools/analysis_tools/gdui_guidance_sweep.py writes it."""
    sweep = dict(scales=[0.0, 2.0, 3.5], FID=[40.0, 30.0, 25.0], chosen_scale=3.5,
                 rule='lowest dev FID; ties go to the smaller scale', num_samples=20,
                 num_reference=30, reference='refs/dev (dev part of 30 images, seed 0)',
                 classifier_checkpoint='clf.pth')
    sweep.update(changes)
    path.write_text(json.dumps({k: v for k, v in sweep.items() if v is not None}))
    return str(path)


def test_the_scale_of_a_sweep_and_its_record(tmp_path):
    scale, source = sample_tool().scale_from_sweep(write_sweep(tmp_path / 's.json'))
    assert scale == 3.5 and source['by'] == 'sweep' and source['sweep'] == str(tmp_path / 's.json')
    assert source['text'] == (
        f"chosen by the guidance-scale sweep {tmp_path / 's.json'} (guidance by clf.pth): lowest "
        'dev FID; ties go to the smaller scale, over s in {0, 2, 3.5}, 20 samples per scale '
        'against 30 dev references (refs/dev (dev part of 30 images, seed 0))')


@pytest.mark.parametrize('content,match', [
    (None, 'guidance sweep .* does not exist; run tools/analysis_tools/gdui_guidance_sweep.py'),
    ('{"chosen_scale": 2', 'is not valid JSON'),
    ('[2.0]', 'holds no finite chosen_scale > 0 among its scales'),
    (dict(chosen_scale=-1.0, scales=[-1.0, 2.0]), 'holds no finite chosen_scale'),
    (dict(chosen_scale=0.0), 'holds no finite chosen_scale'),  # the sweep never chooses 0
    (dict(chosen_scale=float('nan')), 'holds no finite chosen_scale'),
    (dict(chosen_scale=7.0), 'holds no finite chosen_scale'),  # not among its scales
    (dict(chosen_scale=True, scales=[True, 2.0]), 'holds no finite chosen_scale'),
    (dict(scales=['a', 3.5]), 'holds no finite chosen_scale'),
    (dict(rule=None), 'holds no finite chosen_scale'),
    (dict(reference=None), 'holds no finite chosen_scale'),
])
def test_a_missing_or_malformed_sweep_is_refused(tmp_path, monkeypatch, content, match):
    """Refused before any model is read (the checkpoints do not exist) or anything written."""
    path = tmp_path / 'sweep.json'
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        write_sweep(path, **content)
    out = tmp_path / 'out'
    with pytest.raises(CdmxError, match=match):
        run_main(sample_tool(), monkeypatch, 'sample_fashion-mnist-mini_pseudo-labels.py',
                 '--unet-checkpoint', str(tmp_path / 'none.pth'), '--classifier-checkpoint',
                 str(tmp_path / 'none.pth'), '--scale-from', str(path), '--out-dir', str(out))
    assert not out.exists()


def test_a_scale_source_needs_a_scale(tmp_path, monkeypatch):
    with pytest.raises(CdmxError, match='--scale-source says why a --scale was given'):
        run_main(sample_tool(), monkeypatch, 'sample_fashion-mnist-mini_pseudo-labels.py',
                 '--unet-checkpoint', str(tmp_path / 'none.pth'), '--scale-source', 'why',
                 '--out-dir', str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


def test_rows_sample_at_the_sweeps_scale(checkpoints, tmp_path, monkeypatch):
    """--scale-from: the sweep's chosen s drives the sampler and lands in the manifest with how
    it was chosen; --scale with --scale-source records that reason instead; a guided config at
    --scale 0 samples its noise set unguided (num_per_class x K images)."""
    tool, (unet, classifier) = sample_tool(), checkpoints
    common = ('sample_fashion-mnist-mini_pseudo-labels.py', '--unet-checkpoint', unet,
              '--classifier-checkpoint', classifier, '--num-per-class', '1', '--steps', '2')
    run_main(tool, monkeypatch, *common, '--classes', '3', '--scale-from',
             write_sweep(tmp_path / 's.json'), '--out-dir', str(tmp_path / 'swept'))
    manifest = json.loads((tmp_path / 'swept' / 'manifest.json').read_text())
    assert manifest['scale'] == 3.5  # the sampler's scale (the config says 2)
    assert manifest['scale_source']['by'] == 'sweep'
    assert manifest['scale_source']['text'].startswith(
        f"chosen by the guidance-scale sweep {tmp_path / 's.json'} (guidance by clf.pth): lowest")

    run_main(tool, monkeypatch, *common, '--classes', '3', '--scale', '7', '--scale-source',
             'set by GDUI_SCALE', '--out-dir', str(tmp_path / 'set'))
    manifest = json.loads((tmp_path / 'set' / 'manifest.json').read_text())
    assert manifest['scale'] == 7.0 and manifest['scale_source'] == dict(
        by='--scale', text='set by GDUI_SCALE')

    run_main(tool, monkeypatch, *common, '--scale', '0', '--out-dir', str(tmp_path / 'zero'))
    manifest = json.loads((tmp_path / 'zero' / 'manifest.json').read_text())
    assert manifest['scale'] == 0.0 and manifest['classifier_checkpoint'] is None
    assert manifest['scale_source'] == dict(by='--scale', text='given with --scale')
    assert np.load(tmp_path / 'zero' / 'labels.npy').tolist() == [-1] * 10
