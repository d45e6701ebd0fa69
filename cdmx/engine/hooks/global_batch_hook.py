"""Log the effective global batch and learning rates once, before training starts.

A config's per-process batch (e.g. DiffMatch on Cityscapes: 1 labelled + 1 unlabelled image per
GPU, the paper's 8 + 8 on 8 GPUs) makes a global batch that silently follows the number of
processes, while its learning rate was set for one global batch. This hook writes one line,

    global batch 16 = 8 processes x 2 per process (per source [1, 1]); base lr 0.005 (47.5M
    parameters) (reference batch 16, auto_scale_lr off)

and, when the config's reference (mmengine's ``auto_scale_lr.base_batch_size``) differs from the
global batch while ``auto_scale_lr`` is off, a warning naming the two ways to keep the paper's
setting: raise the per-process batch to the reference, or scale the learning rate linearly with
the global batch (``--cfg-options auto_scale_lr.enable=True``, mmengine's ``Runner.scale_lr``;
UniMatch's authors give the same linear rule, LiheYoung/UniMatch issue 13). The learning rates
are the base ones (``initial_lr`` of the parameter schedulers, i.e. after any auto-scaling and
before warm-up).
"""
from collections import defaultdict

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict

from cdmx.registry import HOOKS


def _millions(count: int) -> str:
    return f'{count / 1e6:.1f}M' if count >= 100_000 else f'{count:,}'


@HOOKS.register_module()
class GlobalBatchHook(Hook):
    """Log the global batch and base learning rates at the start of training (module
    docstring)."""

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        per_process = loader.batch_size
        world = runner.world_size
        batch = world * per_process
        sources = getattr(loader.sampler, 'num_per_source', None)
        split = f' (per source {list(sources)})' if sources else ''
        rates = defaultdict(int)
        wrappers = runner.optim_wrapper.values() if isinstance(
            runner.optim_wrapper, OptimWrapperDict) else [runner.optim_wrapper]
        for wrapper in wrappers:
            for group in wrapper.optimizer.param_groups:
                lr = group.get('initial_lr', group['lr'])
                rates[lr] += sum(p.numel() for p in group['params'] if p.requires_grad)
        ranked = sorted(((lr, n) for lr, n in rates.items() if n), key=lambda item: -item[1])
        lrs = ', '.join(f'{lr:g} ({_millions(n)} parameters)' for lr, n in ranked)
        auto = runner.cfg.get('auto_scale_lr') or {}
        reference = auto.get('base_batch_size')
        enabled = bool(auto.get('enable', False))
        note = '' if reference is None else \
            f" (reference batch {reference}, auto_scale_lr {'on' if enabled else 'off'})"
        runner.logger.info(f'global batch {batch} = {world} processes x {per_process} per '
                           f'process{split}; base lr {lrs}{note}')
        if reference is not None and reference != batch and not enabled:
            runner.logger.warning(
                f'the learning rate was set for a global batch of {reference}, this run has '
                f'{batch}: raise the per-process batch so that processes x batch = {reference}, '
                'or scale the learning rate linearly (--cfg-options auto_scale_lr.enable=True); '
                'see docs/diffmatch.md.')
