"""Data preprocessors of cdmx models."""
from typing import Dict, List, Optional, Tuple

from mmengine.model import BaseDataPreprocessor

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError


@MODELS.register_module()
class MultiBranchSegDataPreProcessor(BaseDataPreprocessor):
    """mmseg's ``SegDataPreProcessor`` applied per branch of a multi-branch batch
    (mmdetection's ``MultiBranchDataPreprocessor`` for segmentation).

    A training sample is ``{'inputs': {branch: uint8 (3, H, W)}, 'data_samples': {branch:
    SegDataSample}}`` with the branches ``sup`` (labelled) or ``unsup_weak`` and
    ``unsup_strong`` (unlabelled). A batch may arrive as ``pseudo_collate`` makes it (``inputs``
    a dict of per-branch lists, with ``None`` where a sample lacks the branch) or as a list of
    such per-sample dicts. Each branch's present samples are normalised and padded together by
    the wrapped preprocessor, giving ``{'inputs': {branch: (N_b, 3, H, W)}, 'data_samples':
    {branch: [SegDataSample]}}``; the weak and strong views of a sample keep the same position
    in their branches. Plain mmseg batches (``inputs`` a list of tensors, for validation and
    testing) go to the wrapped preprocessor unchanged.

    Args:
        data_preprocessor (dict): The per-branch preprocessor, e.g.
            ``dict(type='mmseg.SegDataPreProcessor', mean=..., std=..., size=crop_size)``.
    """

    def __init__(self, data_preprocessor: dict):
        super().__init__()
        self.data_preprocessor = MODELS.build(data_preprocessor)

    @staticmethod
    def group_by_branch(data: dict) -> Dict[str, Tuple[list, list]]:
        """``{branch: (images, data_samples)}`` of the samples that carry each branch."""
        inputs, samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, dict):  # pseudo_collate'd: {branch: [item or None]}
            branches = {}
            for branch, images in inputs.items():
                branch_samples = (samples or {}).get(branch) or [None] * len(images)
                keep = [i for i, image in enumerate(images) if image is not None]
                if keep:
                    branches[branch] = ([images[i] for i in keep],
                                        [branch_samples[i] for i in keep])
            return branches
        branches = {}
        for i, item in enumerate(inputs):  # a list of per-sample {branch: item}
            item_samples = samples[i] if samples is not None else {}
            for branch, image in item.items():
                if image is not None:
                    images, branch_samples = branches.setdefault(branch, ([], []))
                    images.append(image)
                    branch_samples.append(item_samples.get(branch))
        return branches

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and pad a batch (see the class docstring).

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the dataloader.
            training (bool): Training mode (pads the ground truth too).

        Returns:
            dict: ``inputs`` and ``data_samples``, per branch for multi-branch batches.
        """
        inputs = data['inputs']
        multi_branch = isinstance(inputs, dict) or (
            isinstance(inputs, (list, tuple)) and len(inputs) > 0
            and isinstance(inputs[0], dict))
        if not multi_branch:
            return self.data_preprocessor(data, training)
        branches = self.group_by_branch(data)
        if not branches:
            raise CdmxError('a multi-branch batch holds no image in any branch; check the '
                            "multi-branch pipelines' branch names.")
        out_inputs: Dict[str, object] = {}
        out_samples: Dict[str, Optional[List]] = {}
        for branch, (images, samples) in branches.items():
            if any(sample is None for sample in samples):
                samples = None if all(s is None for s in samples) else samples
                if samples is not None or training:
                    raise CdmxError(f'branch {branch!r} has images without data samples; pack '
                                    'every branch with its SegDataSample.')
            result = self.data_preprocessor(dict(inputs=images, data_samples=samples), training)
            out_inputs[branch] = result['inputs']
            out_samples[branch] = result['data_samples']
        return dict(inputs=out_inputs, data_samples=out_samples)
