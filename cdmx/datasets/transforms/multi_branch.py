"""Multi-branch packing for semi-supervised segmentation (the design of mmdetection's
semi-supervised detectors, written for mmseg's ``PackSegInputs``)."""
import copy
from typing import Dict, List

from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose

from cdmx.registry import TRANSFORMS
from cdmx.utils.errors import CdmxError


@TRANSFORMS.register_module()
class MultiBranchSeg(BaseTransform):
    """Run one pipeline per branch on a copy of the results and pack them side by side.

    The shared, geometric part of a pipeline (load, resize, crop, flip) runs before this
    transform, so every branch sees the same view; each branch then adds its own photometric
    transforms and ends with ``mmseg.PackSegInputs``. The output is::

        {'inputs': {branch: uint8 Tensor (3, H, W)},
         'data_samples': {branch: SegDataSample}}

    Labelled samples use ``branches=dict(sup=[PackSegInputs])``; unlabelled samples use
    ``dict(unsup_weak=[PackSegInputs], unsup_strong=[ColorJitter..., PackSegInputs])``, so the
    strong view is the weak view plus photometric changes only (pixel-aligned, as the
    weak-to-strong consistency of FixMatch/UniMatch and DiffMatch's pseudo-labels require).
    Batches of such samples are collated by :func:`cdmx.datasets.multi_branch_collate`.

    Args:
        branches (dict[str, list[dict]]): Branch name -> pipeline ending in a packing transform.
    """

    def __init__(self, branches: Dict[str, List[dict]]):
        super().__init__()
        if not isinstance(branches, dict) or not branches:
            raise CdmxError('MultiBranchSeg needs branches=dict(name=[...transforms, '
                            "dict(type='mmseg.PackSegInputs')]); give at least one branch.")
        self.branches = {name: Compose(pipeline) for name, pipeline in branches.items()}

    def transform(self, results: dict) -> dict:
        packed = {'inputs': {}, 'data_samples': {}}
        for name, pipeline in self.branches.items():
            out = pipeline(copy.deepcopy(results))
            if not isinstance(out, dict) or set(out) != {'inputs', 'data_samples'}:
                raise CdmxError(f"branch '{name}' of MultiBranchSeg does not end in a packing "
                                'transform; end its pipeline with '
                                "dict(type='mmseg.PackSegInputs').")
            packed['inputs'][name] = out['inputs']
            packed['data_samples'][name] = out['data_samples']
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(branches={list(self.branches)})'
