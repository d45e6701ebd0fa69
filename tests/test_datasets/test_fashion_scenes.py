"""The mini world's scenes: composition, long tail, determinism, the dataset and its loader."""
import os
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from cdmx.datasets import FASHION_SCENES_CLASSES, FashionScenesDataset
from cdmx.datasets.fashion_scenes import LONG_TAIL_ORDER, SceneComposer, pixel_statistics
from cdmx.utils.errors import CdmxError
from cdmx.utils.setup_env import register_all_modules

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def square_items(value: int, per_class: int = 5):
    """28x28 items that are all ``value`` (a full square), ``per_class`` per class."""
    labels = np.repeat(np.arange(10), per_class)
    return np.full((labels.size, 28, 28), value, np.uint8), labels


def test_scenes_are_deterministic_and_labelled_in_range():
    images, labels = square_items(200)
    composer = SceneComposer(images, labels, size=32)
    first = list(composer.scenes(5, seed=3))
    again = list(composer.scenes(5, seed=3))
    other = list(composer.scenes(5, seed=4))
    for (a, la, ca), (b, lb, cb) in zip(first, again):
        assert np.array_equal(a, b) and np.array_equal(la, lb) and ca == cb
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other))
    for image, label, classes in first:
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        assert label.shape == (32, 32) and label.max() <= 10
        assert 1 <= len(classes) <= 4


def test_image_and_label_agree_exactly():
    """One solid item per scene: its label is one rectangle of one class, and the image inside
    it is one colour (the shaded item), so label and pixels mark the same region."""
    images, labels = square_items(255)
    composer = SceneComposer(images, labels, size=48, max_items=1, scale_head=1.0,
                             scale_tail=1.0)
    for image, label, classes in composer.scenes(20, seed=0):
        ys, xs = np.nonzero(label)
        assert len(ys) > 0
        assert set(np.unique(label[label > 0])) == {classes[0] + 1}
        box = label[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert (box > 0).all()  # a filled rectangle (clipped at the border)
        inside = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].reshape(-1, 3)
        assert (inside == inside[0]).all()


def test_pixels_below_the_threshold_stay_background():
    images, labels = square_items(30)  # below the threshold of 40
    composer = SceneComposer(images, labels, size=32)
    for _, label, classes in composer.scenes(5, seed=0):
        assert classes and label.max() == 0


def test_class_frequencies_follow_the_long_tail():
    images, labels = square_items(255)
    composer = SceneComposer(images, labels, size=32, imbalance=25.0)
    counts = np.zeros(10)
    item_pixels = np.zeros(11)
    scenes = list(composer.scenes(1500, seed=0))
    for _, label, classes in scenes:
        counts += np.bincount(classes, minlength=10)
    ranked = counts[list(LONG_TAIL_ORDER)]
    # p_r = 25^(-r/9) / Z: head ~ 32%, tail ~ 1.3% of the items.
    expected = 25.0 ** (-np.arange(10) / 9)
    expected /= expected.sum()
    assert np.allclose(ranked / counts.sum(), expected, atol=0.02)
    assert ranked[0] / ranked[-1] > 12
    stats = pixel_statistics([label for _, label, _ in scenes])
    item_pixels = np.array(stats['pixel_counts'])
    # Tail items are rarer and smaller: the pixel ratio exceeds the count ratio.
    head, tail = LONG_TAIL_ORDER[0] + 1, LONG_TAIL_ORDER[-1] + 1
    assert item_pixels[head] / item_pixels[tail] > ranked[0] / ranked[-1]
    assert stats['head_tail_ratio_items'] == item_pixels[1:].max() / item_pixels[1:].min()


def test_bad_scene_settings_are_refused():
    images, labels = square_items(200)
    with pytest.raises(CdmxError, match='size'):
        SceneComposer(images, labels, size=8)
    with pytest.raises(CdmxError, match=r'classes \[9\]'):
        SceneComposer(images[labels < 9], labels[labels < 9])


