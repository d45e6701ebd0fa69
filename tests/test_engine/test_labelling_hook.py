"""ConfidenceLabellingHook in a real mmengine Runner: rounds, dataset calls, log, plot, resume,
and the same run in two gloo processes (marked slow: ``pytest -m slow``).

The toy model scores a pool sample from two fixed direction vectors ``a`` and ``b`` (K+1 = 3
entries each): ``q = softmax(w * a)``, ``q~ = softmax(w * b)``, where ``w`` counts the training
steps taken so far. With one step per epoch, ``w`` is 1 at the first round and 2 at the second,
so a sample with a = b = 5 e_c is confident (>= 0.98) from round 1 and one with a = b = 3 e_c
only from round 2 (softmax max 0.909 at w = 1, 0.995 at w = 2).
"""
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch import nn
from torch.utils.data import Dataset

from cdmx.engine import setup_distributed
from cdmx.engine.hooks.labelling_hook import CHECKPOINT_KEY
from cdmx.models.bn_policy import BatchNormPolicy
from cdmx.registry import DATASETS, HOOKS, MODELS
from cdmx.utils.errors import CdmxError

E = torch.eye(3)
# (id, gt_label, a, b): K = 2 known classes, label 2 = "other".
POOL = [
    (100, 0, 5 * E[0], 5 * E[0]),  # known 0, round 1, correct
    (101, 1, 3 * E[1], 3 * E[1]),  # known 1, round 2, correct
    (102, 2, 5 * E[2], 5 * E[2]),  # other, round 1, correct
    (103, 0, 5 * E[1], 5 * E[1]),  # selected as 1 in round 1, wrong
    (104, 1, 5 * E[0], 5 * E[1]),  # the scores disagree: never selected
    (105, 2, 3 * E[2], 3 * E[2]),  # other, round 2, correct
    (106, 0, 1 * E[0], 1 * E[0]),  # never confident by round 2
]


@DATASETS.register_module()
class LabellingHookTestPool(Dataset):
    """The pool above: ``inputs`` (2, 3) = [a, b], a DataSample with gt_label and sample_idx."""
    metainfo = dict(classes=('tee', 'boot'))

    def __len__(self) -> int:
        return len(POOL)

    def __getitem__(self, index: int) -> dict:
        sid, gt, a, b = POOL[index]
        sample = DataSample(metainfo=dict(sample_idx=sid)).set_gt_label(gt)
        return dict(inputs=torch.stack([a, b]), data_samples=sample)


@DATASETS.register_module()
class LabellingHookTestTrain(Dataset):
    """One training item per epoch; records every set_pseudo_labels call (they accumulate)."""

    def __init__(self):
        self.calls = []

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.zeros(2, 3), data_samples=DataSample())

    def set_pseudo_labels(self, ids, labels) -> None:
        earlier = {i for done, _ in self.calls for i in done}
        assert earlier.isdisjoint(ids), 'an id was handed over twice'
        self.calls.append((list(ids), list(labels)))


@MODELS.register_module()
class LabellingHookTestNet(BaseModel):
    """``w`` (a buffer) counts training steps; predict: q = softmax(w a), q~ = softmax(w b)."""

    def __init__(self):
        super().__init__()
        self.predicted = []  # ids this process scored, one list per predicted batch
        self.param = nn.Parameter(torch.zeros(1))
        self.register_buffer('w', torch.zeros(()))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.w += 1
            return dict(loss=(self.param ** 2).sum())
        self.predicted.append([int(s.sample_idx) for s in data_samples])
        batch = torch.stack(inputs)
        q = (self.w * batch[:, 0]).softmax(dim=1)
        q_tilde = (self.w * batch[:, 1]).softmax(dim=1)
        for sample, qi, qti in zip(data_samples, q, q_tilde):
            sample.set_field(qi, 'open_score', dtype=torch.Tensor)
            sample.set_field(qti, 'known_driven_score', dtype=torch.Tensor)
        return data_samples


