"""Registries of cdmx.

Every registry mmengine's Runner uses has a child here with scope ``cdmx`` (the pattern of
mmseg/mmpretrain), so ``default_scope = 'cdmx'`` configs find cdmx components first and still
reach any other OpenMMLab scope by prefix: ``type='mmseg.IoUMetric'``, ``type='mmpretrain.ResNet'``.
Modules register lazily: ``locations`` names the packages imported on the first lookup.

Besides those, cdmx has seven component registries, one per kind of plugin a method composes:
GENERATORS, INVERTERS, PSEUDO_LABELERS, MATCHERS and RECIPES (which pretrain the mini world's
stand-in foundation models) hold plain objects; HEADS and LOSSES hold
``nn.Module`` components and fall back to :data:`MODELS` (and through it to every OpenMMLab scope)
for names they do not hold, while :data:`MODELS` finds what they hold, so a registered head can be
``model.head`` of any model, mmpretrain's or mmseg's included. Third-party code registers into any of them with
``@HEADS.register_module()`` and is imported by a config's ``custom_imports``.
"""
from contextlib import contextmanager
from typing import Optional

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import DefaultScope, Registry, build_model_from_cfg

SCOPE = 'cdmx'


def _child(name: str, parent: Registry, locations: list, cls: type = Registry) -> Registry:
    return cls(name, parent=parent, scope=SCOPE, locations=locations)


class ModelRegistry(Registry):
    """cdmx's MODELS, which also finds the entries of the ``nn.Module`` component registries.

    Models of any scope build their parts through MODELS (mmpretrain's ``ImageClassifier`` builds
    ``head=dict(type=...)`` with its MODELS, which resolves in the default scope ``cdmx``), so a
    head registered in :data:`HEADS` or a loss in :data:`LOSSES` must be found from here too.
    """

    components: tuple = ()

    def get(self, key: str):
        obj = super().get(key)
        scope, name = self.split_scope_key(key)
        if obj is None and scope in (None, self.scope):
            for registry in self.components:
                registry.import_from_location()
                obj = registry._module_dict.get(name)
                if obj is not None:
                    break
        return obj


RUNNERS = _child('runner', MMENGINE_RUNNERS, ['cdmx.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['cdmx.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['cdmx.engine'])
DATASETS = _child('dataset', MMENGINE_DATASETS, ['cdmx.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, ['cdmx.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['cdmx.datasets'])
MODELS = _child('model', MMENGINE_MODELS, ['cdmx.models'], cls=ModelRegistry)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, ['cdmx.engine'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             ['cdmx.models'])
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, ['cdmx.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, ['cdmx.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, ['cdmx.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, ['cdmx.engine'])
METRICS = _child('metric', MMENGINE_METRICS, ['cdmx.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['cdmx.evaluation'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['cdmx.models'])
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, ['cdmx.visualization'])
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, ['cdmx.visualization'])
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, ['cdmx.engine'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['cdmx.datasets'])


class ComponentRegistry(Registry):
    """A registry for one kind of cdmx plugin, in scope ``cdmx``.

    With ``fallback`` set, names it does not hold are looked up in ``fallback`` and its ancestors,
    so a head config may name any module (``type='mmseg.ASPPHead'``, or an unprefixed name of
    cdmx's MODELS), and lists of configs build an ``nn.Sequential`` as in MODELS. It is wired as a parent link rather than through mmengine's child table:
    mmengine resolves the default scope from a tree's root, which would hand every lookup to the
    scope's MODELS registry and miss the entries of this one, so :meth:`switch_scope_and_registry`
    always stays here (prefixed names still reach other scopes through the root).

    Args:
        name (str): The registry's name, e.g. ``'head'``.
        locations (list[str]): Packages imported on the first lookup.
        fallback (Registry, optional): Registry searched for names this one does not hold.
    """

    def __init__(self, name: str, locations: list, fallback: Optional[Registry] = None):
        build_func = None if fallback is None else build_model_from_cfg
        super().__init__(name, build_func=build_func, scope=SCOPE, locations=locations)
        self.parent = fallback

    @contextmanager
    def switch_scope_and_registry(self, scope: Optional[str]):
        with DefaultScope.overwrite_default_scope(scope):
            yield self


GENERATORS = ComponentRegistry('generator', ['cdmx.generators'])
INVERTERS = ComponentRegistry('inverter', ['cdmx.generators'])
PSEUDO_LABELERS = ComponentRegistry('pseudo labeler', ['cdmx.pseudo_labelers'])
MATCHERS = ComponentRegistry('matcher', ['cdmx.matchers'])
RECIPES = ComponentRegistry('foundation recipe', ['cdmx.models.foundation'])
HEADS = ComponentRegistry('head', ['cdmx.models'], fallback=MODELS)
LOSSES = ComponentRegistry('loss', ['cdmx.models'], fallback=MODELS)
MODELS.components = (HEADS, LOSSES)
