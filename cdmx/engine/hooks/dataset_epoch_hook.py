"""Tell a training dataset which epoch it is in before the epoch's dataloader workers start.

mmengine calls ``set_epoch`` on samplers only (``DistSamplerSeedHook``), never on datasets.
Datasets that redraw something per epoch (:class:`cdmx.datasets.UCDMPairDataset` draws the random
known class of each pseudo-unknown item) need the count in the copies that dataloader workers
make when an epoch starts, so this hook calls ``set_epoch(runner.epoch)`` before every epoch of an
epoch-based loop. Under iteration-based loops there are no epochs to pass on: there
:class:`cdmx.datasets.UCDMBatchSampler` tells the dataset the epochs of its own passes (with
``num_workers=0``), and the hook refuses to run.
"""
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError


@HOOKS.register_module()
class DatasetEpochHook(Hook):
    """Call ``runner.train_dataloader.dataset.set_epoch(runner.epoch)`` before every epoch."""

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            raise CdmxError('DatasetEpochHook serves epoch-based loops; an iteration-based loop '
                            'has no epochs (UCDMBatchSampler tells the dataset its own): remove '
                            'the hook from custom_hooks.')
        dataset = runner.train_dataloader.dataset
        if not callable(getattr(dataset, 'set_epoch', None)):
            raise CdmxError(f'DatasetEpochHook: the training dataset {type(dataset).__name__} has '
                            'no set_epoch(epoch) method; remove the hook or train on a dataset '
                            'that has one (e.g. UCDMPairDataset).')

    def before_train_epoch(self, runner) -> None:
        runner.train_dataloader.dataset.set_epoch(runner.epoch)
