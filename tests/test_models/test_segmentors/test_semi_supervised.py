"""SemiSupervisedSegmentor: both branches, pseudo-labels, CutMix, class-prior EMA, teacher EMA,
buffers in checkpoints, the discriminative baseline, bad input."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from tiny_segmentors import (NUM_CLASSES, PREPROCESSOR, aux_head, baseline_cfg,
                             diffmatch_cfg, sample_with_gt, toy_scene)

from cdmx.models import SemiSupervisedSegmentor
from cdmx.models.segmentors.semi_supervised import cutmix_boxes
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    init_default_scope('cdmx')
    yield


def build(segmentor='diffmatch', **kwargs) -> SemiSupervisedSegmentor:
    """``segmentor``: 'diffmatch', 'baseline' or a segmentor config without preprocessor."""
    torch.manual_seed(0)
    if isinstance(segmentor, dict):
        seg = segmentor
    else:
        seg = diffmatch_cfg() if segmentor == 'diffmatch' else baseline_cfg()
        seg.pop('data_preprocessor')
    cfg = dict(type='SemiSupervisedSegmentor', segmentor=seg,
               data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                                      data_preprocessor=PREPROCESSOR))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def brighter(image: torch.Tensor) -> torch.Tensor:
    """A photometric-only strong view."""
    return (image.int() + 30).clamp(0, 255).to(torch.uint8)


def unlabelled_item(seed: int, size: int = 32, with_gt: bool = True) -> dict:
    image, label = toy_scene(seed, size)

    def sample():
        s = sample_with_gt(label, size)
        if not with_gt:
            del s.gt_sem_seg
        return s

    return dict(inputs=dict(sup=None, unsup_weak=image, unsup_strong=brighter(image)),
                data_samples=dict(sup=None, unsup_weak=sample(), unsup_strong=sample()))


def labelled_item(seed: int) -> dict:
    image, label = toy_scene(seed)
    return dict(inputs=dict(sup=image, unsup_weak=None, unsup_strong=None),
                data_samples=dict(sup=sample_with_gt(label), unsup_weak=None, unsup_strong=None))


def mixed_batch(size: int = 32, with_gt: bool = True) -> dict:
    """What pseudo_collate makes of 2 labelled and 2 unlabelled samples."""
    return pseudo_collate([labelled_item(0), labelled_item(1),
                           unlabelled_item(2, size, with_gt), unlabelled_item(3, size, with_gt)])


def test_diffmatch_train_steps_log_both_branches_and_fill_buffers():
    model = build(confidence_threshold=0.0)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    for _ in range(3):
        logs = model.train_step(mixed_batch(), optim)
        assert {'sup_loss_diffusion', 'sup_loss_adjust', 'unsup_loss_diffusion',
                'unsup_loss_adjust', 'unsup_pseudo_ratio', 'unsup_pseudo_acc'} <= set(logs)
        assert all(torch.isfinite(value) for value in logs.values())
    labelled = torch.stack([toy_scene(i)[1] for i in (0, 1)])
    expected = torch.bincount(labelled.flatten(), minlength=NUM_CLASSES).double()
    assert torch.equal(model.labelled_counts, 3 * expected)
    # DiffMatch's own prior (its sampling debias) follows them, in the teacher too.
    assert torch.equal(model.student.gt_class_counts, model.labelled_counts)
    assert torch.equal(model.teacher.module.gt_class_counts, 2 * expected)  # copied before step 3
    unlabelled = torch.stack([toy_scene(i)[1] for i in (2, 3)])
    gt = torch.bincount(unlabelled.flatten(), minlength=NUM_CLASSES).double()
    assert torch.equal(model.pseudo_gt_counts, 3 * gt)
    assert float(model.pseudo_counts.sum()) == 3 * 2 * 32 * 32  # threshold 0: every pixel
    assert (model.pseudo_correct <= model.pseudo_counts).all()
    assert bool(model.prior_initialised)
    assert float(model.unlabelled_prior.sum()) == pytest.approx(1.0)


def test_burn_in_trains_the_labelled_branch_alone():
    model = build(confidence_threshold=0.0, burn_in_iters=2)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    keys = [set(model.train_step(mixed_batch(), optim)) for _ in range(3)]
    assert not any(k.startswith('unsup') for k in keys[0] | keys[1])
    assert {'unsup_loss_diffusion', 'unsup_pseudo_ratio'} <= keys[2]
    assert int(model.train_iters) == 3
    assert float(model.pseudo_counts.sum()) == 2 * 32 * 32  # pseudo-labels of iteration 3 only


def test_unlabelled_ground_truth_never_changes_training():
    losses = []
    for with_gt in (True, False):
        model = build(confidence_threshold=0.0)
        torch.manual_seed(7)
        data = model.data_preprocessor(mixed_batch(with_gt=with_gt), True)
        result = model.loss(**data)
        losses.append({k: float(v) for k, v in result.items() if 'loss' in k})
    assert losses[0] == losses[1]


def test_padding_is_never_pseudo_labelled():
    model = build(confidence_threshold=0.0)
    data = model.data_preprocessor(mixed_batch(size=24), True)  # padded to 32 x 32
    assert data['inputs']['unsup_weak'].shape == (2, 3, 32, 32)
    model.loss(**data)
    assert float(model.pseudo_counts.sum()) == 2 * 24 * 24


def test_class_prior_initialised_from_labelled_then_ema():
    model = build(prior_momentum=0.9)
    model.student.gt_class_counts.copy_(torch.tensor([7.0, 1.0, 0.0], dtype=torch.float64))
    pseudo = torch.tensor([[[0, 0, 1, 255]]])
    prior = model._update_unlabelled_prior(pseudo)
    labelled = torch.tensor([8.0, 2.0, 1.0]) / 11
    smoothed = torch.tensor([3.0, 2.0, 1.0]) / 6  # add-one: class 2 keeps a floor
    expected = 0.9 * labelled + 0.1 * smoothed
    assert torch.allclose(prior, expected)
    again = model._update_unlabelled_prior(pseudo)
    assert torch.allclose(again, 0.9 * expected + 0.1 * smoothed)
    for _ in range(300):  # a class never pseudo-labelled tends to its smoothed share, not 0
        prior = model._update_unlabelled_prior(pseudo)
    assert float(prior[2]) == pytest.approx(1 / 6, rel=1e-3)


def test_teacher_is_an_ema_of_the_student():
    model = build(ema_momentum=0.5)
    for name, value in model.student.state_dict().items():  # init_weights syncs the teacher
        assert torch.equal(value, model.teacher.module.state_dict()[name]), name
    model.teacher.update_parameters(model.student)  # first update copies
    weight = model.student.decode_head.bottleneck.conv.weight
    teacher_weight = model.teacher.module.decode_head.bottleneck.conv.weight
    assert torch.equal(weight, teacher_weight)
    before = weight.detach().clone()
    with torch.no_grad():
        weight.add_(1.0)
    model.teacher.update_parameters(model.student)
    assert torch.allclose(teacher_weight, before + 0.5)
    assert not teacher_weight.requires_grad
    model.train()
    assert model.student.training and not model.teacher.module.training


def test_cutmix_boxes():
    torch.manual_seed(0)
    assert cutmix_boxes(4, 32, 32, 0.0, torch.device('cpu')) == [None] * 4
    for top, bottom, left, right in cutmix_boxes(50, 32, 40, 1.0, torch.device('cpu')):
        assert 0 <= top < bottom <= 32 and 0 <= left < right <= 40
        assert 0.01 <= (bottom - top) * (right - left) / (32 * 40) <= 0.45


def test_discriminative_baseline_threshold_and_feature_dropout():
    model = build('baseline', confidence_threshold=0.95)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    logs = model.train_step(mixed_batch(), optim)
    assert {'sup_decode.loss_ce', 'unsup_decode.loss_ce', 'unsup_pseudo_ratio'} <= set(logs)
    assert float(logs['unsup_pseudo_ratio']) < 1  # an untrained model is rarely 95% sure
    assert float(model.unlabelled_prior.sum()) == pytest.approx(1.0)
    relaxed = build('baseline', confidence_threshold=0.0)
    assert float(relaxed.train_step(mixed_batch(), optim)['unsup_pseudo_ratio']) == 1.0


@pytest.mark.parametrize('segmentor,aux', [('diffmatch', aux_head(16, 0)),
                                            ('baseline', aux_head(32, 2))])
def test_auxiliary_heads_train_on_the_labelled_branch_only(segmentor, aux):
    seg = diffmatch_cfg(auxiliary_head=aux) if segmentor == 'diffmatch' else \
        baseline_cfg(auxiliary_head=aux)
    seg.pop('data_preprocessor')
    model = build(segmentor=seg, confidence_threshold=0.0)
    logs = model.train_step(mixed_batch(),
                            OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert 'sup_aux.loss_ce' in logs and 'unsup_pseudo_ratio' in logs
    assert not any(key.startswith('unsup_aux') for key in logs)


@pytest.mark.parametrize('predict_on', ['teacher', 'student'])
def test_predict_on_plain_batches(predict_on):
    model = build(predict_on=predict_on, segmentor='diffmatch').eval()
    image, label = toy_scene(0)
    with torch.no_grad():
        out = model.test_step(dict(inputs=[image], data_samples=[sample_with_gt(label)]))
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    expected = model.teacher.module if predict_on == 'teacher' else model.student
    assert model.predict_model is expected


def test_state_dict_round_trip_keeps_buffers():
    model = build(confidence_threshold=0.0)
    model.train_step(mixed_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    state = model.state_dict()
    for key in ('labelled_counts', 'pseudo_counts', 'pseudo_gt_counts', 'pseudo_correct',
                'unlabelled_prior', 'prior_initialised', 'teacher.steps'):
        assert key in state
    fresh = build(confidence_threshold=0.0)
    fresh.load_state_dict(copy.deepcopy(state))
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_bad_input():
    model = build()
    image, label = toy_scene(0)
    plain = model.data_preprocessor(dict(inputs=[image], data_samples=[sample_with_gt(label)]),
                                    True)
    with pytest.raises(CdmxError, match='branches'):
        model.loss(**plain)
    data = model.data_preprocessor(mixed_batch(), True)
    del data['inputs']['unsup_strong']
    with pytest.raises(CdmxError, match='both unsup_weak and unsup_strong'):
        model.loss(**data)
    with pytest.raises(CdmxError, match='ema_momentum'):
        build(ema_momentum=0.0)
    with pytest.raises(CdmxError, match='confidence_threshold'):
        build(confidence_threshold=1.5)
    with pytest.raises(CdmxError, match="'teacher' or 'student'"):
        build(predict_on='both')
    with pytest.raises(CdmxError, match='burn_in_iters'):
        build(burn_in_iters=-1)


def test_diffmatch_fixed_class_prior_is_the_labelled_prior():
    seg = diffmatch_cfg(class_prior=[2.0, 1.0, 1.0])
    seg.pop('data_preprocessor')
    model = MODELS.build(dict(type='SemiSupervisedSegmentor', segmentor=seg,
                              data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                                                     data_preprocessor=PREPROCESSOR)))
    model.student.gt_class_counts.fill_(5.0)
    nothing = torch.full((1, 2, 2), 255)  # no pseudo-label: the prior is its initial value
    assert model._update_unlabelled_prior(nothing).tolist() == [0.5, 0.25, 0.25]
    assert build()._update_unlabelled_prior(nothing).tolist() == pytest.approx([1 / 3] * 3)
