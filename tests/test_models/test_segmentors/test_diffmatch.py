"""DiffMatch: extractor without classifier, training, DDIM prediction, trajectory, checkpoints,
and evaluation by mmseg's own Runner and IoUMetric."""
import copy
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from PIL import Image
from tiny_segmentors import (NUM_CLASSES, PREPROCESSOR, aux_head, batch, diffmatch_cfg,
                             fixed_loss, toy_scene)

from cdmx.models import DiffMatch
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    init_default_scope('cdmx')
    yield


def build(**kwargs) -> DiffMatch:
    torch.manual_seed(0)
    model = MODELS.build(diffmatch_cfg(**kwargs))
    model.init_weights()
    return model


def test_extractor_is_the_head_without_classifier():
    model = build()
    assert isinstance(model.decode_head.conv_seg, nn.Identity) and model.decode_head.dropout is None
    z = model.extract_pixel_embedding(torch.randn(2, 3, 32, 32))
    assert z.shape == (2, 16, 8, 8)  # head channels at 1/4 scale
    assert model.denoiser.in_channels == 16 and model.denoiser.num_classes == NUM_CLASSES


def test_train_steps_are_finite_and_overfit_a_toy():
    model = build()
    data = batch()
    before = fixed_loss(model, data)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=3e-3))
    for _ in range(3):
        logs = model.train_step(copy.deepcopy(data), optim)
        assert set(logs) == {'loss', 'loss_diffusion', 'loss_adjust'}
        assert all(torch.isfinite(value) for value in logs.values())
    for _ in range(20):
        model.train_step(copy.deepcopy(data), optim)
    assert fixed_loss(model, data) < 0.2 * before


def test_auxiliary_head_trains_the_extractor_on_z_and_leaves_inference_alone():
    model = build(auxiliary_head=aux_head(16, 0))  # z: 16 channels
    data = model.data_preprocessor(batch(2), True)
    losses = model.loss(**data)
    assert {'loss_diffusion', 'loss_adjust', 'aux.loss_ce'} <= set(losses)
    model.zero_grad()
    losses['aux.loss_ce'].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.denoiser.parameters())
    z = model.extract_pixel_embedding(data['inputs'])
    assert 'aux.loss_ce' not in model.loss_by_embedding(z, data['data_samples'],
                                                        auxiliary=False)
    plain = build()
    plain.load_state_dict({k: v for k, v in model.state_dict().items()
                           if not k.startswith('auxiliary_head.')})
    model.eval(), plain.eval()
    torch.manual_seed(5)
    expected = plain.encode_decode(data['inputs'], [])
    torch.manual_seed(5)
    assert torch.equal(model.encode_decode(data['inputs'], []), expected)


def test_gt_is_resized_by_nearest_and_counted_for_the_prior():
    model = build()
    data = model.data_preprocessor(batch(2), True)
    labels = model.labels_at(data['data_samples'], (8, 8))
    full = data['data_samples'][0].gt_sem_seg.data[0]
    assert torch.equal(labels[0], full[::4, ::4])
    model.loss(**data)
    expected = torch.bincount(torch.stack([s.gt_sem_seg.data for s in data['data_samples']])
                              .flatten(), minlength=NUM_CLASSES).double()
    assert torch.equal(model.gt_class_counts, expected)
    assert torch.allclose(model.class_prior(), ((expected + 1) / (expected + 1).sum()).float())
    fixed = build(class_prior=[2.0, 1.0, 1.0])
    assert fixed.class_prior().tolist() == [0.5, 0.25, 0.25]


@pytest.mark.parametrize('loss_at', ['feature', 'input'])
def test_loss_resolution(loss_at):
    # A pixel that nearest-neighbour resizing to 1/4 scale skips ((1, 1) of a 32 x 32 map) is
    # scored with loss_at='input' only.
    model = build(loss_at=loss_at, loss=dict(type='DebiasedDiffusionLoss', tau=0.0))
    data = batch(2)
    before = fixed_loss(model, data)
    for sample in data['data_samples']:
        sample.gt_sem_seg.data[0, 1, 1] = 255
    after = fixed_loss(model, data)
    assert (after != before) == (loss_at == 'input')
    with pytest.raises(CdmxError, match='loss_at'):
        build(loss_at='output')


