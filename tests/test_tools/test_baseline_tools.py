"""tools/train.py and tools/test.py on the supervised baseline config, on the tiny Fashion-MNIST."""
import os
import re

from tool_runner import assert_ok, logged_iterations, run_tool

BASELINE = os.path.join('configs', 'baselines', 'wrn28-2_fashion-mnist-mini.py')


def test_baseline_trains_and_tests_a_few_iterations(fashion_mnist_root, tmp_path):
    # The config reads its data folder from CDMX_FASHION_MNIST; the fixture's 600 train images
    # hold 100 for the external pool and about 50 per known class in the train pool.
    env = dict(CDMX_FASHION_MNIST=fashion_mnist_root)
    work_dir = str(tmp_path / 'baseline')
    trained = run_tool('train.py', BASELINE, '--work-dir', work_dir, '--cfg-options',
                       'train_cfg.max_iters=4', 'train_dataloader.batch_size=16',
                       'train_dataloader.dataset.dataset.external_size=100',
                       'train_dataloader.dataset.known_count=60',
                       'default_hooks.logger.interval=1', **env)
    assert_ok(trained)
    assert sorted(logged_iterations(trained.stdout)) == [1, 2, 3, 4]
    val_top1 = re.search(r'Iter\(val\).*accuracy/top1: ([0-9.]+)', trained.stdout).group(1)

    tested = run_tool('test.py', BASELINE, os.path.join(work_dir, 'last_checkpoint'),
                      '--work-dir', work_dir, **env)
    assert_ok(tested)
    assert f"Load checkpoint from {os.path.join(work_dir, 'iter_4.pth')}" in tested.stdout
    # val and test read the same known-class test images, so the checkpoint saved at the last
    # iteration must score what the end-of-training validation scored.
    test_top1 = re.search(r'Iter\(test\).*accuracy/top1: ([0-9.]+)', tested.stdout).group(1)
    assert test_top1 == val_top1
