"""UCDM's confidence-based labelling rounds inside mmengine's training loop (Du et al., ICML 2025).

Every ``interval`` epochs (or iterations) from ``begin`` on, for at most ``max_rounds`` rounds,
the hook runs the
model in ``predict`` mode over the unlabeled pool (the real images, e.g.
``MismatchDataset(part='train')``), gives the scores of the samples still unlabelled to a
pseudo-labeler (:class:`cdmx.pseudo_labelers.ConfidencePairLabeler` by default) and hands the
result to the training dataset.

Pool samples: each predicted ``DataSample`` must carry ``open_score`` (K+1,) = q (Eq. 10),
``known_driven_score`` (K+1,) = q~ (Eq. 11) and, in its metainfo, the sample's stable id under
``id_key`` (default ``'sample_idx'``, the id the generation engine stores as ``seed_id``; keep it
in the pool pipeline's ``PackInputs`` ``meta_keys``). Where every sample also carries
``gt_label`` (0..K-1 known, K unknown/new, as ``MismatchDataset`` gives), the log counts correct
selections. Class names in the log are the pool's ``metainfo['classes']`` (or the ids 0..K-1
where it lists none).

Training-dataset interface (the one method the hook calls, on ``runner.train_dataloader.dataset``)::

    set_pseudo_labels(ids: List[int], labels: List[int]) -> None

``ids`` are the stable ids (sorted) of the pool samples a round has just labelled, none of them
labelled before, and ``labels[i]`` is the label of ``ids[i]``: ``0..K-1`` pseudo-known, ``K``
pseudo-unknown ("other"). Calls accumulate: the dataset moves these seeds, with their generated
pairs, out of D into the ``pseudo_known`` / ``pseudo_unknown`` branches
(:meth:`cdmx.datasets.UCDMPairDataset.set_pseudo_labels`). The hook calls it after every round
that labels something, and once in ``before_train`` with every label of a resumed state (the
training dataset is then freshly built and holds none).

Distributed: each rank predicts its share (the pool dataloader's sampler, e.g. ``DefaultSampler``
with ``shuffle=False``), the scores are gathered with :func:`mmengine.dist.all_gather_object`,
de-duplicated by id and sorted, so every rank takes the same decisions.

Log (rank 0): ``<work_dir>/<log_file>`` (JSON) holds ``classes`` (K names + ``"other"``) and
``rounds``, one entry per round: ``round`` (1-based), ``epoch`` (epochs done; null when counting
iterations), ``iter`` (iterations done), ``pool_unlabelled`` (samples still unlabelled before the
round, the ones the labeler sees), ``selected`` (K+1 counts), ``correct`` (K+1 counts, or null
without ground truth) and ``labelled_total``; ``<work_dir>/<plot_file>`` is its plot
(:func:`cdmx.visualization.plot_labelling`). State (rounds and labels) is saved in checkpoints
under ``checkpoint['confidence_labelling']`` and restored whenever the Runner loads a checkpoint
that holds it (``resume`` or ``load_from``), so a resumed run takes the same decisions.

Unlike the official code, no per-class balancing follows the rule (it randomly caps every class,
"other" included, at the largest known-class count of the round); every selected sample is kept.
"""
import json
import os
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook

from cdmx.models.bn_policy import reestimate_statistics, uses_pool_statistics
from cdmx.registry import HOOKS, PSEUDO_LABELERS
from cdmx.utils.errors import CdmxError
from cdmx.visualization import plot_labelling

CHECKPOINT_KEY = 'confidence_labelling'
_SCORES = ('open_score', 'known_driven_score')


def _int(value) -> int:
    """An int from a Python number or a one-element tensor/array."""
    return int(value.reshape(-1)[0]) if hasattr(value, 'reshape') else int(value)


