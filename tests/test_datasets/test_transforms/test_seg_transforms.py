"""MultiBranchSeg, RandomHue and the checked crop / annotation loader on hand-made results."""
import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from cdmx.datasets.transforms import CheckedRandomCrop, MultiBranchSeg, RandomHue
from cdmx.utils.errors import CdmxError
from cdmx.utils.setup_env import register_all_modules

STRONG = [dict(type='RandomApply', prob=1.0, transforms=[
    dict(type='mmpretrain.ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5),
    dict(type='RandomHue', max_delta=0.25)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), prob=0.5)]


@pytest.fixture(autouse=True)
def cdmx_scope():
    register_all_modules()
    init_default_scope('cdmx')


def results(height=24, width=32, with_label=True):
    rng = np.random.default_rng(0)
    out = dict(img=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
               img_path='scene.png', ori_shape=(height, width), img_shape=(height, width),
               seg_fields=[], reduce_zero_label=False)
    if with_label:
        out['gt_seg_map'] = rng.integers(0, 5, (height, width), dtype=np.uint8)
        out['seg_fields'] = ['gt_seg_map']
    return out


def test_weak_and_strong_views_share_the_geometry():
    np.random.seed(0)
    pipeline = Compose([
        dict(type='CheckedRandomCrop', crop_size=(16, 16)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='MultiBranchSeg', branches=dict(
            unsup_weak=[dict(type='mmseg.PackSegInputs')],
            unsup_strong=[*STRONG, dict(type='mmseg.PackSegInputs')]))])
    for _ in range(5):
        source = results(with_label=False)
        original = source['img'].copy()
        out = pipeline(source)
        assert set(out) == {'inputs', 'data_samples'}
        assert set(out['inputs']) == {'unsup_weak', 'unsup_strong'}
        weak, strong = out['inputs']['unsup_weak'], out['inputs']['unsup_strong']
        assert weak.shape == strong.shape == (3, 16, 16) and weak.dtype == strong.dtype
        assert not (weak == strong).all()  # colour jitter always applies (prob 1)
        meta_w = out['data_samples']['unsup_weak'].metainfo
        meta_s = out['data_samples']['unsup_strong'].metainfo
        assert meta_w['flip'] == meta_s['flip'] and meta_w['img_shape'] == meta_s['img_shape']
        # the weak view is an unchanged crop of the source image (possibly flipped)
        img = np.ascontiguousarray(weak.permute(1, 2, 0).numpy())
        if meta_w['flip']:
            img = img[:, ::-1]
        found = cv2.matchTemplate(original, np.ascontiguousarray(img), cv2.TM_SQDIFF)
        assert found.min() == 0


def test_labelled_branch_packs_the_label():
    out = MultiBranchSeg(branches=dict(sup=[dict(type='mmseg.PackSegInputs')]))(results())
    assert list(out['inputs']) == ['sup']
    assert out['data_samples']['sup'].gt_sem_seg.data.shape == (1, 24, 32)


def test_branch_without_packing_is_refused():
    transform = MultiBranchSeg(branches=dict(sup=[dict(type='RandomFlip', prob=0.5)]))
    with pytest.raises(CdmxError, match="branch 'sup' .*PackSegInputs"):
        transform(results())
    with pytest.raises(CdmxError, match='at least one branch'):
        MultiBranchSeg(branches={})


def hue_of(bgr: np.ndarray) -> float:
    return float(cv2.cvtColor(bgr.reshape(1, 1, 3), cv2.COLOR_BGR2HSV_FULL)[0, 0, 0])


def test_random_hue_rotates_both_ways():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 2] = 255  # BGR red, hue 0
    transform = RandomHue(max_delta=0.25)
    shifts = set()
    for seed in range(20):
        np.random.seed(seed)
        out = transform(dict(img=red.copy()))['img']
        assert out.shape == red.shape and out.dtype == np.uint8
        hue = hue_of(out[0, 0])
        shifts.add('up' if 0 < hue <= 64 else 'down' if hue >= 192 else 'none')
    assert shifts >= {'up', 'down'}  # negative shifts work (mmcv's adjust_hue raises for them)
    np.random.seed(0)
    assert (RandomHue(max_delta=0.0)(dict(img=red.copy()))['img'] == red).all()
    with pytest.raises(CdmxError, match='max_delta'):
        RandomHue(max_delta=0.7)


def test_crop_allow_smaller_keeps_the_small_image():
    out = CheckedRandomCrop(crop_size=(64, 64), allow_smaller=True)(results())
    assert out['img'].shape == (24, 32, 3) and out['img_shape'] == (24, 32)
    with pytest.raises(CdmxError, match=r'crop size \(64, 64\) is larger than the image '
                                        r'\(24, 32\) of scene.png'):
        CheckedRandomCrop(crop_size=64)(results())
    out = CheckedRandomCrop(crop_size=[16, 8])(results())
    assert out['img'].shape == (16, 8, 3) and out['gt_seg_map'].shape == (16, 8)


def test_annotation_loader_needs_a_class_count():
    with pytest.raises(CdmxError, match='num_classes'):
        Compose([dict(type='LoadCheckedAnnotations', num_classes=0)])
