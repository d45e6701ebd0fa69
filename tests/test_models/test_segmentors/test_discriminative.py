"""DiscriminativeSegmentor: post-hoc logit adjustment by the labelled class prior, its counts,
and DiffMatch Table 5's Dis. Baseline (DeformableReadoutASPPHead) built and trained a few
iterations in the semi-supervised loop."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from test_semi_supervised import labelled_item, unlabelled_item
from tiny_segmentors import (DENOISER, NUM_CLASSES, PREPROCESSOR, baseline_cfg,
                             diffmatch_cfg, dis_baseline_cfg, sample_with_gt, toy_scene)

from cdmx.models import DiscriminativeSegmentor
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    init_default_scope('cdmx')
    yield


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


METAS = [dict(img_shape=(32, 32), pad_shape=(32, 32))]


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_logit_adjustment_subtracts_alpha_log_prior():
    plain = build(baseline_cfg())
    prior = [0.9, 0.05, 0.05]
    inputs = plain.data_preprocessor(dict(inputs=[toy_scene(0)[0]], data_samples=None),
                                     False)['inputs']
    models = {alpha: build(baseline_cfg(type='DiscriminativeSegmentor', logit_adjust=alpha,
                                        class_prior=prior)) for alpha in (0.0, 0.5)}
    for model in (plain, *models.values()):
        model.load_state_dict(plain.state_dict(), strict=False)
        model.eval()
    with torch.no_grad():
        logits = plain.encode_decode(inputs, METAS)
        assert torch.equal(models[0.0].encode_decode(inputs, METAS), logits)
        shift = -0.5 * torch.tensor(prior).log()[None, :, None, None]
        assert torch.allclose(models[0.5].encode_decode(inputs, METAS), logits + shift)
        assert torch.allclose(models[0.5](inputs, mode='tensor'),
                              plain(inputs, mode='tensor') + shift)
    # as DiffMatch's debias_sampling: the posterior divided by p^alpha, renormalised
    posterior = logits.softmax(1) / torch.tensor(prior)[None, :, None, None] ** 0.5
    with torch.no_grad():
        adjusted = models[0.5].encode_decode(inputs, METAS).softmax(1)
    assert torch.allclose(adjusted, posterior / posterior.sum(1, keepdim=True), atol=1e-6)


def test_counted_prior_and_bad_input():
    model = build(baseline_cfg(type='DiscriminativeSegmentor', logit_adjust=1.0))
    images, labels = zip(*(toy_scene(i) for i in range(2)))
    data = model.data_preprocessor(dict(inputs=list(images),
                                        data_samples=[sample_with_gt(l) for l in labels]), True)
    model.loss(**data)
    expected = torch.bincount(torch.stack(labels).flatten(), minlength=NUM_CLASSES).double()
    assert torch.equal(model.gt_class_counts, expected)
    assert torch.allclose(model.class_prior(), ((expected + 1) / (expected + 1).sum()).float())
    with pytest.raises(CdmxError, match='logit_adjust'):
        build(baseline_cfg(type='DiscriminativeSegmentor', logit_adjust=-1.0))
    with pytest.raises(CdmxError, match='class_prior has 4 values but the model has 3'):
        build(baseline_cfg(type='DiscriminativeSegmentor', class_prior=[1, 1, 1, 1]))


def test_dis_baseline_has_the_diffmatch_readout_minus_the_diffusion_parts():
    dis, diffmatch = build(dis_baseline_cfg()), build(diffmatch_cfg())
    assert isinstance(dis, DiscriminativeSegmentor)
    denoiser, head = diffmatch.denoiser, dis.decode_head
    assert len(head.readout.layers) == DENOISER['num_layers']
    diffusion_parts = (count(denoiser.mask_embed) + count(denoiser.time_embed) +
                       sum(count(layer.film) for layer in denoiser.layers) +
                       denoiser.fuse.weight[:, denoiser.in_channels:].numel())
    assert count(dis) == count(diffmatch) - diffusion_parts - count(denoiser.predict_y0) + \
        count(head.conv_seg)


def test_dis_baseline_trains_in_the_semi_supervised_loop():
    segmentor = dis_baseline_cfg()
    segmentor.pop('data_preprocessor')
    model = build(dict(type='SemiSupervisedSegmentor', segmentor=segmentor,
                       confidence_threshold=0.0,
                       data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                                              data_preprocessor=PREPROCESSOR)))
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    batch = pseudo_collate([labelled_item(0), labelled_item(1), unlabelled_item(2),
                            unlabelled_item(3)])
    readout = model.student.decode_head.readout.layers[0].attn.value_proj.weight
    before = readout.detach().clone()
    for _ in range(3):
        logs = model.train_step(copy.deepcopy(batch), optim)
        assert {'sup_decode.loss_ce', 'unsup_decode.loss_ce', 'unsup_pseudo_ratio'} <= set(logs)
        assert all(torch.isfinite(value) for value in logs.values())
    assert not torch.equal(readout, before)
    assert torch.equal(model.student.gt_class_counts, model.labelled_counts)
    model.eval()
    with torch.no_grad():
        out = model.test_step(dict(inputs=[toy_scene(0)[0]],
                                   data_samples=[sample_with_gt(toy_scene(0)[1])]))
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
