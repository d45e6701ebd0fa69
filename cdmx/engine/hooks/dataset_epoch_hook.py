"""Tell a training dataset which epoch it is in, also under iteration-based loops.

mmengine calls ``set_epoch`` on samplers only (``DistSamplerSeedHook``), never on datasets, and an
``IterBasedTrainLoop`` with an ``InfiniteSampler`` has no epochs at all. Datasets that redraw
something per epoch (:class:`cdmx.datasets.UCDMPairDataset` draws the random known class of each
pseudo-unknown item) need the count, so this hook keeps it:

- epoch-based loops: ``set_epoch(runner.epoch)`` before every epoch;
- iteration-based loops: an epoch ends once the samples drawn since the last boundary reach the
  dataset's *current* length (which may change between rounds of labelling); the hook then calls
  ``set_epoch(epoch + 1)``. The count is derived from the iteration number and the batch size
  the loop has run so far, and is saved in checkpoints, so a resumed run continues it.
"""
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from cdmx.registry import HOOKS
from cdmx.utils.errors import CdmxError

CHECKPOINT_KEY = 'dataset_epoch'


@HOOKS.register_module()
class DatasetEpochHook(Hook):
    """Call ``runner.train_dataloader.dataset.set_epoch(epoch)`` at every (implied) epoch."""

    priority = 'NORMAL'

    def __init__(self):
        self.epoch, self.drawn = 0, 0

    @staticmethod
    def _dataset(runner):
        dataset = runner.train_dataloader.dataset
        if not callable(getattr(dataset, 'set_epoch', None)):
            raise CdmxError(f'DatasetEpochHook: the training dataset {type(dataset).__name__} has '
                            'no set_epoch(epoch) method; remove the hook or train on a dataset '
                            'that has one (e.g. UCDMPairDataset).')
        return dataset

    def before_train(self, runner) -> None:
        self._dataset(runner).set_epoch(self.epoch)

    def before_train_epoch(self, runner) -> None:
        if not isinstance(runner.train_loop, IterBasedTrainLoop):
            self.epoch = runner.epoch
            self._dataset(runner).set_epoch(self.epoch)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not isinstance(runner.train_loop, IterBasedTrainLoop):
            return
        dataset = self._dataset(runner)
        self.drawn += runner.train_dataloader.batch_size
        if self.drawn >= len(dataset):
            self.epoch, self.drawn = self.epoch + 1, 0
            dataset.set_epoch(self.epoch)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = dict(epoch=self.epoch, drawn=self.drawn)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is not None:
            self.epoch, self.drawn = int(state['epoch']), int(state['drawn'])
