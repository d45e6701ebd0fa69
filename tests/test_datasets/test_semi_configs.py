"""The semi-supervised dataset bases (configs/_base_/datasets/*_semi.py): every type they name
resolves, their metrics build, and the sampler's batch is the dataloader's batch."""
import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from test_configs import check_runtime_types

from cdmx.utils.setup_env import register_all_modules

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASES = ['cityscapes_semi', 'voc_classic_semi', 'voc_blender_semi', 'coco_semi',
         'fashion-scenes_semi']


@pytest.mark.parametrize('name', BASES)
def test_semi_dataset_base_resolves(name):
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', '_base_', 'datasets', name + '.py'))
    init_default_scope('cdmx')
    check_runtime_types(cfg)
    loader = cfg.train_dataloader
    assert loader.sampler.batch_size == loader.batch_size == sum(loader.sampler.source_ratio)
    labelled, unlabelled = loader.dataset.datasets
    assert labelled.with_labels and not unlabelled.with_labels
    assert labelled.split_file.replace('labeled', 'unlabeled') == unlabelled.split_file
    assert labelled.num_classes == cfg.num_classes
    assert cfg.data_preprocessor.size == cfg.crop_size


def test_a_bad_type_inside_a_branch_is_caught():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='SplitListDataset', pipeline=[
        dict(type='MultiBranchSeg', branches=dict(sup=[dict(type='mmseg.NoSuchPack')]))]))))
    register_all_modules()
    init_default_scope('cdmx')
    with pytest.raises(AssertionError, match='NoSuchPack'):
        check_runtime_types(cfg)
