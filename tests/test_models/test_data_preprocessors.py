"""MultiBranchSegDataPreProcessor: grouping by branch, normalising, padding, plain batches."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from cdmx.models import MultiBranchSegDataPreProcessor
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

INNER = dict(type='mmseg.SegDataPreProcessor', mean=[100.0] * 3, std=[2.0] * 3,
             bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=(8, 8))


def image(value: int, size=(8, 8)) -> torch.Tensor:
    return torch.full((3, *size), value, dtype=torch.uint8)


def sample(value: int = 1, size=(8, 8), gt: bool = True) -> SegDataSample:
    s = SegDataSample(metainfo=dict(tag=value))
    if gt:
        s.gt_sem_seg = PixelData(data=torch.full((1, *size), value, dtype=torch.long))
    return s


def labelled(value):
    return dict(inputs=dict(sup=image(value), unsup_weak=None, unsup_strong=None),
                data_samples=dict(sup=sample(value), unsup_weak=None, unsup_strong=None))


def unlabelled(value, size=(8, 8), gt=True):
    return dict(inputs=dict(sup=None, unsup_weak=image(value, size),
                            unsup_strong=image(value + 2, size)),
                data_samples=dict(sup=None, unsup_weak=sample(value, size, gt),
                                  unsup_strong=sample(value, size, gt)))


def build() -> MultiBranchSegDataPreProcessor:
    return MODELS.build(dict(type='MultiBranchSegDataPreProcessor', data_preprocessor=INNER))


def test_pseudo_collated_batch_is_grouped_normalised_and_padded():
    batch = pseudo_collate([labelled(100), unlabelled(110, size=(6, 7)), labelled(102),
                            unlabelled(120, gt=False)])
    out = build()(batch, training=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert set(inputs) == {'sup', 'unsup_weak', 'unsup_strong'}
    assert inputs['sup'].shape == (2, 3, 8, 8)
    assert inputs['sup'][:, 0, 0, 0].tolist() == [0.0, 1.0]  # (x - 100) / 2
    assert inputs['unsup_weak'][:, 0, 0, 0].tolist() == [5.0, 10.0]
    assert inputs['unsup_strong'][:, 0, 0, 0].tolist() == [6.0, 11.0]  # same order as weak
    assert [s.tag for s in samples['unsup_weak']] == [110, 120]
    assert inputs['unsup_weak'][0, 0, 7, 7] == 0.0  # mmseg pads with pad_val after normalising
    assert samples['unsup_weak'][0].gt_sem_seg.data[0, 7, 7] == 255
    assert samples['unsup_weak'][0].padding_size == (0, 1, 0, 2)
    assert 'gt_sem_seg' not in samples['unsup_weak'][1]


def test_list_of_per_sample_dicts():
    items = [labelled(100), unlabelled(104)]
    batch = dict(inputs=[{k: v for k, v in item['inputs'].items() if v is not None}
                         for item in items],
                 data_samples=[{k: v for k, v in item['data_samples'].items() if v is not None}
                               for item in items])
    out = build()(batch, training=True)
    assert out['inputs']['sup'].shape == (1, 3, 8, 8)
    assert out['inputs']['unsup_strong'][0, 0, 0, 0] == 3.0


def test_plain_batches_go_to_mmseg_unchanged():
    out = build()(dict(inputs=[image(100), image(104)], data_samples=[sample(), sample()]),
                  training=False)
    assert isinstance(out['inputs'], torch.Tensor) and out['inputs'].shape == (2, 3, 8, 8)
    assert len(out['data_samples']) == 2


def test_bad_batches():
    batch = pseudo_collate([labelled(100)])
    batch['data_samples']['sup'] = [None]
    with pytest.raises(CdmxError, match='without data samples'):
        build()(batch, training=True)
    with pytest.raises(CdmxError, match='no image'):
        build()(dict(inputs=dict(sup=[None]), data_samples=dict(sup=[None])), training=True)