@MODELS.register_module()
class LabellingHookTestNetPoolBN(LabellingHookTestNet):
    """The network above with a BN policy of 'pool' statistics (and no BN layer)."""

    def __init__(self):
        super().__init__()
        self.bn_policy = BatchNormPolicy(eval_statistics='pool')


@DATASETS.register_module()
class LabellingHookTestTrainWithPool(LabellingHookTestTrain):
    """The training set of the tests above that also names its pool (as UCDMPairDataset does)."""

    @property
    def unlabeled_pool(self):
        return LabellingHookTestPool()


def _cfg(work_dir, length=2, resume_from=None, train_type='LabellingHookTestTrain',
         by_epoch=True, pool_dataset=dict(type='LabellingHookTestPool'), begin=None,
         model='LabellingHookTestNet'):
    """A Runner config training ``length`` epochs (``by_epoch``) or iterations."""
    loader = dict(batch_size=4, num_workers=0, collate_fn=dict(type='pseudo_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    return Config(dict(
        model=dict(type=model),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, dataset=dict(type=train_type)),
        train_cfg=dict(by_epoch=True, max_epochs=length) if by_epoch else dict(
            type='IterBasedTrainLoop', max_iters=length),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[dict(type='ConfidenceLabellingHook', interval=1, max_rounds=2,
                           by_epoch=by_epoch, begin=begin,
                           pool=dict(loader, dataset=pool_dataset) if pool_dataset
                           else dict(loader))],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        resume=resume_from is not None, load_from=resume_from,
        default_scope='cdmx', env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING', experiment_name=os.path.basename(str(work_dir))))


def _runner(work_dir, **kwargs):
    return Runner.from_cfg(_cfg(work_dir, **kwargs))


# set_pseudo_labels calls of rounds 1 and 2: the newly labelled ids and their labels.
EXPECTED_CALLS = [([100, 102, 103], [0, 2, 1]), ([101, 105], [1, 2])]


def _hook(runner):
    return next(h for h in runner.hooks if type(h).__name__ == 'ConfidenceLabellingHook')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('labelling')
    runner = _runner(work_dir, length=3)  # a third epoch: max_rounds stops the hook
    runner.train()
    return runner


def test_rounds_select_the_confident_agreeing_samples(trained):
    runner = trained
    calls = runner.train_dataloader.dataset.calls
    assert calls == EXPECTED_CALLS
    assert _hook(runner).labels == {100: 0, 101: 1, 102: 2, 103: 1, 105: 2}


def test_json_log_counts_selected_and_correct_per_class(trained):
    runner = trained
    with open(os.path.join(runner.work_dir, 'labelling.json')) as f:
        log = json.load(f)
    assert log['classes'] == ['tee', 'boot', 'other']
    first, second = log['rounds']
    assert (first['round'], first['epoch'], first['iter']) == (1, 1, 1)
    assert first['pool_unlabelled'] == 7 and first['labelled_total'] == 3
    assert first['selected'] == [1, 1, 1] and first['correct'] == [1, 0, 1]
    assert (second['round'], second['epoch'], second['pool_unlabelled']) == (2, 2, 4)
    assert second['selected'] == [0, 1, 1] and second['correct'] == [0, 1, 1]
    assert len(log['rounds']) == 2  # max_rounds reached before epoch 3


def test_plot_is_a_png(trained):
    runner = trained
    with open(os.path.join(runner.work_dir, 'labelling.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_state_survives_checkpoint_and_resume_is_exact(trained, tmp_path):
    full = trained
    epoch_1 = os.path.join(full.work_dir, 'epoch_1.pth')
    saved = torch.load(epoch_1, map_location='cpu', weights_only=True)[CHECKPOINT_KEY]
    assert saved['ids'] == [100, 102, 103] and saved['labels'] == [0, 2, 1]
    resumed = _runner(tmp_path, length=3, resume_from=epoch_1)
    resumed.train()
    calls = resumed.train_dataloader.dataset.calls
    assert calls[0] == ([100, 102, 103], [0, 2, 1])  # re-applied in before_train
    assert calls[1:] == full.train_dataloader.dataset.calls[1:]
    assert _hook(resumed).rounds == _hook(full).rounds
    assert _hook(resumed).labels == _hook(full).labels


def test_rounds_can_count_iterations(tmp_path):
    runner = _runner(tmp_path, length=3, by_epoch=False)
    runner.train()
    assert runner.train_dataloader.dataset.calls == EXPECTED_CALLS
    assert [(r['epoch'], r['iter']) for r in _hook(runner).rounds] == [(None, 1), (None, 2)]


def test_first_round_can_begin_later(tmp_path):
    # Rounds after iterations 2 and 3: at w = 2 every sample scored 3 or 5 is confident.
    runner = _runner(tmp_path, length=3, by_epoch=False, begin=2)
    runner.train()
    assert runner.train_dataloader.dataset.calls == [([100, 101, 102, 103, 105],
                                                       [0, 1, 2, 1, 2])]
    assert [r['iter'] for r in _hook(runner).rounds] == [2, 3]


def test_pool_defaults_to_the_training_datasets_unlabeled_pool(tmp_path):
    runner = _runner(tmp_path, train_type='LabellingHookTestTrainWithPool', pool_dataset=None)
    runner.train()
    assert runner.train_dataloader.dataset.calls == EXPECTED_CALLS


def test_no_pool_anywhere_is_refused(tmp_path):
    runner = _runner(tmp_path, pool_dataset=None)
    with pytest.raises(CdmxError, match='no unlabeled_pool'):
        runner.train()


def test_bn_reestimation_runs_before_each_round(tmp_path):
    """A model whose BN policy uses 'pool' statistics has them re-estimated on the pool before
    it is scored; the toy network has no BN layer, which the re-estimation refuses in one
    sentence."""
    runner = _runner(tmp_path, model='LabellingHookTestNetPoolBN')
    with pytest.raises(CdmxError, match='no batch-norm layer to re-estimate'):
        runner.train()


def test_training_dataset_without_the_interface_is_refused(tmp_path):
    runner = _runner(tmp_path, train_type='LabellingHookTestPool')
    with pytest.raises(CdmxError, match='set_pseudo_labels'):
        runner.train()


@pytest.mark.parametrize('kwargs', [dict(interval=0), dict(max_rounds=True),
                                    dict(pool=dict(batch_size=4, dataset=dict(type='X'))),
                                    dict(pool=[]), dict(begin=-1)])
def test_bad_hook_arguments_are_refused(kwargs):
    cfg = dict(type='ConfidenceLabellingHook',
               pool=dict(dataset=dict(type='X'), sampler=dict(type='DefaultSampler')))
    with pytest.raises(CdmxError, match='ConfidenceLabellingHook'):
        HOOKS.build(dict(cfg, **kwargs))


def _ddp_worker(rank: int, port: int, work_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    cfg = _cfg(work_dir)
    setup_distributed(cfg, 'pytorch')
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = _hook(runner)
    with open(os.path.join(work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(dict(calls=runner.train_dataloader.dataset.calls, rounds=hook.rounds,
                       predicted=runner.model.module.predicted), f)


@pytest.mark.slow  # about 25 s on 2 cores: two processes import torch, mmengine and cdmx
@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='two CPU processes; with CUDA, mmengine opens an nccl group per GPU')
def test_two_ranks_share_the_pool_and_take_identical_decisions(tmp_path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_ddp_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    ranks = []
    for rank in (0, 1):
        with open(tmp_path / f'rank{rank}.json') as f:
            ranks.append(json.load(f))
    for result in ranks:
        assert [tuple(c) for c in result['calls']] == EXPECTED_CALLS
        assert result['rounds'] == ranks[0]['rounds']
        assert [r['selected'] for r in result['rounds']] == [[1, 1, 1], [0, 1, 1]]
    # DefaultSampler(shuffle=False) gives rank r the positions r, r + 2, ... (padded to 4 each);
    # with batch size 4 each rank scores one batch per round.
    shares = [[sorted(batch) for batch in r['predicted']] for r in ranks]
    assert shares == [[[100, 102, 104, 106]] * 2, [[100, 101, 103, 105]] * 2]
