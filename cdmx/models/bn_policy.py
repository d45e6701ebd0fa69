"""How a classifier's batch-norm layers train and normalise (UCDM, Du et al., ICML 2025, §B.6).

The paper optimises BN "over the initial 100 iterations". The official implementation overrides
``eval()`` so that the network never leaves training mode: after the first evaluation the BN
scale and shift stop training, and every forward pass (training, labelling, testing) normalises
with the statistics of its own batch; the running statistics are never used. Two knobs cover
both that and PyTorch's standard behaviour:

- ``freeze_affine_after=N``: from training iteration N on (counting from 0), the weight and bias
  of every BN layer stop training (``requires_grad = False``, so optimisers skip them). ``None``
  keeps them training.
- ``eval_statistics``: ``'running'`` normalises outside training with the running statistics
  (standard); ``'batch'`` normalises with the batch's own statistics and leaves the running ones
  untouched (BN in training mode with ``track_running_stats`` off). Predictions then depend on
  the composition of each evaluation batch, as in the official implementation. ``'pool'``
  normalises with running statistics that are re-estimated on the real unlabeled training pool
  (:func:`reestimate_statistics`) before each labelling round (``ConfidenceLabellingHook``) and
  before testing (``PoolBatchNormHook``): a non-transductive choice in which the statistics
  collected while training on generated images no longer decide how real images are normalised.

Presets: standard BN is ``BatchNormPolicy()``; the official behaviour is
``BatchNormPolicy(freeze_affine_after=N, eval_statistics='batch')``.

An iteration is one ``loss``-mode forward pass of the owning model (one micro-batch under
gradient accumulation). The count is a buffer (``iters_seen``), so it is saved in checkpoints
and a resumed run freezes at the same iteration. The official implementation first evaluates
after one iteration, i.e. ``freeze_affine_after=1`` with ``eval_statistics='batch'``. Under
distributed training a frozen parameter gets no gradient, so the DDP wrapper needs
``find_unused_parameters=True`` once freezing is on: :func:`cdmx.engine.setup_distributed` sets
it for every model config whose policy freezes (:func:`freezes_parameters`).
"""
from typing import Iterable, Optional

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

EVAL_STATISTICS = ('running', 'batch', 'pool')


@MODELS.register_module()
class BatchNormPolicy(nn.Module):
    """Batch-norm policy applied by a classifier to its own BN layers.

    The owning model calls :meth:`before_train_step` once per training iteration (before its
    forward pass) and :meth:`apply_mode` whenever it switches between ``train()`` and ``eval()``.

    Args:
        freeze_affine_after (int, optional): Iteration N from which BN weight and bias are
            frozen; None never freezes them.
        eval_statistics (str): ``'running'``, ``'batch'`` or ``'pool'``, the statistics BN
            normalises with outside training.
    """

    def __init__(self, freeze_affine_after: Optional[int] = None,
                 eval_statistics: str = 'running'):
        super().__init__()
        if freeze_affine_after is not None and (isinstance(freeze_affine_after, bool)
                                                or not isinstance(freeze_affine_after, int)
                                                or freeze_affine_after < 0):
            raise CdmxError(f'freeze_affine_after is {freeze_affine_after!r}; give a '
                            'non-negative iteration count such as 100, or None.')
        if eval_statistics not in EVAL_STATISTICS:
            raise CdmxError(f'eval_statistics is {eval_statistics!r}; use one of '
                            f'{EVAL_STATISTICS}.')
        self.freeze_affine_after = freeze_affine_after
        self.eval_statistics = eval_statistics
        self.register_buffer('iters_seen', torch.zeros((), dtype=torch.int64))

    @staticmethod
    def _norms(model: nn.Module):
        return [m for m in model.modules() if isinstance(m, _BatchNorm)]

    def before_train_step(self, model: nn.Module) -> None:
        """Freeze BN affine parameters of ``model`` once N iterations have run; count this one."""
        if (self.freeze_affine_after is not None
                and int(self.iters_seen) >= self.freeze_affine_after):
            for norm in self._norms(model):
                for param in (norm.weight, norm.bias):
                    if param is not None:
                        param.requires_grad_(False)
        self.iters_seen += 1

    def apply_mode(self, model: nn.Module, training: bool) -> None:
        """After ``model.train(training)``: with ``'batch'`` statistics, BN layers normalise
        with batch statistics outside training without touching the running ones."""
        if self.eval_statistics != 'batch':
            return
        for norm in self._norms(model):
            norm.train(True)
            # Off: F.batch_norm gets no running buffers, so it neither reads nor updates them.
            norm.track_running_stats = training


def uses_pool_statistics(model: nn.Module) -> bool:
    """Whether ``model`` (or the model a wrapper holds) has a BN policy with ``'pool'``
    statistics, which the labelling and test hooks re-estimate on the unlabeled pool."""
    net = model.module if is_model_wrapper(model) else model
    policy = getattr(net, 'bn_policy', None)
    return getattr(policy, 'eval_statistics', None) == 'pool'


def freezes_parameters(model_cfg: Optional[dict]) -> bool:
    """Whether a model config's ``bn_policy`` freezes BN parameters during training."""
    policy = (model_cfg or {}).get('bn_policy') or {}
    return policy.get('freeze_affine_after') is not None


@torch.no_grad()
def reestimate_statistics(model: nn.Module, loader: Iterable) -> int:
    """Reset every BN layer's running statistics and re-estimate them over ``loader``.

    Each BN layer ends with the plain average (PyTorch's ``momentum=None``) of the batch means
    and unbiased variances of its inputs over all batches of ``loader`` (mmengine data batches,
    run through the model's data preprocessor and ``mode='tensor'``), averaged again over ranks.
    Only the BN layers run in training mode; no parameter changes. The model's modes are
    restored.

    Returns:
        int: The number of batches seen on this rank.
    """
    net = model.module if is_model_wrapper(model) else model
    norms = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        raise CdmxError(f'{type(net).__name__} has no batch-norm layer to re-estimate; drop the '
                        'BN re-estimation from the config.')
    modes = {m: m.training for m in net.modules()}
    momenta = {m: (m.momentum, m.track_running_stats) for m in norms}
    net.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.track_running_stats = True
        norm.train()
    batches = 0
    try:
        for data_batch in loader:
            data = net.data_preprocessor(data_batch, False)
            net(data['inputs'], mode='tensor')
            batches += 1
    finally:
        for module, mode in modes.items():
            module.training = mode
        for norm, (momentum, track) in momenta.items():
            norm.momentum, norm.track_running_stats = momentum, track
    if batches == 0:
        raise CdmxError('the BN re-estimation pool is empty; give it the unlabeled training '
                        'images.')
    if get_world_size() > 1:
        for norm in norms:
            all_reduce(norm.running_mean, op='mean')
            all_reduce(norm.running_var, op='mean')
    return batches
