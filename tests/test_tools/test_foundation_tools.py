"""pretrain_foundation.py and eval_foundation.py run as a user runs them, on tiny configs."""
import json
import os

import pytest
from tool_runner import REPO_ROOT, assert_ok, run_tool

PRETRAIN = 'pretrain_foundation.py'
EVAL = 'analysis_tools/eval_foundation.py'

TINY_SD = """_base_ = ['{repo}/configs/foundation/mini_sd.py']
data_root = '{root}'
test_data = dict(data_root=data_root)
recipe = dict(
    data=dict(data_root=data_root, external_size=100),
    prompt_template='{template}',
    autoencoder=dict(block_out_channels=(8, 8, 8), norm_num_groups=4),
    text_encoder=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, projection_dim=16),
    unet=dict(block_out_channels=(16, 16, 16), norm_num_groups=8, attention_head_dim=4),
    autoencoder_train=dict(steps=2, batch_size=8),
    denoiser_train=dict(steps=2, batch_size=8, warmup_steps=1))
"""

TINY_CLIP = """_base_ = ['{repo}/configs/foundation/mini_clip.py']
data_root = '{root}'
test_data = dict(data_root=data_root)
recipe = dict(
    data=dict(data_root=data_root, external_size=100),
    model_name='cdmx-tool-test-clip',
    model=dict(embed_dim=16,
               vision_cfg=dict(patch_size=8, width=32, layers=1, head_width=16),
               text_cfg=dict(width=32, heads=2, layers=1)),
    train=dict(steps=2, batch_size=8, warmup_steps=1))
"""


def write_config(folder, name: str, text: str, root: str, template='A photo of a {{}}.') -> str:
    path = os.path.join(folder, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text.format(repo=REPO_ROOT, root=root, template=template))
    return path


@pytest.fixture(scope='module')
def configs(fashion_mnist_root, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('foundation_configs'))
    return (write_config(folder, 'tiny_sd.py', TINY_SD, fashion_mnist_root),
            write_config(folder, 'tiny_clip.py', TINY_CLIP, fashion_mnist_root))


def test_pretrain_then_evaluate(configs, tmp_path):
    sd_config, clip_config = configs
    work_dir = str(tmp_path / 'work')
    for config in configs:
        assert_ok(run_tool(PRETRAIN, config, '--work-dir', work_dir))
    assert os.path.isfile(os.path.join(work_dir, 'mini_sd', 'model_index.json'))
    assert os.path.isfile(os.path.join(work_dir, 'mini_clip', 'cdmx-tool-test-clip.pt'))
    again = run_tool(PRETRAIN, sd_config, '--work-dir', work_dir)
    assert_ok(again)
    assert 'reusing' in again.stdout + again.stderr
    out = tmp_path / 'eval.json'
    result = run_tool(EVAL, '--work-dir', work_dir, '--sd-config', sd_config, '--clip-config',
                      clip_config, '--samples-per-class', '2', '--steps', '2', '--erasure-seeds',
                      '3', '--judge-epochs', '2', '--batch-size', '8', '--out', str(out))
    assert_ok(result)
    for line in ('judge accuracy on the real test split', 'SD faithfulness', 'erased, UCDM',
                 'erased, round trip', 'CLIP zero-shot accuracy on the test split'):
        assert line in result.stdout
    numbers = json.loads(out.read_text())
    assert numbers['judge_test_accuracy']['count'] == 200
    assert numbers['sd_faithfulness']['count'] == 20
    assert numbers['clip_zero_shot_accuracy']['count'] == 200
    assert [r['count'] for r in numbers['erasure'].values()] == [3, 3]
    rates = [numbers[k]['overall'] for k in ('judge_test_accuracy', 'sd_faithfulness',
                                             'clip_zero_shot_accuracy')]
    assert all(0 <= r <= 1 for r in rates)


def test_pretrain_reports_a_template_without_placeholder(fashion_mnist_root, tmp_path):
    config = write_config(str(tmp_path), 'bad.py', TINY_SD, fashion_mnist_root,
                          template='A photo.')
    result = run_tool(PRETRAIN, config, '--work-dir', str(tmp_path / 'work'))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith('error: ') and 'placeholder' in lines[-1]


def test_eval_reports_a_missing_pretraining(configs, tmp_path):
    sd_config, _ = configs
    result = run_tool(EVAL, '--work-dir', str(tmp_path), '--sd-config', sd_config,
                      '--skip-clip', '--judge-epochs', '1')
    assert result.returncode == 2
    assert 'holds no Stable Diffusion pipeline' in result.stderr.strip().splitlines()[-1]
