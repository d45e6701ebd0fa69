"""SemiSupervisedSegmentor: both branches, pseudo-labels from the identical or an EMA teacher,
CutMix, class-prior EMA, counts summed over processes, buffers in checkpoints, the
discriminative baseline, bad input."""
import copy
import socket

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
    assert model.teacher is None and model.teacher_model is model.student  # Sec. 3.1
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
    pseudo = torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)  # pixels 0, 0, 1 (and ignored)
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


def test_ema_teacher_option_is_an_ema_of_the_student():
    model = build(teacher='ema', ema_momentum=0.5)
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
@pytest.mark.parametrize('teacher', ['identical', 'ema'])
def test_predict_on_plain_batches(predict_on, teacher):
    model = build(predict_on=predict_on, segmentor='diffmatch', teacher=teacher,
                  ema_momentum=0.01 if teacher == 'ema' else None).eval()
    image, label = toy_scene(0)
    with torch.no_grad():
        out = model.test_step(dict(inputs=[image], data_samples=[sample_with_gt(label)]))
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    expected = model.teacher.module if predict_on == 'teacher' and teacher == 'ema' \
        else model.student
    assert model.predict_model is expected


def test_state_dict_round_trip_keeps_buffers():
    model = build(confidence_threshold=0.0)
    model.train_step(mixed_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    state = model.state_dict()
    for key in ('labelled_counts', 'pseudo_counts', 'pseudo_gt_counts', 'pseudo_correct',
                'unlabelled_prior', 'prior_initialised'):
        assert key in state
    assert not any(key.startswith('teacher.') for key in state)  # the identical teacher
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
    with pytest.raises(CdmxError, match="'identical'"):
        build(teacher='mean')
    with pytest.raises(CdmxError, match="only read with teacher='ema'"):
        build(ema_momentum=0.01)
    for momentum in (None, 0.0, 1.0):  # 1.0 would copy the student: use teacher='identical'
        with pytest.raises(CdmxError, match='ema_momentum'):
            build(teacher='ema', ema_momentum=momentum)
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
    nothing = torch.zeros(3, dtype=torch.float64)  # no pseudo-label: the prior stays initial
    assert model._update_unlabelled_prior(nothing).tolist() == [0.5, 0.25, 0.25]
    assert build()._update_unlabelled_prior(nothing).tolist() == pytest.approx([1 / 3] * 3)


def set_constant_prediction(segmentor, cls: int) -> None:
    """Make ``segmentor`` predict class ``cls`` at every pixel by editing its last conv (the
    denoiser's encoding of ``cls``, or the classifier's bias)."""
    with torch.no_grad():
        if hasattr(segmentor, 'denoiser'):
            conv = segmentor.denoiser.predict_y0
            conv.weight.zero_()
            conv.bias.copy_(segmentor.denoiser.class_vectors()[cls])
        else:
            conv = segmentor.decode_head.conv_seg
            conv.weight.zero_()
            conv.bias.copy_(10.0 * torch.nn.functional.one_hot(
                torch.tensor(cls), NUM_CLASSES).float())


@pytest.mark.parametrize('segmentor', ['diffmatch', 'baseline'])
def test_identical_teacher_pseudo_labels_follow_the_current_student_weights(segmentor):
    # DiffMatch Sec. 3.1 / UniMatch: the weak view is labelled by the student itself, under
    # no_grad and in eval mode, and the student is back in training mode afterwards.
    model = build(segmentor, confidence_threshold=0.0)
    model.train()
    data = model.data_preprocessor(mixed_batch(), True)
    weak, samples = data['inputs']['unsup_weak'], data['data_samples']['unsup_weak']
    for cls in (1, 2):
        set_constant_prediction(model.student, cls)
        labels, keep = model._pseudo_labels(weak, samples)
        assert keep.all() and (labels == cls).all()
        assert model.student.training and not labels.requires_grad
    # an EMA teacher follows the student only through its updates
    ema = build(segmentor, confidence_threshold=0.0, teacher='ema', ema_momentum=0.5)
    set_constant_prediction(ema.student, 1)
    ema.teacher.update_parameters(ema.student)  # the first update copies
    set_constant_prediction(ema.student, 2)
    labels, _ = ema._pseudo_labels(weak, samples)
    assert (labels == 1).all()


def test_cutmix_is_an_option_off_by_default():
    data = build().data_preprocessor(mixed_batch(), True)
    pseudo = torch.arange(2 * 32 * 32).reshape(2, 32, 32) % NUM_CLASSES
    strong = data['inputs']['unsup_strong']
    images, samples = build()._mixed_strong_view(data['inputs'], data['data_samples'], pseudo)
    assert torch.equal(images, strong)
    assert torch.equal(torch.stack([s.gt_sem_seg.data[0] for s in samples]), pseudo)
    data['inputs']['unsup_strong'] = torch.stack([strong[0], -strong[0]])  # two distinct views
    mixing = build(cutmix_prob=1.0)
    changed = []
    for seed in range(5):  # the partner of a sample may be itself
        torch.manual_seed(seed)
        mixed, _ = mixing._mixed_strong_view(data['inputs'], data['data_samples'], pseudo)
        changed.append(not torch.equal(mixed, data['inputs']['unsup_strong']))
    assert any(changed)


class FakeAllReduce:
    """Stands in for mmengine's all_reduce in a 2-process run whose other rank counted
    ``other``: adds it and records each call."""

    def __init__(self, other: torch.Tensor):
        self.other, self.calls = other, 0

    def __call__(self, data, op='sum', group=None):
        assert op == 'sum'
        self.calls += 1
        data.add_(self.other.to(data))


def test_class_counts_are_summed_over_processes(monkeypatch):
    import cdmx.models.segmentors.class_prior as class_prior
    model = build(confidence_threshold=0.0, burn_in_iters=1, prior_momentum=0.5)
    other = torch.tensor([[10.0, 20.0, 30.0],   # labelled pixels of the other rank
                          [40.0, 0.0, 0.0],     # its pseudo-labels
                          [5.0, 5.0, 5.0],      # its unlabelled ground truth
                          [1.0, 1.0, 1.0]], dtype=torch.float64)
    fake = FakeAllReduce(other)
    monkeypatch.setattr(class_prior, 'all_reduce', fake)
    data = model.data_preprocessor(mixed_batch(), True)
    model.loss(**copy.deepcopy(data))  # burn-in: labelled branch only, still one all-reduce
    assert fake.calls == 1
    labelled = torch.bincount(torch.stack([toy_scene(i)[1] for i in (0, 1)]).flatten(),
                              minlength=NUM_CLASSES).double()
    assert torch.equal(model.labelled_counts, labelled + other[0])
    assert torch.equal(model.pseudo_counts, other[1])
    model.loss(**copy.deepcopy(data))
    assert fake.calls == 2
    assert torch.equal(model.labelled_counts, 2 * (labelled + other[0]))
    assert torch.equal(model.student.gt_class_counts, model.labelled_counts)
    mine = model.pseudo_counts - 2 * other[1]
    assert float(mine.sum()) == 2 * 32 * 32  # this rank's pseudo-labels, every pixel
    # the unlabelled prior: initialised from the labelled prior of both ranks, then one EMA
    # step (m = 0.5) towards the smoothed pseudo-label frequencies of both ranks
    start = (model.labelled_counts + 1) / (model.labelled_counts + 1).sum()
    both = mine + other[1]
    expected = 0.5 * start + 0.5 * (both + 1) / (both + 1).sum()
    assert torch.allclose(model.unlabelled_prior.double(), expected, atol=1e-6)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _two_rank_worker(rank: int, port: int, queue) -> None:
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    try:
        init_default_scope('cdmx')
        segmentor = baseline_cfg(type='DiscriminativeSegmentor')
        segmentor.pop('data_preprocessor')
        model = build(segmentor, confidence_threshold=0.0)
        batch = pseudo_collate([labelled_item(2 * rank), labelled_item(2 * rank + 1),
                                unlabelled_item(4 + 2 * rank), unlabelled_item(5 + 2 * rank)])
        model.loss(**model.data_preprocessor(batch, True))
        queue.put((rank, model.labelled_counts.tolist(), model.pseudo_gt_counts.tolist(),
                   model.student.gt_class_counts.tolist()))  # lists: the worker exits
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_hold_the_same_global_counts():
    import torch.distributed as dist
    import torch.multiprocessing as mp
    if dist.is_available() and dist.is_initialized():
        pytest.skip('a process group is open in this process; the forked ranks need their own')
    ctx = mp.get_context('fork')  # the children inherit the imported modules (a few seconds)
    queue = ctx.Queue()
    port = _free_port()
    workers = [ctx.Process(target=_two_rank_worker, args=(rank, port, queue))
               for rank in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    results = dict((r[0], r[1:]) for r in (queue.get(timeout=5) for _ in workers))
    labelled = torch.bincount(torch.stack([toy_scene(i)[1] for i in range(4)]).flatten(),
                              minlength=NUM_CLASSES).double()
    unlabelled = torch.bincount(torch.stack([toy_scene(i)[1] for i in range(4, 8)]).flatten(),
                                minlength=NUM_CLASSES).double()
    for rank in (0, 1):
        counts, gt_counts, student_counts = results[rank]
        assert counts == labelled.tolist() and student_counts == labelled.tolist()
        assert gt_counts == unlabelled.tolist()


def test_checkpoint_of_another_number_of_classes_is_refused_before_loading(tmp_path):
    from mmengine.runner import load_checkpoint
    model = build()
    path = str(tmp_path / 'four_classes.pth')
    state = model.state_dict()
    state['labelled_counts'] = torch.zeros(4, dtype=torch.float64)
    torch.save(dict(state_dict=state), path)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(CdmxError, match='trained for 4 classes .* this model has 3'):
        load_checkpoint(model, path, strict=False, map_location='cpu')  # the Runner's load_from
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # nothing was overwritten
