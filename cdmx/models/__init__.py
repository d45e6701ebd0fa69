"""Models of cdmx: backbones, heads, classifiers and losses, registered on import.

The registries import this package on their first lookup (``locations``), so every module that
registers something must be imported here.
"""
from . import foundation  # noqa: F401  (registers JudgeConvNet in MODELS and the recipes)
from .backbones import *  # noqa: F401,F403
from .bn_policy import BatchNormPolicy  # noqa: F401
from .classifiers import *  # noqa: F401,F403
from .diffusion_models import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .data_preprocessors import MultiBranchSegDataPreProcessor  # noqa: F401
from .segmentors import *  # noqa: F401,F403
