"""UCDMClassifier inside mmengine's Runner: a few training iterations on pair batches with the
official BN policy, then a test pass that writes the predictions CSV through OpenSetMetric."""
import csv

import torch
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

BRANCHES = ('generated', 'pseudo_known', 'pseudo_unknown')
KINDS = ('known', 'known', 'unknown', 'new')


class Pairs(Dataset):
    """Pair samples in the documented batch format: (2, 3, 8, 8) uint8 [x+, x-], k, branch."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        gen = torch.Generator().manual_seed(i)
        sample = DataSample(metainfo=dict(branch=BRANCHES[i % 3])).set_gt_label(i % 2)
        return dict(inputs=torch.randint(0, 256, (2, 3, 8, 8), generator=gen,
                                         dtype=torch.uint8), data_samples=sample)


class Tests(Dataset):
    """Test samples as MismatchDataset + PackInputs(meta_keys=...) deliver them."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        gen = torch.Generator().manual_seed(100 + i)
        kind = KINDS[i % 4]
        meta = dict(dataset_idx=i, kind=kind, true_class=i % 4)
        sample = DataSample(metainfo=meta).set_gt_label(i % 2 if kind == 'known' else 2)
        return dict(inputs=torch.randint(0, 256, (3, 8, 8), generator=gen, dtype=torch.uint8),
                    data_samples=sample)


def test_train_then_test_writes_predictions(tmp_path):
    out_file = tmp_path / 'predictions.csv'
    runner = Runner(
        model=dict(type='UCDMClassifier',
                   backbone=dict(type='WideResNet', depth=10, widen_factor=1),
                   closed_head=dict(type='ClosedSetHead', num_classes=2, in_channels=64),
                   open_head=dict(type='OpenSetHead', num_classes=2, in_channels=64),
                   bn_policy=dict(type='BatchNormPolicy', freeze_affine_after=2,
                                  eval_statistics='batch'),
                   data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                          mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False)),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(dataset=Pairs(), batch_size=6, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=5e-3)),
        test_dataloader=dict(dataset=Tests(), batch_size=4, num_workers=0,
                             sampler=dict(type='DefaultSampler', shuffle=False),
                             collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(),
        test_evaluator=dict(type='OpenSetMetric', out_file=str(out_file)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3)),
        default_scope='cdmx')
    runner.train()
    model = runner.model
    assert int(model.bn_policy.iters_seen) == 3
    assert not model.backbone.final_norm.weight.requires_grad
    metrics = runner.test()
    with open(out_file, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['index']) for r in rows] == list(range(8))
    assert [r['kind'] for r in rows] == [KINDS[i % 4] for i in range(8)]
    known = [r for r in rows if r['kind'] == 'known']
    closed = 100 * sum(r['closed_pred'] == r['gt_label'] for r in known) / len(known)
    assert abs(metrics['open_set/closed_accuracy'] - closed) < 1e-9
    assert set(metrics) == {f'open_set/{k}' for k in ('closed_accuracy', 'open_known',
                                                      'open_unknown', 'open_new', 'balance')}
