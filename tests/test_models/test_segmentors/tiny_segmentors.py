"""Tiny DiffMatch / discriminative-baseline configs and batches for the segmentor tests."""
import copy

import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

NUM_CLASSES = 3
NORM = dict(type='BN', requires_grad=True)
BACKBONE = dict(type='mmseg.ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                strides=(1, 2, 1, 1), norm_cfg=NORM, contract_dilation=True)
HEAD = dict(type='mmseg.DepthwiseSeparableASPPHead', in_channels=64, in_index=3, channels=16,
            dilations=(1, 2, 3, 4), c1_in_channels=8, c1_channels=4, dropout_ratio=0.1,
            num_classes=NUM_CLASSES, norm_cfg=NORM, align_corners=False,
            loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
DENOISER = dict(type='MaskDenoiser', embed_dims=16, num_layers=2, num_heads=2, num_levels=2,
                num_points=2, feedforward_channels=32)


def aux_head(in_channels: int, in_index: int) -> dict:
    """mmseg's FCN auxiliary head on input ``in_index`` (DDP's loss weight 0.4)."""
    return dict(type='mmseg.FCNHead', in_channels=in_channels, in_index=in_index, channels=8,
                num_convs=1, concat_input=False, num_classes=NUM_CLASSES, norm_cfg=NORM,
                loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=0.4))


PREPROCESSOR = dict(type='mmseg.SegDataPreProcessor', mean=[128.0] * 3, std=[64.0] * 3,
                    bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=(32, 32))


def diffmatch_cfg(**kwargs) -> ConfigDict:
    """A tiny DiffMatch: ResNetV1c-18 with 8 base channels, 16-d embedding, 2 layers (a
    ConfigDict, as a config file gives it: mmseg reads ``test_cfg.mode``)."""
    cfg = dict(type='DiffMatch', backbone=copy.deepcopy(BACKBONE),
               decode_head=copy.deepcopy(HEAD), denoiser=copy.deepcopy(DENOISER),
               data_preprocessor=copy.deepcopy(PREPROCESSOR), test_cfg=dict(mode='whole'))
    cfg.update(kwargs)
    return ConfigDict(cfg)


def baseline_cfg(**kwargs) -> ConfigDict:
    """The discriminative baseline: the same extractor with mmseg's classifier."""
    cfg = dict(type='mmseg.EncoderDecoder', backbone=copy.deepcopy(BACKBONE),
               decode_head=copy.deepcopy(HEAD), data_preprocessor=copy.deepcopy(PREPROCESSOR),
               test_cfg=dict(mode='whole'))
    cfg.update(kwargs)
    return ConfigDict(cfg)


def dis_baseline_cfg(**kwargs) -> ConfigDict:
    """DiffMatch Table 5's Dis. Baseline: the same extractor, the tiny denoiser's deformable
    layers (no diffusion parts) and a classifier, in a DiscriminativeSegmentor."""
    readout = {key: value for key, value in DENOISER.items() if key != 'type'}
    head = dict(copy.deepcopy(HEAD), type='DeformableReadoutASPPHead', readout=readout)
    return baseline_cfg(type='DiscriminativeSegmentor', decode_head=head, **kwargs)


def toy_scene(seed: int, size: int = 32):
    """A uint8 image and its label map: class 1 is a bright square, class 2 a dark one, 0 the
    grey background; the colours make the classes learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    label = torch.zeros(size, size, dtype=torch.long)
    image = torch.full((3, size, size), 128, dtype=torch.uint8)
    for cls, value in ((1, 250), (2, 5)):
        top, left = (int(v) for v in torch.randint(0, size - 12, (2, ), generator=g))
        label[top:top + 12, left:left + 12] = cls
        image[:, top:top + 12, left:left + 12] = value
    return image, label


def sample_with_gt(label: torch.Tensor, size: int = 32) -> SegDataSample:
    sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
    sample.gt_sem_seg = PixelData(data=label[None].clone())
    return sample


def batch(n=4, start=0):
    """A data batch of ``n`` toy scenes (seeds ``start``..) with their label maps."""
    scenes = [toy_scene(start + i) for i in range(n)]
    return dict(inputs=[img for img, _ in scenes],
                data_samples=[sample_with_gt(label) for _, label in scenes])


def fixed_loss(model, data) -> float:
    """The loss at one fixed draw of t and noise (training-mode batch statistics)."""
    state = torch.get_rng_state()
    torch.manual_seed(123)
    with torch.no_grad():
        losses = model.loss(**model.data_preprocessor(copy.deepcopy(data), True))
    torch.set_rng_state(state)
    return float(sum(value for key, value in losses.items() if 'loss' in key))
