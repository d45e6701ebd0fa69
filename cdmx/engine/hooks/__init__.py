"""Hooks of cdmx, registered in :data:`cdmx.registry.HOOKS`."""
from .dataset_epoch_hook import DatasetEpochHook
from .finite_loss_hook import FiniteLossHook
from .labelling_hook import ConfidenceLabellingHook
from .pool_bn_hook import PoolBatchNormHook
from .pseudo_label_stats_hook import PseudoLabelStatsHook

__all__ = ['ConfidenceLabellingHook', 'DatasetEpochHook', 'FiniteLossHook', 'PoolBatchNormHook',
           'PseudoLabelStatsHook']
