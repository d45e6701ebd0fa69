"""UniMatch-format splits: the seeded writer over the dataset layouts, SplitListDataset on a tiny
folder in Cityscapes' real layout, and the bad inputs they refuse."""
import os

import numpy as np
import pytest
from fixture_files import make_cityscapes
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

from cdmx.datasets import SplitListDataset, read_split_file
from cdmx.datasets.semi_splits import list_pools, make_splits, split_name, write_split
from cdmx.utils.errors import CdmxError
from cdmx.utils.setup_env import register_all_modules

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CITYSCAPES = dict(type='mmseg.CityscapesDataset')


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    """16 training images (aachen, jena), 2 val images, in Cityscapes' folders."""
    root = make_cityscapes(str(tmp_path_factory.mktemp('cityscapes')))
    pool, unlabelled = list_pools(root, 'cityscapes')
    for name, (labelled, rest) in make_splits(pool, unlabelled, ['1/16', '1/4'], 0).items():
        write_split(os.path.join(root, 'splits', 'cityscapes', name), labelled, rest)
    return root


@pytest.fixture(autouse=True)
def cdmx_scope():
    register_all_modules()
    init_default_scope('cdmx')


def test_cityscapes_pool_pairs_images_with_train_ids(cityscapes_root):
    pool, unlabelled = list_pools(cityscapes_root, 'cityscapes')
    assert len(pool) == 16 and pool == unlabelled
    img, label = pool[0]
    assert img == 'leftImg8bit/train/aachen/aachen_000000_000000_leftImg8bit.png'
    assert label == 'gtFine/train/aachen/aachen_000000_000000_gtFine_labelTrainIds.png'


def test_splits_are_seeded_nested_and_partition_the_pool():
    pool = [(f'img/{i:03d}.png', f'ann/{i:03d}.png') for i in range(100)]
    splits = make_splits(pool, pool, ['1/16', '1/8', '1/2'], seed=0)
    assert list(splits) == ['1_16', '1_8', '1_2']
    sizes = {name: len(lab) for name, (lab, _) in splits.items()}
    assert sizes == {'1_16': 7, '1_8': 13, '1_2': 50}  # ceil(100 f), as 2975/16 -> 186
    for labelled, rest in splits.values():
        assert not set(labelled) & set(rest) and sorted(labelled + rest) == pool
    assert set(splits['1_16'][0]) <= set(splits['1_8'][0]) <= set(splits['1_2'][0])
    assert make_splits(pool, pool, ['1/8'], seed=0)['1_8'] == splits['1_8']
    assert make_splits(pool, pool, ['1/8'], seed=1)['1_8'][0] != splits['1_8'][0]
    assert split_name('1') == 'full' and split_name('1/512') == '1_512'
    with pytest.raises(CdmxError, match='not in'):
        make_splits(pool, pool, ['3/2'], seed=0)


def test_split_file_is_unimatch_format(cityscapes_root):
    path = os.path.join(cityscapes_root, 'splits', 'cityscapes', '1_16', 'labeled.txt')
    lines = open(path).read().splitlines()
    assert len(lines) == 1  # ceil(16 / 16)
    img, label = lines[0].split(' ')
    assert img.startswith('leftImg8bit/train/') and img.endswith('_leftImg8bit.png')
    assert label.startswith('gtFine/train/') and label.endswith('_gtFine_labelTrainIds.png')
    unlabelled = read_split_file(path.replace('labeled', 'unlabeled'), with_labels=False)
    assert len(unlabelled) == 15 and unlabelled[0][1] is None


def test_voc_layouts_pick_fine_labels_and_the_blender_pool(tmp_path):
    root = str(tmp_path)
    ids = [f'2007_{i:06d}' for i in range(10)]
    sets = os.path.join(root, 'ImageSets', 'Segmentation')
    os.makedirs(sets)
    for name, chosen in (('train.txt', ids[:4]), ('val.txt', ids[8:]), ('aug.txt', ids[2:9])):
        with open(os.path.join(sets, name), 'w') as f:
            f.write('\n'.join(chosen) + '\n')
    for folder, chosen, suffix in (('JPEGImages', ids, '.jpg'),
                                   ('SegmentationClass', ids[:4] + ids[8:], '.png'),
                                   ('SegmentationClassAug', ids[2:8], '.png')):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for i in chosen:
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(os.path.join(root, folder,
                                                                         i + suffix))
    classic, blender = list_pools(root, 'voc_classic')
    assert [p[0] for p in classic] == [f'JPEGImages/{i}.jpg' for i in ids[:4]]
    assert len(blender) == 8  # train + aug - val
    labels = dict(blender)
    assert labels['JPEGImages/2007_000002.jpg'] == 'SegmentationClass/2007_000002.png'  # fine
    assert labels['JPEGImages/2007_000005.jpg'] == 'SegmentationClassAug/2007_000005.png'  # SBD
    pool, unlabelled = list_pools(root, 'voc_blender')
    assert pool == unlabelled == blender
    split = make_splits(classic, blender, ['1/2'], seed=0)['1_2']
    assert len(split[0]) == 2 and len(split[1]) == 6


