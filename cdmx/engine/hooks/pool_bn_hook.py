"""Re-estimate a classifier's BN statistics on the real unlabeled pool before testing."""
from mmengine.hooks import Hook

from cdmx.models.bn_policy import reestimate_statistics
from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError


@HOOKS.register_module()
class PoolBatchNormHook(Hook):
    """Before the test loop, reset and re-estimate every BN layer's running statistics over the
    real unlabeled training pool (:func:`cdmx.models.bn_policy.reestimate_statistics`).

    UCDM trains its classifier mostly on generated images, so the running statistics describe
    those and misfit real ones (issue 16, docs/ucdm.md). Re-estimating them on the training
    pool, never on test images, keeps the test non-transductive. Pair it with
    ``ConfidenceLabellingHook(reestimate_bn=True)`` so that the labelling rounds normalise the
    same way.

    Args:
        pool (dict): Dataloader config of the pool (built with ``Runner.build_dataloader``), e.g.
            ``dict(batch_size=250, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=<the pool>)``.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, pool: dict):
        if not isinstance(pool, dict) or 'dataset' not in pool or 'sampler' not in pool:
            raise CdmxError('PoolBatchNormHook pool must be a dataloader config with a dataset '
                            'and a sampler, e.g. dict(batch_size=250, dataset=<unlabeled pool>, '
                            "sampler=dict(type='DefaultSampler', shuffle=False)).")
        self.pool_cfg = pool

    def before_test(self, runner) -> None:
        batches = reestimate_statistics(runner.model, runner.build_dataloader(self.pool_cfg))
        runner.logger.info(f'BN statistics re-estimated on the unlabeled pool ({batches} '
                           'batches) before testing')
