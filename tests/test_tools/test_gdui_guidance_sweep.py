"""tools/analysis_tools/gdui_guidance_sweep.py: bad input refused before anything is written, the
chosen scale by its rule, the PNG; end to end (slow) on two-iteration models."""
import json
import os
import re

import numpy as np
import pytest
import torch
from tool_runner import REPO_ROOT, load_module

from cdmx.evaluation.metrics.generation import save_judge, save_real_part, sha256_of
from cdmx.models.foundation.judge import JudgeConvNet
from cdmx.utils.errors import CdmxError

tool = load_module('gdui_guidance_sweep', os.path.join(REPO_ROOT, 'tools', 'analysis_tools',
                                                        'gdui_guidance_sweep.py'))
CONFIG = os.path.join(REPO_ROOT, 'configs', 'gdui', 'sample_fashion-mnist-mini_pseudo-labels.py')


def write_part(folder, part: str, count: int = 12) -> None:
    rng = np.random.default_rng(0)
    save_real_part(str(folder), rng.integers(0, 256, (count, 28, 28, 1), dtype=np.uint8),
                   np.arange(count) % 10, np.arange(count),
                   dict(part=part, dataset='toy', num_images=count, seed=0))


@pytest.fixture
def inputs(tmp_path):
    write_part(tmp_path / 'dev', 'dev')
    write_part(tmp_path / 'reference', 'reference')
    save_judge(str(tmp_path / 'judge.pth'), JudgeConvNet(10, width=4), [str(i) for i in range(10)],
               32, {})
    out = tmp_path / 'sweep'
    out.mkdir()
    (out / 'guidance_sweep.json').write_text('{"earlier": true}')
    return tmp_path


def argv(root, *extra):
    return [CONFIG, '--unet-checkpoint', str(root / 'unet.pth'), '--classifier-checkpoint',
            str(root / 'clf.pth'), '--judge', str(root / 'judge.pth'), '--out-dir',
            str(root / 'sweep'), *extra]


@pytest.mark.parametrize('scales,message', [
    (['1', '-2'], 'include [-2.0]; give finite scales >= 0'),
    (['nan'], 'include [nan]'),
    (['inf', '3'], 'include [inf]'),
    (['0'], 'hold no scale > 0 to choose'),
])
def test_negative_or_non_finite_scales_are_refused(inputs, scales, message):
    with pytest.raises(CdmxError, match=re.escape(message)):
        tool.main(argv(inputs, '--dev-reference', str(inputs / 'dev'), '--scales', *scales))
    assert os.listdir(inputs / 'sweep') == ['guidance_sweep.json']
    assert json.loads((inputs / 'sweep' / 'guidance_sweep.json').read_text()) == dict(earlier=True)


def test_a_sweep_without_dev_references_is_refused(inputs):
    with pytest.raises(CdmxError, match='dev references .* do not exist; write them with'):
        tool.main(argv(inputs, '--dev-reference', str(inputs / 'none')))
    with pytest.raises(CdmxError, match='is the reference part, not the dev part'):
        tool.main(argv(inputs, '--dev-reference', str(inputs / 'reference')))
    with pytest.raises(CdmxError, match='judge checkpoint .* does not exist'):
        tool.main(argv(inputs, '--dev-reference', str(inputs / 'dev'), '--judge',
                       str(inputs / 'none.pth')))
    assert os.listdir(inputs / 'sweep') == ['guidance_sweep.json']


def metrics(fid: float, accuracy) -> dict:
    return dict(FID=fid, sFID=fid * 2, IS=3.0, precision=0.5, recall=0.4,
                class_accuracy=accuracy, judge_reference_accuracy=0.9, num_samples=200,
                num_reference=2000, reference='dev')


def test_the_chosen_scale_has_the_lowest_dev_fid_and_the_plot_is_written(tmp_path):
    result = tool.summarise({4.0: metrics(30.0, 0.8), 0.0: metrics(50.0, None),
                             2.0: metrics(30.0, 0.6), 10.0: metrics(45.0, 0.95)})
    assert result['scales'] == [0.0, 2.0, 4.0, 10.0]
    assert result['FID'] == [50.0, 30.0, 30.0, 45.0]
    assert result['class_accuracy'] == [None, 0.6, 0.8, 0.95]
    assert result['chosen_scale'] == 2.0  # tied with 4: the smaller scale
    assert result['judge_dev_accuracy'] == 0.9 and 'lowest dev FID' in result['rule']
    # s = 0 is the unguided reference, never the choice, even with the lowest dev FID.
    assert tool.summarise({0.0: metrics(20.0, None), 1.0: metrics(35.0, 0.5),
                           7.0: metrics(31.0, 0.9)})['chosen_scale'] == 7.0
    tool.plot(result, str(tmp_path / 'sweep.png'))
    png = (tmp_path / 'sweep.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000


@pytest.mark.slow
def test_sweep_end_to_end(tmp_path, fashion_mnist_root, single_thread):
    """Two scales on two-iteration models and the fixture's dev images: one folder, one
    metrics file per scale, the JSON, the PNG and the printed choice."""
    from test_gdui_eval_generation import Wrap
    from test_gdui_sample import train_two_iterations
    unet = train_two_iterations('unet_fashion-mnist-mini.py', str(tmp_path / 'unet'),
                                fashion_mnist_root)
    labels = tmp_path / 'labels.json'
    labels.write_text(json.dumps(dict(
        class_names=['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                     'Sneaker', 'Bag', 'Ankle boot'], labels=[i % 10 for i in range(500)])))
    clf = train_two_iterations('noisy-classifier_fashion-mnist-mini_pseudo-labels.py',
                               str(tmp_path / 'clf'), fashion_mnist_root,
                               **{'train_dataloader.dataset.labels_file': str(labels)})
    write_part(tmp_path / 'dev', 'dev', count=20)
    save_judge(str(tmp_path / 'judge.pth'), JudgeConvNet(10, width=4), [str(i) for i in range(10)],
               32, {})
    torch.jit.script(Wrap().eval()).save(str(tmp_path / 'tiny.pt'))
    tool.main([CONFIG, '--unet-checkpoint', unet, '--classifier-checkpoint', clf,
               '--dev-reference', str(tmp_path / 'dev'), '--judge', str(tmp_path / 'judge.pth'),
               '--out-dir', str(tmp_path / 'sweep'), '--scales', '3', '0', '--num-per-class', '1',
               '--steps', '2', '--inception', str(tmp_path / 'tiny.pt'), '--inception-sha256',
               sha256_of(str(tmp_path / 'tiny.pt'))])
    result = json.loads((tmp_path / 'sweep' / 'guidance_sweep.json').read_text())
    assert result['scales'] == [0.0, 3.0] and result['num_samples'] == 10
    assert (result['classifier_checkpoint'], result['seed']) == (clf, 1)
    assert result['reference'].startswith(f"{tmp_path / 'dev'} (dev part of 20 images")
    assert result['class_accuracy'][0] is None and 0 <= result['class_accuracy'][1] <= 1
    assert result['chosen_scale'] == 3.0  # the only scale > 0
    for scale in ('0', '3'):
        assert (tmp_path / 'sweep' / f'scale_{scale}' / 'metrics.json').is_file()
    assert (tmp_path / 'sweep' / 'guidance_sweep.png').stat().st_size > 10000
