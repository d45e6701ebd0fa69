"""Collation of multi-branch samples (see :class:`cdmx.datasets.transforms.MultiBranchSeg`)."""
from typing import Sequence

from cdmx.registry import FUNCTIONS
from cdmx.utils.errors import CdmxError


@FUNCTIONS.register_module()
def multi_branch_collate(data_batch: Sequence[dict]) -> dict:
    """Group a batch of multi-branch samples by branch, keeping the sampler's order.

    mmengine's ``pseudo_collate`` needs every sample to have the same keys, but in a
    semi-supervised batch labelled samples carry the branch ``sup`` and unlabelled ones
    ``unsup_weak`` and ``unsup_strong``. This returns::

        {'inputs': {branch: [Tensor (3, H, W), ...]},
         'data_samples': {branch: [SegDataSample, ...]}}

    with the branches in their order of first appearance; a branch lists only the samples that
    have it, so ``len(inputs['sup'])`` is the number of labelled samples in the batch.

    Args:
        data_batch (Sequence[dict]): Samples from ``MultiBranchSeg``.

    Returns:
        dict: The batch, ready for a multi-branch data preprocessor.
    """
    batch = {'inputs': {}, 'data_samples': {}}
    for sample in data_batch:
        if not (isinstance(sample, dict) and isinstance(sample.get('inputs'), dict)
                and isinstance(sample.get('data_samples'), dict)):
            raise CdmxError('multi_branch_collate got a sample that is not multi-branch; end the '
                            "train pipeline with dict(type='MultiBranchSeg', branches=...) or "
                            "use collate_fn=dict(type='pseudo_collate').")
        for branch, tensor in sample['inputs'].items():
            batch['inputs'].setdefault(branch, []).append(tensor)
            batch['data_samples'].setdefault(branch, []).append(sample['data_samples'][branch])
    return batch
