"""Re-estimate a classifier's BN statistics on the real unlabeled pool before testing."""
from mmengine.hooks import Hook

from cdmx.engine.hooks.labelling_hook import ConfidenceLabellingHook
from cdmx.models.bn_policy import reestimate_statistics, uses_pool_statistics
from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError


@HOOKS.register_module()
class PoolBatchNormHook(Hook):
    """Before the test loop, carry out a ``'pool'`` BN policy
    (:class:`cdmx.models.bn_policy.BatchNormPolicy`): reset and re-estimate every BN layer's
    running statistics over the real unlabeled training pool
    (:func:`cdmx.models.bn_policy.reestimate_statistics`). Under another policy it changes
    nothing and says so in the log, so a config switches policies with one line.

    UCDM trains its classifier mostly on generated images, so the running statistics describe
    those and misfit real ones (issue 16, docs/ucdm.md). Re-estimating them on the training
    pool, never on test images, keeps the test non-transductive; ``ConfidenceLabellingHook``
    does the same before each labelling round.

    Args:
        pool (dict): Dataloader config of the pool (built with ``Runner.build_dataloader``), e.g.
            ``dict(batch_size=250, sampler=dict(type='DefaultSampler', shuffle=False))``.
            Without a ``dataset`` key the pool is the training dataset's ``unlabeled_pool``, the
            images the labelling hook scores; a ``dataset`` config names another pool.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, pool: dict):
        if not isinstance(pool, dict) or 'sampler' not in pool:
            raise CdmxError('PoolBatchNormHook pool must be a dataloader config with a sampler '
                            '(and optionally a dataset), e.g. dict(batch_size=250, '
                            "sampler=dict(type='DefaultSampler', shuffle=False)).")
        self.pool_cfg = pool

    def before_test(self, runner) -> None:
        if not uses_pool_statistics(runner.model):
            runner.logger.info('the BN policy does not use pool statistics; nothing '
                               're-estimated before testing')
            return
        cfg = dict(self.pool_cfg)
        if 'dataset' not in cfg:
            cfg['dataset'] = ConfidenceLabellingHook.pool_of(runner.train_dataloader.dataset)
        batches = reestimate_statistics(runner.model, runner.build_dataloader(cfg))
        runner.logger.info(f'BN statistics re-estimated on the unlabeled pool ({batches} '
                           'batches) before testing')