def test_ignored_pixels_and_bad_labels():
    model = build()
    data = model.data_preprocessor(batch(2), True)
    for sample in data['data_samples']:
        sample.gt_sem_seg.data[:] = 255
    losses = model.loss(**data)
    assert float(losses['loss_diffusion']) == 0
    data = model.data_preprocessor(batch(2), True)
    data['data_samples'][0].gt_sem_seg.data[0, 0, 0] = 7
    with pytest.raises(CdmxError, match='outside the classes'):
        model.loss(**data)


@pytest.mark.parametrize('test_cfg', [dict(mode='whole'),
                                      dict(mode='slide', crop_size=(16, 16), stride=(12, 12))])
def test_predict_shapes_and_argmax_with_rescaling(test_cfg):
    model = build(steps=2, test_cfg=test_cfg).eval()
    data = batch(2)
    for sample in data['data_samples']:
        sample.set_metainfo(dict(ori_shape=(48, 40)))
    with torch.no_grad():
        out = model.test_step(data)
    assert len(out) == 2
    logits, pred = out[0].seg_logits.data, out[0].pred_sem_seg.data
    assert logits.shape == (NUM_CLASSES, 48, 40) and pred.shape == (1, 48, 40)
    assert torch.equal(pred[0], logits.argmax(0))
    assert int(pred.max()) < NUM_CLASSES


def test_sampling_steps_and_trajectory():
    model = build(steps=3, td=0.2).eval()
    data = model.data_preprocessor(batch(2), False)
    with torch.no_grad():
        z = model.extract_pixel_embedding(data['inputs'])
        assert len(model.sample(z)) == 3 and len(model.sample(z, steps=5)) == 5
        assert model.sample(z)[-1].shape == (2, model.denoiser.label_channels, 8, 8)
        trajectory = model.predict_trajectory(data['inputs'], data['data_samples'])
    assert len(trajectory) == 3
    for step in trajectory:
        assert len(step) == 2 and step[1].pred_sem_seg.data.shape == (1, 32, 32)
    assert 'pred_sem_seg' not in data['data_samples'][0]  # the caller's samples are untouched
    with torch.no_grad():
        assert model(data['inputs'], mode='tensor').shape == (2, NUM_CLASSES, 8, 8)


def test_self_conditioning_in_training_and_sampling(monkeypatch):
    denoiser = dict(type='MaskDenoiser', embed_dims=16, num_layers=1, num_heads=2, num_levels=2,
                    num_points=2, feedforward_channels=32, self_condition=True)
    model = build(denoiser=denoiser, class_prior=[0.9, 0.05, 0.05], debias_sampling=0.5)
    calls = []
    forward = model.denoiser.forward

    def recording(z, y_t, logsnr, y0_prev=None):
        out = forward(z, y_t, logsnr, y0_prev)
        calls.append((y0_prev, out, torch.is_grad_enabled()))
        return out

    monkeypatch.setattr(model.denoiser, 'forward', recording)
    data = model.data_preprocessor(batch(2), True)
    per_loss = []
    for _ in range(8):
        calls.clear()
        model.loss(**copy.deepcopy(data))
        per_loss.append(len(calls))
        if len(calls) == 2:  # a no-gradient first estimate, then the refinement read it
            assert calls[0][0] is None and not calls[0][2]
            assert calls[1][0] is calls[0][1] and calls[1][2]
        else:
            assert calls[0][0] is None and calls[0][2]
    assert set(per_loss) == {1, 2}
    calls.clear()
    model.eval()
    with torch.no_grad():
        steps = model.sample(torch.randn(2, 16, 8, 8))
    assert calls[0][0] is None
    for (previous, _, _), (_, raw, _) in zip(calls[1:], calls[:-1]):
        assert previous is raw  # the raw estimate, not its debiased version
    assert not torch.equal(steps[0], calls[0][1])  # the result is debiased


