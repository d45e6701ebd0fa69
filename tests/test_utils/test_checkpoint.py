"""Checkpoints load under weights_only=True through the allow-list; anything else is refused."""
import ast
import contextlib
import functools
import http.server
import os
import pickle
import threading

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from mmengine.runner import checkpoint as mmengine_checkpoint
from torch import nn

from cdmx.utils import checkpoint as cdmx_checkpoint
from cdmx.utils.errors import CdmxError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Net(BaseModel):
    """BatchNorm then a linear layer: (N, 4) -> (N, 2) logits."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.fc(self.bn(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, torch.as_tensor(labels)))
        return [(int(p), t) for p, t in zip(logits.argmax(1), labels)]


class _Points(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 32

    def __getitem__(self, i):
        x = torch.randn(4, generator=torch.Generator().manual_seed(i))
        return dict(inputs=x, labels=int(x[0] > 0))


class _Accuracy(BaseMetric):
    """Returns a numpy float32, as many metrics do: the best score is saved as a numpy scalar."""

    def process(self, data_batch, data_samples):
        self.results.extend(int(p == t) for p, t in data_samples)

    def compute_metrics(self, results):
        return dict(acc=np.float32(np.mean(results)))


class _Opaque:
    """A class no allow-list names."""


class _MakeDir:
    """Unpickling this calls ``os.mkdir(path)``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _runner(work_dir: str, name: str, max_iters: int, resume: bool = False) -> Runner:
    loader = dict(batch_size=4, dataset=_Points(), collate_fn=dict(type='pseudo_collate'))
    return Runner(
        model=_Net(), work_dir=work_dir, experiment_name=name, resume=resume,
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler')),
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=[_Accuracy()], val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[dict(type='LinearLR', by_epoch=False, begin=0, end=2),
                         dict(type='CosineAnnealingLR', by_epoch=False, begin=2, end=6)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False,
                                           save_best='acc', rule='greater')),
        custom_hooks=[dict(type='EMAHook')], randomness=dict(seed=0))


@pytest.fixture(scope='module')
def runner_checkpoints(tmp_path_factory) -> str:
    """A work dir where the Runner saved iteration, best-score, EMA and scheduler state."""
    work_dir = str(tmp_path_factory.mktemp('runner_ckpt'))
    _runner(work_dir, 'first', max_iters=4).train()
    return work_dir


@contextlib.contextmanager
def _without_allow_list():
    """torch's default weights-only globals only, then cdmx's allow-list again."""
    torch.serialization.clear_safe_globals()
    try:
        yield
    finally:
        cdmx_checkpoint.install()


def test_runner_checkpoints_need_only_allow_listed_globals(runner_checkpoints):
    names = {entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'
             for entry in cdmx_checkpoint.MMENGINE_CHECKPOINT_GLOBALS}
    files = sorted(f for f in os.listdir(runner_checkpoints) if f.endswith('.pth'))
    assert 'iter_4.pth' in files and any(f.startswith('best_acc') for f in files)
    for name in files:
        path = os.path.join(runner_checkpoints, name)
        with _without_allow_list():
            needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
            with pytest.raises(pickle.UnpicklingError):
                torch.load(path, weights_only=True)
        assert needed and set(needed) <= names, (name, needed)
        assert torch.load(path, weights_only=True)['meta']['iter'] in (2, 4)


def test_resume_under_the_allow_list_continues_the_run(runner_checkpoints):
    saved = cdmx_checkpoint.load_from_local(os.path.join(runner_checkpoints, 'iter_4.pth'))
    runner = _runner(runner_checkpoints, 'resumed', max_iters=6, resume=True)
    runner.train()
    assert runner.iter == 6
    # The message hub came back from the checkpoint (HistoryBuffer with numpy arrays) and grew.
    losses = runner.message_hub.get_scalar('train/loss')
    assert len(losses.data[0]) == 6
    np.testing.assert_allclose(losses.data[0][:4],
                               saved['message_hub']['log_scalars']['train/loss'].data[0])