def test_statistics_report_an_absent_class_as_infinite_ratio():
    stats = pixel_statistics([np.array([[0, 1], [2, 2]], np.uint8)], num_classes=3)
    assert stats['pixel_counts'] == [1, 1, 2]
    assert stats['head_tail_ratio_items'] == 2.0
    assert pixel_statistics([np.zeros((2, 2), np.uint8)], 3)['head_tail_ratio_items'] == np.inf


@pytest.fixture(scope='module')
def scenes_root(fashion_mnist_root, tmp_path_factory):
    """Scenes written by the tool from the tiny Fashion-MNIST fixture (whose items are noise
    around 25 x class: threshold 10 makes every class visible)."""
    out = str(tmp_path_factory.mktemp('scenes'))
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, 'tools/dataset_converters/make_fashion_scenes.py', '--fashion-mnist',
         fashion_mnist_root, '--external-size', '100', '--out', out, '--num-train', '64',
         '--num-val', '16', '--overwrite', '--min-ratio', '0', '--imbalance', '2',
         '--threshold', '10'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_dataset_reads_the_written_scenes(scenes_root):
    dataset = FashionScenesDataset(data_root=scenes_root, data_prefix=dict(
        img_path='img_dir/val', seg_map_path='ann_dir/val'))
    assert len(dataset) == 16
    assert dataset.metainfo['classes'] == FASHION_SCENES_CLASSES
    assert len(dataset.metainfo['palette']) == 11
    info = dataset[0]
    assert info['img_path'].endswith('scene_00000.png')
    assert info['seg_map_path'].endswith(os.path.join('ann_dir', 'val', 'scene_00000.png'))


def test_mini_world_config_loads_multi_branch_batches(scenes_root, monkeypatch):
    """The base config's loaders on the written scenes: semi-supervised batches of 4 labelled
    and 4 unlabelled samples, weak and strong views of the same crop, val in mmseg's format."""
    monkeypatch.setenv('CDMX_FASHION_SCENES', scenes_root)
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                                       'fashion-scenes_semi.py'))
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(loader.dataset.datasets[0]) == 4 and len(loader.dataset.datasets[1]) == 60
    batches = iter(loader)
    for _ in range(3):  # more labelled samples than the split holds: the sampler goes on
        batch = next(batches)
    assert {k: len(v) for k, v in batch['inputs'].items()} == dict(sup=4, unsup_weak=4,
                                                                   unsup_strong=4)
    assert batch['inputs']['sup'][0].shape == (3, 64, 64)
    assert batch['data_samples']['sup'][0].gt_sem_seg.data.shape == (1, 64, 64)
    weak, strong = batch['data_samples']['unsup_weak'], batch['data_samples']['unsup_strong']
    assert 'gt_sem_seg' not in weak[0]
    for w, s in zip(weak, strong):
        assert w.img_path == s.img_path and w.flip == s.flip and w.img_shape == s.img_shape
    val = next(iter(Runner.build_dataloader(cfg.val_dataloader, seed=0)))
    assert len(val['inputs']) == 16 and val['data_samples'][0].gt_sem_seg.data.max() <= 10


def test_scene_output_is_refused_without_overwrite_and_previews_are_drawn(tmp_path):
    import numpy as np
    from PIL import Image

    from cdmx.datasets.fashion_scenes import prepare_scene_output, save_scene_preview
    from cdmx.utils.errors import CdmxError
    (tmp_path / 'img_dir').mkdir()
    with pytest.raises(CdmxError, match='already holds'):
        prepare_scene_output(str(tmp_path), overwrite=False)
    assert (tmp_path / 'img_dir').exists()
    prepare_scene_output(str(tmp_path), overwrite=True)
    assert not (tmp_path / 'img_dir').exists()
    image = np.zeros((4, 4, 3), np.uint8)
    label = np.array([[0, 1, 1, 0]] * 4)
    save_scene_preview([(image, label)] * 2, [(0, 0, 0), (255, 0, 0)], str(tmp_path / 'p.png'))
    preview = np.asarray(Image.open(tmp_path / 'p.png'))
    assert preview.shape == (16, 16, 3)  # 2 scenes side by side over their labels, upscaled 2x
    assert (preview[8:, 2:6] == (255, 0, 0)).all() and (preview[:8] == 0).all()