def test_split_list_dataset_loads_cityscapes_samples(cityscapes_root):
    dataset = SplitListDataset(
        dataset=dict(CITYSCAPES, data_root=cityscapes_root),
        split_file='splits/cityscapes/1_4/labeled.txt', num_classes=19,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadCheckedAnnotations', num_classes=19),
                  dict(type='CheckedRandomCrop', crop_size=(32, 32)),
                  dict(type='mmseg.PackSegInputs')])
    assert len(dataset) == 4
    assert dataset.metainfo['classes'][0] == 'road' and len(dataset.metainfo['classes']) == 19
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 32, 32)
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 32, 32) and set(seg.unique().tolist()) <= set(range(19)) | {255}
    unlabelled = SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root),
                                  split_file='splits/cityscapes/1_4/unlabeled.txt',
                                  with_labels=False)
    assert len(unlabelled) == 12 and 'seg_map_path' not in unlabelled.get_data_info(0)


def test_cityscapes_config_builds_its_loaders(cityscapes_root, monkeypatch):
    """configs/_base_/datasets/cityscapes_semi.py on the tiny folder (crop 801 > the 32x64
    images: allowed there, the batch is padded by the data preprocessor)."""
    monkeypatch.setenv('CDMX_CITYSCAPES', cityscapes_root)
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                                       'cityscapes_semi.py'))
    train = cfg.train_dataloader
    train.update(num_workers=0, persistent_workers=False)
    batch = next(iter(Runner.build_dataloader(train, seed=0)))
    assert {k: len(v) for k, v in batch['inputs'].items()} == dict(sup=1, unsup_weak=1,
                                                                   unsup_strong=1)
    val = cfg.val_dataloader
    val.update(num_workers=0, persistent_workers=False)
    val_batch = next(iter(Runner.build_dataloader(val, seed=0)))
    assert val_batch['inputs'][0].shape == (3, 1024, 2048)  # mmseg's test resize


def write_lines(path: str, lines: list) -> str:
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def test_split_naming_a_missing_image_is_refused(cityscapes_root, tmp_path):
    split = write_lines(str(tmp_path / 'bad.txt'), [
        'leftImg8bit/train/aachen/aachen_000000_000000_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000000_000000_gtFine_labelTrainIds.png',
        'leftImg8bit/train/bonn/bonn_000000_000000_leftImg8bit.png '
        'gtFine/train/bonn/bonn_000000_000000_gtFine_labelTrainIds.png'])
    with pytest.raises(CdmxError, match=r'names 2 files that do not exist.*bonn_000000'):
        SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root), split_file=split)


def test_split_lines_must_have_image_and_label(cityscapes_root, tmp_path):
    split = write_lines(str(tmp_path / 'one.txt'),
                        ['leftImg8bit/train/aachen/aachen_000000_000000_leftImg8bit.png'])
    with pytest.raises(CdmxError, match='line 1 .* has 1 fields'):
        SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root), split_file=split)
    assert len(SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root),
                                split_file=split, with_labels=False)) == 1
    with pytest.raises(CdmxError, match='does not exist'):
        SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root),
                         split_file='splits/none.txt')


def test_num_classes_disagreeing_with_the_dataset_is_refused(cityscapes_root):
    with pytest.raises(CdmxError, match='num_classes=21 disagrees with the 19 classes'):
        SplitListDataset(dataset=dict(CITYSCAPES, data_root=cityscapes_root),
                         split_file='splits/cityscapes/1_4/labeled.txt', num_classes=21)


def test_label_values_outside_the_classes_are_refused(cityscapes_root, tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'img'))
    os.makedirs(os.path.join(root, 'ann'))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(os.path.join(root, 'img', 'a.png'))
    label = np.full((8, 8), 7, np.uint8)
    label[0, 0] = 33  # a Cityscapes label id (license plate -1 / ids up to 33), not a train id
    Image.fromarray(label).save(os.path.join(root, 'ann', 'a.png'))
    write_lines(os.path.join(root, 'split.txt'), ['img/a.png ann/a.png'])
    dataset = SplitListDataset(
        dataset=dict(CITYSCAPES, data_root=root), split_file='split.txt',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadCheckedAnnotations', num_classes=19)])
    with pytest.raises(CdmxError, match=r'values \[33\] outside the 19 classes'):
        dataset[0]


def test_crop_larger_than_the_image_is_refused(cityscapes_root):
    dataset = SplitListDataset(
        dataset=dict(CITYSCAPES, data_root=cityscapes_root),
        split_file='splits/cityscapes/1_4/labeled.txt',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadCheckedAnnotations', num_classes=19),
                  dict(type='CheckedRandomCrop', crop_size=(801, 801))])
    with pytest.raises(CdmxError, match=r'crop size \(801, 801\) is larger than the image '
                                        r'\(32, 64\)'):
        dataset[0]