def test_mmengine_load_checkpoint_goes_through_cdmx(runner_checkpoints):
    model = _Net()
    checkpoint = load_checkpoint(model, os.path.join(runner_checkpoints, 'iter_4.pth'))
    assert torch.equal(model.fc.weight, checkpoint['state_dict']['fc.weight'])


@pytest.mark.parametrize('payload, reason', [
    (lambda tmp: _Opaque(), f'{__name__}._Opaque'),
    (lambda tmp: _MakeDir(str(tmp / 'made')), 'posix.mkdir'),
], ids=['custom-class', 'reduce-call'])
def test_foreign_objects_are_refused_with_one_sentence(tmp_path, payload, reason):
    path = str(tmp_path / 'foreign.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(2)), meta=payload(tmp_path)), path)
    for load in (cdmx_checkpoint.load_from_local, CheckpointLoader.load_checkpoint,
                 functools.partial(load_checkpoint, _Net())):
        with pytest.raises(CdmxError) as raised:
            load(path)
        assert str(raised.value) == (
            f"checkpoint {path} holds objects outside cdmx's allow-list of checkpoint contents "
            f'({reason}), so cdmx will not unpickle it; load only checkpoints of tensors and '
            'plain containers, such as those tools/train.py saves.')
    assert not (tmp_path / 'made').exists()


def test_getattr_is_allowed_only_for_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'getattr.pth')

    class _GetDict:  # unpickles as getattr(HistoryBuffer, '__dict__')
        def __reduce__(self):
            from mmengine.logging import HistoryBuffer
            return getattr, (HistoryBuffer, '__dict__')

    torch.save(dict(meta=_GetDict()), path)
    with pytest.raises(CdmxError, match='is not a HistoryBuffer statistics method'):
        cdmx_checkpoint.load_from_local(path)


def test_missing_checkpoint_is_bad_input(tmp_path):
    with pytest.raises(CdmxError, match='does not exist'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'none.pth'))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An HTTP server on localhost serving ``tmp_path/www``; the torch hub cache in tmp_path."""
    root = tmp_path / 'www'
    root.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_url_checkpoints_are_downloaded_then_loaded_safely(served, tmp_path, monkeypatch):
    root, url = served
    torch.save(dict(state_dict=dict(w=torch.arange(3.0))), root / 'good.pth')
    torch.save(dict(meta=_MakeDir(str(tmp_path / 'made'))), root / 'evil.pth')
    good = CheckpointLoader.load_checkpoint(f'{url}/good.pth')
    assert torch.equal(good['state_dict']['w'], torch.arange(3.0))
    with pytest.raises(CdmxError, match=r'\(posix.mkdir\)'):
        CheckpointLoader.load_checkpoint(f'{url}/evil.pth')
    # Named model zoos (torchvision://, open-mmlab://, mmcls://) reach URLs the same way.
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: dict(evil=f'{url}/evil.pth'))
    with pytest.raises(CdmxError, match=r'\(posix.mkdir\)'):
        CheckpointLoader.load_checkpoint('torchvision://evil')
    assert not (tmp_path / 'made').exists()


def _unsafe_loads(path: str) -> list:
    """Calls in ``path`` that unpickle without weights_only: ``weights_only=False`` anywhere,
    and ``load_state_dict_from_url`` (whose default is False) without ``weights_only=True``."""
    found = []
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
        if not isinstance(node, ast.Call):
            continue
        flags = {k.arg: k.value for k in node.keywords}
        flag = flags.get('weights_only')
        name = getattr(node.func, 'attr', getattr(node.func, 'id', ''))
        if isinstance(flag, ast.Constant) and flag.value is False:
            found.append(f'{path}:{node.lineno}')
        elif name == 'load_state_dict_from_url' and not (
                isinstance(flag, ast.Constant) and flag.value is True):
            found.append(f'{path}:{node.lineno}')
    return found


def test_no_cdmx_code_unpickles_without_weights_only():
    found = []
    for top in ('cdmx', 'tools', 'projects'):
        for folder, _, files in os.walk(os.path.join(REPO_ROOT, top)):
            found += [hit for f in files if f.endswith('.py')
                      for hit in _unsafe_loads(os.path.join(folder, f))]
    assert found == []