@HOOKS.register_module()
class ConfidenceLabellingHook(Hook):
    """Move confidently predicted real images into pseudo-known / pseudo-unknown pools.

    A model whose BN policy normalises with ``'pool'`` statistics
    (:class:`cdmx.models.bn_policy.BatchNormPolicy`) has them re-estimated on the pool before
    each round scores it.

    Args:
        pool (dict): Dataloader config of the unlabeled pool (built with
            ``Runner.build_dataloader``), e.g. ``dict(batch_size=64, sampler=dict(
            type='DefaultSampler', shuffle=False))``. Without a ``dataset`` key the pool is the
            training dataset's ``unlabeled_pool`` (for :class:`~cdmx.datasets.UCDMPairDataset`
            its ``real`` images, the seeds of the cache, through their own pipeline), so the
            images labelled are by construction the ones the training set holds; a ``dataset``
            config names another pool explicitly.
        labeler (dict): PSEUDO_LABELERS config. Defaults to
            ``dict(type='ConfidencePairLabeler', delta=0.98)``.
        interval (int): Rounds run every ``interval`` epochs (``by_epoch``) or iterations.
            The paper: 40 epochs.
        begin (int, optional): Epochs (or iterations) completed at the first round, then every
            ``interval``; defaults to ``interval`` (the paper: the first round after 40 epochs).
            Short schedules start later so that the heads are trained before the first round.
        max_rounds (int): Number of rounds at most. The paper: 10.
        by_epoch (bool): Count ``interval`` in epochs (True) or iterations.
        id_key (str): Metainfo key of the pool samples' stable id.
        log_file (str): JSON log, relative to the work dir.
        plot_file (str): PNG plot of the log, relative to the work dir.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW), so a round is in that checkpoint

    def __init__(self,
                 pool: dict,
                 labeler: Optional[dict] = None,
                 interval: int = 40,
                 begin: Optional[int] = None,
                 max_rounds: int = 10,
                 by_epoch: bool = True,
                 id_key: str = 'sample_idx',
                 log_file: str = 'labelling.json',
                 plot_file: str = 'labelling.png'):
        begin = interval if begin is None else begin
        for name, value in (('interval', interval), ('max_rounds', max_rounds), ('begin', begin)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CdmxError(f'ConfidenceLabellingHook {name} is {value!r}; give a positive '
                                'integer.')
        if not isinstance(pool, dict) or 'sampler' not in pool:
            raise CdmxError('ConfidenceLabellingHook pool must be a dataloader config with a '
                            'sampler (and optionally a dataset); give e.g. dict(batch_size=64, '
                            "sampler=dict(type='DefaultSampler', shuffle=False)).")
        self.pool_cfg = pool
        self.labeler = PSEUDO_LABELERS.build(labeler or dict(type='ConfidencePairLabeler'))
        self.interval, self.max_rounds, self.by_epoch = interval, max_rounds, by_epoch
        self.begin = begin
        self.id_key, self.log_file, self.plot_file = id_key, log_file, plot_file
        self._pool_loader = None
        self.rounds: List[dict] = []
        self.labels: Dict[int, int] = {}
        self.class_names: List[str] = []

    # --- when -------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Check the training dataset's interface; re-apply labels restored by a resume."""
        self._train_dataset(runner)
        if self.labels:
            self._apply(runner, list(self.labels))

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self._due(runner.epoch + 1):
            self._maybe_round(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and self._due(runner.iter + 1):
            self._maybe_round(runner)

    def _due(self, done: int) -> bool:
        """Whether a round follows ``done`` completed epochs or iterations."""
        return done >= self.begin and (done - self.begin) % self.interval == 0

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        ids = sorted(self.labels)
        checkpoint[CHECKPOINT_KEY] = dict(
            rounds=self.rounds, class_names=self.class_names, ids=ids,
            labels=[self.labels[i] for i in ids])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            return
        self.rounds = list(state['rounds'])
        self.class_names = list(state['class_names'])
        self.labels = dict(zip(state['ids'], state['labels']))

    # --- what -------------------------------------------------------------------------------
    @staticmethod
    def _train_dataset(runner):
        dataset = runner.train_dataloader.dataset
        if not callable(getattr(dataset, 'set_pseudo_labels', None)):
            raise CdmxError(f'the training dataset {type(dataset).__name__} has no '
                            'set_pseudo_labels(ids, labels) method, so labelled samples cannot '
                            'leave D; train on a dataset that implements it (see '
                            'cdmx.engine.hooks.labelling_hook).')
        return dataset

    @staticmethod
    def pool_of(dataset):
        """The real images ``dataset`` offers for labelling (its ``unlabeled_pool``)."""
        pool = getattr(dataset, 'unlabeled_pool', None)
        if pool is None:
            raise CdmxError(f'the training dataset {type(dataset).__name__} has no '
                            'unlabeled_pool; give the hook pool=dict(dataset=..., ...) with the '
                            'real images to label.')
        return pool

    def _apply(self, runner, ids: List[int]) -> None:
        """Hand the labels of ``ids`` to the training dataset, in increasing id order."""
        ids = sorted(ids)
        self._train_dataset(runner).set_pseudo_labels(ids, [self.labels[i] for i in ids])

    def _maybe_round(self, runner) -> None:
        if len(self.rounds) >= self.max_rounds:
            return
        ids, q, q_tilde, gt = self._predict_pool(runner)
        keep = [i for i, sid in enumerate(ids) if sid not in self.labels]
        num_classes = q.shape[1] - 1
        if not self.class_names:
            self.class_names = self._class_names(num_classes) + ['other']
        selected, correct = [0] * (num_classes + 1), [0] * (num_classes + 1)
        has_gt = all(g is not None for g in gt)
        new_ids = []
        if keep:
            rows, labels = self.labeler(q[keep], q_tilde[keep])
            for row, label in zip(rows.tolist(), labels.tolist()):
                position = keep[row]
                self.labels[ids[position]] = label
                new_ids.append(ids[position])
                selected[label] += 1
                correct[label] += int(has_gt and gt[position] == label)
        self.rounds.append(dict(
            round=len(self.rounds) + 1, epoch=runner.epoch + 1 if self.by_epoch else None,
            iter=runner.iter + (0 if self.by_epoch else 1), pool_unlabelled=len(keep),
            selected=selected, correct=correct if has_gt else None,
            labelled_total=len(self.labels)))
        if new_ids:
            self._apply(runner, new_ids)
        runner.logger.info(f'confidence labelling round {len(self.rounds)}: selected '
                           f'{sum(selected)} of {len(keep)} (per class {selected}), '
                           f'{len(self.labels)} labelled in all')
        if is_main_process():
            self._write_log(runner.work_dir)

    def _class_names(self, num_classes: int) -> List[str]:
        """The pool's ``metainfo['classes']`` (K names), or the ids '0'..'K-1' if it has none."""
        classes = list(getattr(self._pool_loader.dataset, 'metainfo', {}).get('classes', ()))
        if not classes:
            return [str(k) for k in range(num_classes)]
        if len(classes) != num_classes:
            raise CdmxError(f'the labelling pool lists {len(classes)} classes but the model '
                            f'scores {num_classes} known classes; give the pool the known '
                            'classes of the model (MismatchDataset of the same split).')
        return classes

    def _predict_pool(self, runner):
        """Scores of the whole pool, gathered over ranks and sorted by id.

        Returns:
            tuple: ids (list of N ints), q (N, K+1), q~ (N, K+1), gt (list of N ints or None).
        """
        if self._pool_loader is None:
            cfg = dict(self.pool_cfg)
            if 'dataset' not in cfg:
                cfg['dataset'] = self.pool_of(self._train_dataset(runner))
            self._pool_loader = runner.build_dataloader(cfg)
        model = runner.model
        was_training = model.training
        if uses_pool_statistics(model):
            reestimate_statistics(model, self._pool_loader)
        model.eval()
        local = []
        with torch.no_grad():
            for data_batch in self._pool_loader:
                for sample in model.test_step(data_batch):
                    local.append(self._record(sample))
        model.train(was_training)
        merged = {}
        for part in all_gather_object(local):
            for sid, q, q_tilde, gt in part:
                merged[sid] = (q, q_tilde, gt)
        ids = sorted(merged)
        if not ids:
            raise CdmxError('the labelling pool is empty; give the hook a dataloader over the '
                            "unlabeled training images (MismatchDataset part='train').")
        q = torch.tensor([merged[i][0] for i in ids], dtype=torch.float64)
        q_tilde = torch.tensor([merged[i][1] for i in ids], dtype=torch.float64)
        return ids, q, q_tilde, [merged[i][2] for i in ids]

    def _record(self, sample) -> tuple:
        """(id, q as list, q~ as list, gt label or None) of one predicted pool sample."""
        missing = [k for k in _SCORES + (self.id_key,) if sample.get(k) is None]
        if missing:
            raise CdmxError(f'a predicted pool sample lacks {missing}; predict with a '
                            'UCDMClassifier and keep the id key in the pool pipeline\'s '
                            'PackInputs meta_keys.')
        gt = sample.get('gt_label')
        return (_int(sample.get(self.id_key)),
                sample.get('open_score').detach().cpu().double().tolist(),
                sample.get('known_driven_score').detach().cpu().double().tolist(),
                None if gt is None else _int(gt))

    def _write_log(self, work_dir: str) -> None:
        path = os.path.join(work_dir, self.log_file)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(dict(classes=self.class_names, rounds=self.rounds), f, indent=1)
        plot_labelling(self.rounds, self.class_names, os.path.join(work_dir, self.plot_file))
