"""Tiny-ImageNet from a small folder in the official layout, with real JPEG files."""
import os

import numpy as np
import pytest
from PIL import Image

from cdmx.datasets import MismatchDataset, TinyImageNet
from cdmx.utils.errors import CdmxError

# Listed out of order on purpose: class ids follow the sorted wnids.
WNIDS = ['n02124075', 'n01443537', 'n04067472']
WORDS = {'n01443537': 'goldfish, Carassius auratus', 'n02124075': 'Egyptian cat',
         'n04067472': 'reel', 'n00001740': 'entity'}
COLOURS = {'n01443537': (200, 30, 30), 'n02124075': (30, 200, 30), 'n04067472': (30, 30, 200)}


def _jpeg(path, colour, grey=False):
    img = Image.new('RGB', (64, 64), colour)
    (img.convert('L') if grey else img).save(path, 'JPEG', quality=95)


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny-imagenet-200')
    (root / 'wnids.txt').write_text('\n'.join(WNIDS) + '\n')
    (root / 'words.txt').write_text(''.join(f'{w}\t{t}\n' for w, t in WORDS.items()))
    for wnid in WNIDS:
        folder = root / 'train' / wnid / 'images'
        folder.mkdir(parents=True)
        for i in range(2):
            _jpeg(str(folder / f'{wnid}_{i}.JPEG'), COLOURS[wnid], grey=(wnid == 'n04067472'
                                                                          and i == 1))
        (root / 'train' / wnid / f'{wnid}_boxes.txt').write_text('')
    (root / 'val' / 'images').mkdir(parents=True)
    lines = []
    for i, wnid in enumerate(['n04067472', 'n01443537', 'n02124075', 'n01443537']):
        _jpeg(str(root / 'val' / 'images' / f'val_{i}.JPEG'), COLOURS[wnid])
        lines.append(f'val_{i}.JPEG\t{wnid}\t0\t0\t63\t63\n')
    (root / 'val' / 'val_annotations.txt').write_text(''.join(lines))
    return str(root)


def test_classes_follow_sorted_wnids(tiny_root):
    ds = TinyImageNet(tiny_root, split='train')
    assert ds.metainfo['wnids'] == ('n01443537', 'n02124075', 'n04067472')
    assert ds.metainfo['classes'] == ('goldfish', 'Egyptian cat', 'reel')
    assert len(ds) == 6
    assert list(ds.get_gt_labels()) == [0, 0, 1, 1, 2, 2]


def test_images_are_rgb_uint8(tiny_root):
    ds = TinyImageNet(tiny_root, split='train')
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['img'].shape == (64, 64, 3) and info['img'].dtype == np.uint8
        assert info['sample_idx'] == i
        wnid = ds.metainfo['wnids'][info['gt_label']]
        mean = info['img'].reshape(-1, 3).mean(0)
        if os.path.basename(info['img_path']) == 'n04067472_1.JPEG':
            assert np.ptp(mean) < 2  # a grey JPEG comes back with three equal channels
        else:
            np.testing.assert_allclose(mean, COLOURS[wnid], atol=6)


def test_images_resized_to_ucdm_input_size(tiny_root):
    """UCDM's Table 17 trains at 32x32: size=32 averages 2x2 blocks of the 64x64 JPEG."""
    native, small = TinyImageNet(tiny_root, split='val'), TinyImageNet(tiny_root, split='val',
                                                                        size=32)
    big, img = native.get_data_info(1)['img'], small.get_data_info(1)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    blocks = big.reshape(32, 2, 32, 2, 3).astype(float).mean(axis=(1, 3))
    assert np.abs(img - blocks).max() <= 1
    with pytest.raises(CdmxError, match='size is 0'):
        TinyImageNet(tiny_root, split='val', size=0)


def test_val_split_reads_annotations(tiny_root):
    ds = TinyImageNet(tiny_root, split='val')
    assert list(ds.get_gt_labels()) == [2, 0, 1, 0]
    np.testing.assert_allclose(ds.get_data_info(0)['img'].reshape(-1, 3).mean(0),
                               COLOURS['n04067472'], atol=6)


def test_mismatch_split_by_wnid(tiny_root):
    ds = TinyImageNet(tiny_root, split='val')
    mm = MismatchDataset(ds, dict(known=['n02124075'], unknown=['n01443537'],
                                  new=['n04067472']), 'test')
    assert mm.metainfo['classes'] == ('Egyptian cat',)
    kinds = {mm.get_data_info(i)['true_class']: mm.get_data_info(i)['kind'] for i in range(4)}
    assert kinds == {1: 'known', 0: 'unknown', 2: 'new'}


def test_missing_files(tmp_path, tiny_root):
    with pytest.raises(CdmxError, match='wnids.txt does not exist'):
        TinyImageNet(str(tmp_path), split='train')
    (tmp_path / 'wnids.txt').write_text('n01443537\n')
    (tmp_path / 'words.txt').write_text('n01443537\tgoldfish\n')
    with pytest.raises(CdmxError, match=os.path.join('train', 'n01443537', 'images')):
        TinyImageNet(str(tmp_path), split='train')
    with pytest.raises(CdmxError, match='val_annotations.txt does not exist'):
        TinyImageNet(str(tmp_path), split='val')
    with pytest.raises(CdmxError, match="split 'test' is unknown"):
        TinyImageNet(tiny_root, split='test')
