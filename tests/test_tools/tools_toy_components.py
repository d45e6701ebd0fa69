"""A tiny model, dataset, metric and hooks that the tool tests train through tools/train.py.

The configs under tests/test_tools/configs import this module with ``custom_imports`` (the tests
put this folder on ``PYTHONPATH``), the way a third party's package plugs into cdmx. Names carry
a ``ToolsTest`` prefix so they cannot clash with other tests' registrations.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from torch import nn
from torch.utils.data import Dataset

from cdmx.registry import DATASETS, HOOKS, METRICS, MODELS

IN_DIM = 8


@DATASETS.register_module()
class ToolsTestDataset(Dataset):
    """``size`` fixed points in R^8; label 1 where the first coordinate is positive.

    Item ``i``: ``dict(inputs=(8,) float tensor, labels=int, sample_idx=i)``, drawn from a
    generator seeded with ``seed * 100003 + i`` so every process sees the same data.
    """
    metainfo = dict(classes=('negative', 'positive'))

    def __init__(self, size: int = 64, seed: int = 0):
        self.size = size
        self.seed = seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(self.seed * 100003 + index)
        point = torch.randn(IN_DIM, generator=generator)
        return dict(inputs=point, labels=int(point[0] > 0), sample_idx=index)


@MODELS.register_module()
class ToolsTestNet(BaseModel):
    """A linear classifier ``logits = W x + b`` (W: (2, 8)) with mmengine's model interface.

    ``initial_state`` keeps the parameters as this process initialised them, before DDP
    broadcast rank 0's copy, so a test can see that ranks started apart.
    """

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(IN_DIM, 2)
        self.initial_state = {k: v.detach().clone() for k, v in self.state_dict().items()}

    def forward(self, inputs, labels, sample_idx=None, mode: str = 'tensor'):
        logits = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, torch.as_tensor(labels)))
        if mode == 'predict':
            return [dict(pred=int(p), label=int(t)) for p, t in zip(logits.argmax(1), labels)]
        return logits


@METRICS.register_module()
class ToolsTestAccuracy(BaseMetric):
    """Fraction of test points whose predicted class is the label, logged as ``toy/accuracy``."""
    default_prefix = 'toy'

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(int(s['pred'] == s['label']) for s in data_samples)

    def compute_metrics(self, results: list) -> dict:
        return dict(accuracy=float(np.mean(results)))


@HOOKS.register_module()
class ToolsTestStateDumpHook(Hook):
    """Saves, per rank, what a test needs to check a run: ``<work_dir>/states/rank<r>_from<i>.pth``.

    The file holds ``start_iter`` and ``start_state`` (parameters when training begins, after a
    resume), ``end_iter`` and ``end_state`` (after the run), ``initial_state`` (as the model was
    initialised in this process) and ``seen`` (the sample indices this rank trained on).
    """

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter
        self.start_state = self._state(runner)
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.seen.extend(int(i) for i in data_batch['sample_idx'])

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        folder = os.path.join(runner.work_dir, 'states')
        os.makedirs(folder, exist_ok=True)
        torch.save(dict(start_iter=self.start_iter, start_state=self.start_state,
                        end_iter=runner.iter, end_state=self._state(runner),
                        initial_state=model.initial_state, seen=self.seen),
                   os.path.join(folder, f'rank{get_rank()}_from{self.start_iter}.pth'))

    @staticmethod
    def _state(runner) -> dict:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return {k: v.detach().clone() for k, v in model.state_dict().items()}


@HOOKS.register_module()
class ToolsTestVisualizationHook(Hook):
    """Draws every test batch as a small image through the runner's visualizer when ``draw``."""

    def __init__(self, draw: bool = False):
        self.draw = draw

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if not self.draw:
            return
        points = torch.stack(data_batch['inputs'])
        image = ((points.clamp(-3, 3) + 3) * 40).to(torch.uint8).numpy()
        runner.visualizer.add_image(f'batch{batch_idx}', np.repeat(image[..., None], 3, axis=2))


def toy_accuracy(state_dict: dict, size: int = 64, seed: int = 1) -> float:
    """Accuracy of :class:`ToolsTestNet` with ``state_dict`` on ``ToolsTestDataset(size, seed)``
    (by default the toy config's test set), computed here without the Runner."""
    net = ToolsTestNet()
    net.load_state_dict(state_dict)
    dataset = ToolsTestDataset(size=size, seed=seed)
    items = [dataset[i] for i in range(len(dataset))]
    preds = net([it['inputs'] for it in items], [it['labels'] for it in items], mode='predict')
    return float(np.mean([p['pred'] == p['label'] for p in preds]))
