"""tools/gdui/train_judge.py: the independent judge of GDUI's class accuracy, trained by the
foundation evaluation's train_judge on the fixture's external pool (100 of its 600 train
images, none of them a test image)."""
import os

import torch
from tool_runner import REPO_ROOT, assert_ok, run_tool

from cdmx.evaluation.metrics.generation import JudgeLogits

TOOL = 'gdui/train_judge.py'


def test_trains_and_writes_a_loadable_judge(tmp_path, fashion_mnist_root):
    config = tmp_path / 'judge.py'
    config.write_text(f"_base_ = ['{REPO_ROOT}/configs/gdui/judge_fashion-mnist-external.py']\n"
                      'train_data = dict(external_size=100)\nepochs = 1\nbatch_size = 50\n'
                      'model = dict(width=8)\n')
    out = tmp_path / 'judge.pth'
    result = run_tool(TOOL, str(config), '--out', str(out), CDMX_FASHION_MNIST=fashion_mnist_root)
    assert_ok(result)
    assert 'wrote the judge (100 training images, 10 classes)' in result.stdout
    judge = JudgeLogits(str(out))
    assert judge.classes[0] == 'T-shirt/top' and judge.image_size == 32
    assert judge.info['num_train'] == 100 and 'external' in judge.info['train_data']
    assert judge.model[0].out_channels == 8  # the config's width
    logits = judge(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    assert logits.shape == (2, 10)


def test_a_model_of_other_classes_is_refused(tmp_path, fashion_mnist_root):
    config = tmp_path / 'judge.py'
    config.write_text(f"_base_ = ['{REPO_ROOT}/configs/gdui/judge_fashion-mnist-external.py']\n"
                      'train_data = dict(external_size=100)\nmodel = dict(num_classes=5)\n')
    result = run_tool(TOOL, str(config), '--out', str(tmp_path / 'judge.pth'),
                      CDMX_FASHION_MNIST=fashion_mnist_root)
    assert result.returncode == 2 and 'num_classes=10 (the classes of train_data)' in result.stderr
    assert not os.path.exists(tmp_path / 'judge.pth')


def test_a_config_without_the_recipe_is_refused(tmp_path):
    config = tmp_path / 'empty.py'
    config.write_text('image_size = 32\n')
    result = run_tool(TOOL, str(config), '--out', str(tmp_path / 'judge.pth'))
    assert result.returncode == 2 and 'has no model, train_data, epochs' in result.stderr
    assert not os.path.exists(tmp_path / 'judge.pth')