@pytest.mark.parametrize('encoding', ['analog_bits', 'one_hot'])
def test_debias_sampling_divides_each_step_by_the_prior(encoding):
    denoiser = dict(type='MaskDenoiser', embed_dims=16, num_layers=1, num_heads=2, num_levels=2,
                    num_points=2, feedforward_channels=32, label_encoding=encoding)
    skewed = build(denoiser=denoiser, class_prior=[0.9, 0.05, 0.05], debias_sampling=1.0)
    # A prediction halfway between the codes of class 0 (frequent) and class 1 (rare).
    vectors = skewed.denoiser.class_vectors()
    y0 = ((vectors[0] + vectors[1]) / 2 + 0.01 * vectors[0])[None, :, None, None]
    assert int(skewed.denoiser.decode(y0)) == 0
    assert int(skewed.denoiser.decode(skewed.debias(y0))) == 1
    # A uniform prior divides nothing away; without debiasing, sampling is the denoiser's own.
    uniform = build(denoiser=denoiser, class_prior=[1.0, 1.0, 1.0], debias_sampling=1.0)
    assert torch.allclose(uniform.debias(y0), y0, atol=1e-7)
    plain = build(denoiser=denoiser, class_prior=[0.9, 0.05, 0.05])
    z = torch.randn(2, 16, 8, 8)
    runs = []
    for model in (plain, uniform, skewed):
        model.eval()
        torch.manual_seed(3)
        with torch.no_grad():
            runs.append(model.sample(z))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(runs[0], runs[1]))
    # The first step: the prediction from pure noise at t = 1, debiased.
    torch.manual_seed(3)
    noise = torch.randn(2, skewed.denoiser.label_channels, 8, 8)
    with torch.no_grad():
        first = skewed.debias(skewed.denoiser(z, noise, skewed.schedule.logsnr(torch.ones(2))))
    assert torch.allclose(runs[2][0], first, atol=1e-6)
    assert not torch.allclose(runs[0][0], runs[2][0])


def test_state_dict_round_trip():
    model = build()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    model.train_step(batch(2), optim)
    copy_model = MODELS.build(diffmatch_cfg())
    copy_model.load_state_dict(model.state_dict())
    assert torch.equal(copy_model.gt_class_counts, model.gt_class_counts)
    model.eval(), copy_model.eval()
    inputs = model.data_preprocessor(batch(1), False)['inputs']
    outputs = []
    for m in (model, copy_model):
        torch.manual_seed(5)
        with torch.no_grad():
            outputs.append(m.encode_decode(inputs, [{}]))
    assert torch.equal(*outputs)


def test_bad_configs():
    with pytest.raises(CdmxError, match='num_classes'):
        build(denoiser=dict(type='MaskDenoiser', num_classes=5))
    with pytest.raises(CdmxError, match='class_prior has 2 values but the model has 3 classes'):
        build(class_prior=[1.0, 1.0])
    with pytest.raises(CdmxError, match=r'classes \[2\] probability 0 .* never occur'):
        build(class_prior=[5.0, 1.0, 0.0])
    with pytest.raises(CdmxError, match='negative or non-finite'):
        build(class_prior=[5.0, -1.0, 1.0])
    with pytest.raises(CdmxError, match='steps'):
        build(steps=0)
    with pytest.raises(CdmxError, match='debias_sampling'):
        build(debias_sampling=-0.5)
    with pytest.raises(CdmxError, match='ignore_index'):
        build(loss=dict(type='DebiasedDiffusionLoss', ignore_index=0))


def write_tiny_seg_dataset(root: str, count: int = 2) -> None:
    """img_dir/val/*.png and ann_dir/val/*.png in mmseg's BaseSegDataset layout."""
    for folder in ('img_dir/val', 'ann_dir/val'):
        os.makedirs(os.path.join(root, folder))
    for i in range(count):
        image, label = toy_scene(i)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(
            os.path.join(root, 'img_dir/val', f'{i}.png'))
        Image.fromarray(label.numpy().astype(np.uint8)).save(
            os.path.join(root, 'ann_dir/val', f'{i}.png'))


