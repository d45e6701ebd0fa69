"""SPICE's clustering head (GDUI §3.2): H independent K-way heads on pooled features.

Each head ``h`` maps unit-free pooled features (N, D) to cluster logits (N, K); the cluster
probabilities of Eqs. 7–11 are ``P = softmax(h(f))``. Several heads are trained side by side in
the EM stage from different random starts, and the one with the lowest loss is kept (SPICE's
remedy for a head stuck in a poor local optimum); :class:`cdmx.models.classifiers.ClusterModel`
does the choosing.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from cdmx.registry import HEADS
from cdmx.utils.errors import CdmxError


@HEADS.register_module()
class ClusterHead(BaseModule):
    """H heads, each ``fc(D, K)`` or ``fc(D, hidden) -> ReLU -> fc(hidden, K)``.

    Args:
        num_clusters (int): K.
        in_channels (int): D, the pooled feature size (512 for ResNet-34).
        num_heads (int): H. Defaults to 1.
        hidden_channels (int, optional): Width of a hidden layer; None for linear heads.
        init_cfg (dict, optional): mmengine initialisation; PyTorch's default when None.
    """

    def __init__(self,
                 num_clusters: int,
                 in_channels: int,
                 num_heads: int = 1,
                 hidden_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_clusters', num_clusters), ('in_channels', in_channels),
                            ('num_heads', num_heads), ('hidden_channels', hidden_channels or 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CdmxError(f'ClusterHead {name} is {value!r}; give a positive integer.')
        if num_clusters < 2:
            raise CdmxError(f'ClusterHead num_clusters is {num_clusters}; cluster into K >= 2 '
                            'groups.')
        self.num_clusters = num_clusters
        self.num_heads = num_heads

        def make() -> nn.Module:
            if hidden_channels is None:
                return nn.Linear(in_channels, num_clusters)
            return nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
                                 nn.Linear(hidden_channels, num_clusters))

        self.heads = nn.ModuleList(make() for _ in range(num_heads))

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]],
                head: Optional[int] = None) -> torch.Tensor:
        """(N, D) features (or a tuple ending with them) -> logits (H, N, K), or (N, K) of one
        ``head``."""
        feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if head is not None:
            return self.heads[head](feats)
        return torch.stack([h(feats) for h in self.heads])
