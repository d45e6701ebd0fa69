"""DeformableReadout / DeformableReadoutASPPHead: DiffMatch Table 5's Dis. Baseline readout,
the mask denoiser's parameters minus its diffusion-specific parts."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from cdmx.models.heads import DeformableReadout, MaskDenoiser
from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError

# The paper-scale readout (deeplabv3plus_r101-d8_diffmatch.py's denoiser).
PAPER = dict(in_channels=256, embed_dims=256, num_layers=4, num_heads=8, num_levels=3,
             num_points=4, feedforward_channels=1024)


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    init_default_scope('cdmx')
    yield


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def diffusion_parts(denoiser: MaskDenoiser) -> int:
    """What only diffusion needs: the noisy-mask embedding, the time MLP, each layer's FiLM and
    the fusion conv's weights on the embedded mask (its last ``D`` input channels)."""
    fuse_mask_half = denoiser.fuse.weight[:, denoiser.in_channels:].numel()
    return (count(denoiser.mask_embed) + count(denoiser.time_embed) +
            sum(count(layer.film) for layer in denoiser.layers) + fuse_mask_half)


@pytest.mark.parametrize('num_classes', [19, 21])
def test_paper_scale_parameters_are_the_denoisers_minus_the_diffusion_parts(num_classes):
    denoiser = MaskDenoiser(num_classes=num_classes, **PAPER)
    readout = DeformableReadout(**PAPER)
    classifier = nn.Conv2d(PAPER['embed_dims'], num_classes, 1)
    expected = count(denoiser) - diffusion_parts(denoiser) - count(denoiser.predict_y0) + \
        count(classifier)
    assert count(readout) + count(classifier) == expected
    # 19 classes: 3,720,837 (denoiser) - 724,992 (diffusion parts) - 1,285 + 4,883 = 2,999,443
    assert diffusion_parts(denoiser) == 1536 + 131584 + 4 * 131584 + 256 * 256


def test_readout_keeps_the_map_size_and_refuses_bad_input():
    readout = DeformableReadout(in_channels=16, embed_dims=8, num_layers=2, num_heads=2,
                                num_levels=2, num_points=2, feedforward_channels=16)
    out = readout(torch.randn(2, 16, 8, 6))
    assert out.shape == (2, 8, 8, 6) and torch.isfinite(out).all()
    with pytest.raises(CdmxError, match=r'expects z \(N, 16, H, W\)'):
        readout(torch.randn(2, 8, 8, 6))
    with pytest.raises(CdmxError, match='not divisible'):
        DeformableReadout(in_channels=16, embed_dims=10, num_heads=4)
    with pytest.raises(CdmxError, match='num_layers'):
        DeformableReadout(in_channels=16, num_layers=0)


def test_aspp_head_classifies_the_readout_output():
    head = HEADS.build(dict(
        type='DeformableReadoutASPPHead', in_channels=64, in_index=3, channels=16,
        dilations=(1, 2), c1_in_channels=8, c1_channels=4, num_classes=3,
        loss_decode=dict(type='mmseg.CrossEntropyLoss'),
        readout=dict(embed_dims=8, num_layers=1, num_heads=2, num_levels=2, num_points=2,
                     feedforward_channels=16)))
    assert head.readout.in_channels == 16  # z: the head's channels
    assert head.conv_seg.in_channels == 8 and head.conv_seg.out_channels == 3
    inputs = [torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4), torch.randn(2, 32, 4, 4),
              torch.randn(2, 64, 4, 4)]
    logits = head(inputs)
    assert logits.shape == (2, 3, 8, 8)
    logits.sum().backward()
    assert head.readout.layers[0].attn.sampling_offsets.weight.grad is not None


@pytest.mark.parametrize('dis_baseline,diffmatch', [
    ('configs/diffmatch/dis-baseline_voc-classic_r101.py', 'configs/diffmatch/voc-classic_r101.py'),
    ('configs/diffmatch/fashion-scenes_dis-baseline_1-16.py',
     'configs/diffmatch/fashion-scenes_diffmatch_1-16.py')])
def test_dis_baseline_configs_copy_the_denoiser_layers_and_the_loop(dis_baseline, diffmatch):
    import os
    from mmengine.config import Config
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    dis = Config.fromfile(os.path.join(root, dis_baseline)).model
    ref = Config.fromfile(os.path.join(root, diffmatch)).model
    readout, denoiser = dis.segmentor.decode_head.readout, ref.segmentor.denoiser
    for key in ('embed_dims', 'num_layers', 'num_heads', 'num_levels', 'num_points',
                'feedforward_channels'):
        assert readout[key] == denoiser[key], key
    assert readout.get('dropout', 0.0) == denoiser.get('dropout', 0.0)
    for key in ('teacher', 'confidence_threshold', 'cutmix_prob', 'feature_dropout',
                'unsup_weight', 'burn_in_iters'):
        assert dis.get(key) == ref.get(key), key
    assert dis.segmentor.backbone == ref.segmentor.backbone