def mmseg_scope_model_cfg() -> dict:
    """The tiny DiffMatch written as an mmseg user would: default scope mmseg, cdmx prefixed."""
    cfg = diffmatch_cfg(type='cdmx.DiffMatch').to_dict()
    cfg['backbone']['type'] = 'ResNetV1c'
    cfg['decode_head']['type'] = 'DepthwiseSeparableASPPHead'
    cfg['decode_head']['loss_decode']['type'] = 'CrossEntropyLoss'
    cfg['data_preprocessor'] = dict(PREPROCESSOR, type='SegDataPreProcessor')
    cfg['data_preprocessor'].pop('size')
    return cfg


def test_checkpoint_evaluated_by_mmseg_runner_and_iou_metric(tmp_path):
    from mmengine.runner import Runner
    root = str(tmp_path / 'data')
    write_tiny_seg_dataset(root)
    checkpoint = str(tmp_path / 'diffmatch.pth')
    torch.save(dict(state_dict=build().state_dict(), meta=dict()), checkpoint)
    cfg = Config(dict(
        default_scope='mmseg', custom_imports=dict(imports=['cdmx'], allow_failed_imports=False),
        model=mmseg_scope_model_cfg(), work_dir=str(tmp_path / 'work'), load_from=checkpoint,
        test_dataloader=dict(
            batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='BaseSegDataset', data_root=root,
                         metainfo=dict(classes=('background', 'bright', 'dark'),
                                       palette=[[0, 0, 0], [255, 255, 255], [9, 9, 9]]),
                         data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                         img_suffix='.png', seg_map_suffix='.png',
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='LoadAnnotations'),
                                   dict(type='PackSegInputs')])),
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        test_cfg=dict(type='TestLoop'),
        visualizer=dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')]),
        default_hooks=dict(visualization=dict(type='SegVisualizationHook', draw=True,
                                              interval=1)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')), log_level='WARNING'))
    runner = Runner.from_cfg(cfg)
    assert type(runner.model).__name__ == 'DiffMatch'
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100 and 'aAcc' in metrics


def test_a_class_absent_from_the_labelled_pixels_gets_the_smoothed_floor():
    # Counted prior: a class the labelled split never shows has (0 + 1) / (n + C), not 0, so
    # Eq. 10's 1 / (C p) stays finite (a fixed class_prior with a 0 is refused, above).
    model = build()
    data = batch(2)
    for sample in data['data_samples']:
        sample.gt_sem_seg.data[sample.gt_sem_seg.data == 2] = 0
    losses = model.loss(**model.data_preprocessor(data, True))
    assert all(torch.isfinite(v) for k, v in losses.items() if 'loss' in k)
    n = float(model.gt_class_counts.sum())
    assert float(model.gt_class_counts[2]) == 0
    assert float(model.class_prior()[2]) == pytest.approx(1 / (n + NUM_CLASSES))


def test_labelled_counts_are_summed_over_processes(monkeypatch):
    import cdmx.models.segmentors.class_prior as class_prior
    other = torch.tensor([100.0, 0.0, 7.0], dtype=torch.float64)  # another rank's pixels
    monkeypatch.setattr(class_prior, 'all_reduce', lambda data, op='sum': data.add_(other))
    model = build()
    data = model.data_preprocessor(batch(2), True)
    model.loss(**data)
    mine = torch.bincount(torch.stack([s.gt_sem_seg.data for s in data['data_samples']])
                          .flatten(), minlength=NUM_CLASSES).double()
    assert torch.equal(model.gt_class_counts, mine + other)


def test_checkpoint_of_another_number_of_classes_is_refused(tmp_path):
    from mmengine.runner import load_checkpoint
    four = diffmatch_cfg()
    four.decode_head.num_classes = 4
    torch.manual_seed(0)
    path = str(tmp_path / 'four.pth')
    torch.save(dict(state_dict=MODELS.build(four).state_dict()), path)
    model = build()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(CdmxError, match='trained for 4 classes .* this model has 3'):
        load_checkpoint(model, path, strict=False, map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
