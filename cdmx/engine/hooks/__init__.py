"""Hooks of cdmx, registered in :data:`cdmx.registry.HOOKS`."""
from .dataset_epoch_hook import DatasetEpochHook
from .finite_loss_hook import FiniteLossHook
from .global_batch_hook import GlobalBatchHook
from .labelling_hook import ConfidenceLabellingHook
from .pool_bn_hook import PoolBatchNormHook
from .pseudo_label_stats_hook import PseudoLabelStatsHook
from .training_meta_hook import TrainingMetaHook

__all__ = ['ConfidenceLabellingHook', 'DatasetEpochHook', 'FiniteLossHook', 'GlobalBatchHook',
           'PoolBatchNormHook', 'PseudoLabelStatsHook', 'TrainingMetaHook']
