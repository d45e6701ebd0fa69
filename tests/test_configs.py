"""Every config under configs/ and projects/*/configs/ (but _base_) builds.

The configs are found by walking the folders, so a new config is covered without editing this
file. For each: its model (and any top-level component: head, matcher, generator...) is built
through the registries, its metrics are built, and every other ``type=`` it names (datasets and
their pipelines, samplers, hooks, loops, optimiser, schedulers, visualiser) resolves in its
registry; datasets are not built, since paper-scale ones need data on disk.
"""
import copy
import glob
import os
import sys

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cdmx.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, FUNCTIONS, GENERATORS, HEADS,
                           HOOKS, INVERTERS, LOG_PROCESSORS, LOOPS, LOSSES, MATCHERS, METRICS,
                           MODEL_WRAPPERS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                           OPTIMIZERS, PARAM_SCHEDULERS, PSEUDO_LABELERS, RECIPES, TRANSFORMS,
                           VISBACKENDS, VISUALIZERS)
from cdmx.utils.setup_env import register_all_modules

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Top-level config keys that hold one component, and the registry that builds it (a config of
# a new kind adds its key here).
COMPONENT_KEYS = {'model': MODELS, 'head': HEADS, 'loss': LOSSES, 'matcher': MATCHERS,
                  'generator': GENERATORS, 'inverter': INVERTERS,
                  'pseudo_labeler': PSEUDO_LABELERS, 'recipe': RECIPES,
                  'scorer': MATCHERS, 'refinement': MATCHERS}
COMPONENT_REGISTRIES = tuple(COMPONENT_KEYS.values())


def find_configs():
    roots = [os.path.join(REPO_ROOT, 'configs')]
    roots += sorted(glob.glob(os.path.join(REPO_ROOT, 'projects', '*', 'configs')))
    found = []
    for root in roots:
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d != '_base_')
            found += [os.path.join(folder, f) for f in sorted(files) if f.endswith('.py')]
    return found


CONFIGS = find_configs()


def project_root(path: str):
    """``projects/<name>`` for a project's config (its package is importable from there)."""
    rel = os.path.relpath(path, REPO_ROOT).split(os.sep)
    return os.path.join(REPO_ROOT, *rel[:2]) if rel[0] == 'projects' else None


@pytest.fixture
def load_config(monkeypatch):
    """Read a config the way tools/train.py does; undo what its custom_imports registered."""
    register_all_modules(init_default_scope=False)  # cdmx's own modules are imported for good
    imported = []

    def load(path: str) -> Config:
        if project_root(path):
            monkeypatch.syspath_prepend(project_root(path))
        before = set(sys.modules)
        cfg = Config.fromfile(path)
        imported.extend(set(sys.modules) - before)
        init_default_scope(cfg.get('default_scope', 'cdmx'))
        return cfg

    yield load
    outside = {m for m in imported if not m.startswith(('cdmx.', 'mm', 'torch'))}
    for registry in COMPONENT_REGISTRIES:
        for name, cls in list(registry._module_dict.items()):
            if getattr(cls, '__module__', None) in outside:
                registry._module_dict.pop(name)
    for name in outside:
        sys.modules.pop(name, None)


def resolves(registry, cfg, what: str) -> None:
    """``cfg['type']`` names a class or function registered in ``registry`` (or its scopes)."""
    obj_type = cfg['type']
    if isinstance(obj_type, str):
        assert registry.get(obj_type) is not None, \
            f'{what}: {obj_type} is not in the {registry.scope}::{registry.name} registry'


def check_pipeline(pipeline, what: str) -> None:
    for transform in pipeline or ():
        if isinstance(transform, (list, tuple)):  # mmpretrain's MultiView: a list of pipelines
            check_pipeline(transform, what)
            continue
        resolves(TRANSFORMS, transform, what)
        check_pipeline(transform.get('transforms'), what)  # wrappers such as RandomChoice
        for branch in (transform.get('branches') or {}).values():  # MultiBranchSeg
            check_pipeline(branch, what)


def check_dataset(dataset, what: str) -> None:
    resolves(DATASETS, dataset, what)
    check_pipeline(dataset.get('pipeline'), f'{what}.pipeline')
    check_pipeline(dataset.get('real_pipeline'), f'{what}.real_pipeline')  # UCDMPairDataset
    for kind, generator in (dataset.get('generators') or {}).items():  # GeneratedPairs
        resolves(GENERATORS, generator, f'{what}.generators.{kind}')
    for key in ('dataset', 'datasets', 'real', 'pairs'):  # wrappers; UCDMPairDataset's parts
        inner = dataset.get(key)
        for item in (inner if isinstance(inner, (list, tuple)) else [inner]):
            if isinstance(item, dict) and 'type' in item:
                check_dataset(item, f'{what}.{key}')


def check_runtime_types(cfg: Config) -> None:
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader:
            check_dataset(loader['dataset'], f'{split}_dataloader.dataset')
            for key, registry in (('sampler', DATA_SAMPLERS), ('batch_sampler', DATA_SAMPLERS),
                                  ('collate_fn', FUNCTIONS)):
                if isinstance(loader.get(key), dict):
                    resolves(registry, loader[key], f'{split}_dataloader.{key}')
        evaluator = cfg.get(f'{split}_evaluator')
        if evaluator:
            if isinstance(evaluator, dict) and 'metrics' in evaluator:
                resolves(EVALUATOR, dict(type=evaluator.get('type', 'Evaluator')), split)
                evaluator = evaluator['metrics']
            for metric in (evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]):
                METRICS.build(copy.deepcopy(metric))  # metrics need no data to build
        loop = cfg.get(f'{split}_cfg')
        if loop and 'type' in loop:
            resolves(LOOPS, loop, f'{split}_cfg')
    hooks = list((cfg.get('default_hooks') or {}).values()) + list(cfg.get('custom_hooks', []))
    for hook in hooks:
        if hook:
            resolves(HOOKS, hook, 'hooks')
    generation = cfg.get('generation')  # tools/generate.py's components
    if generation:
        for key in ('backend', 'positive', 'negative'):
            resolves(GENERATORS, generation[key], f'generation.{key}')
        if cfg.get('generation_dataset'):
            check_dataset(cfg.generation_dataset, 'generation_dataset')
    wrapper = cfg.get('optim_wrapper')
    if wrapper:
        resolves(OPTIM_WRAPPERS, dict(type=wrapper.get('type', 'OptimWrapper')), 'optim_wrapper')
        if 'optimizer' in wrapper:
            resolves(OPTIMIZERS, wrapper['optimizer'], 'optim_wrapper.optimizer')
        if 'constructor' in wrapper:
            resolves(OPTIM_WRAPPER_CONSTRUCTORS, dict(type=wrapper['constructor']), 'constructor')
    schedulers = cfg.get('param_scheduler') or []
    for scheduler in (schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]):
        resolves(PARAM_SCHEDULERS, scheduler, 'param_scheduler')
    visualizer = cfg.get('visualizer')
    if visualizer:
        resolves(VISUALIZERS, visualizer, 'visualizer')
        for backend in visualizer.get('vis_backends') or []:
            resolves(VISBACKENDS, backend, 'visualizer.vis_backends')
    for key, registry in (('log_processor', LOG_PROCESSORS), ('model_wrapper_cfg', MODEL_WRAPPERS)):
        if isinstance(cfg.get(key), dict) and 'type' in cfg[key]:
            resolves(registry, cfg[key], key)


def test_configs_are_found():
    names = {os.path.relpath(p, REPO_ROOT) for p in CONFIGS}
    assert 'configs/baselines/wrn28-2_fashion-mnist-mini.py' in names
    assert 'projects/example_plugin/configs/greedy-matcher_cosine-head.py' in names
    assert not any('_base_' in n for n in names)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_config_builds(path, load_config):
    cfg = load_config(path)
    assert cfg.get('default_scope') == 'cdmx'
    built = []
    for key, registry in COMPONENT_KEYS.items():
        if key in cfg:
            component_cfg = copy.deepcopy(cfg[key])
            if key == 'model' and cfg.get('data_preprocessor') is not None:
                # What Runner.from_cfg does with a top-level data_preprocessor.
                component_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
            built.append(registry.build(component_cfg))
    assert built, f'{path} defines none of {sorted(COMPONENT_KEYS)}'
    if 'model' in cfg:
        assert isinstance(built[0], nn.Module)
    check_runtime_types(cfg)


def test_bad_type_in_a_pipeline_is_caught():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='MismatchDataset', pipeline=[dict(type='mmpretrain.NoSuchTransform')]))))
    init_default_scope('cdmx')
    with pytest.raises(AssertionError, match='NoSuchTransform'):
        check_runtime_types(cfg)


def test_fashion_mnist_baseline_runs_on_fixture_data(fashion_mnist_root, tmp_path):
    """The mini-world baseline trains and tests end to end (tiny data, a few iterations)."""
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', 'baselines',
                                       'wrn28-2_fashion-mnist-mini.py'))
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        dataset.dataset.update(data_root=fashion_mnist_root, external_size=100)
        dataset.known_count = 40
        cfg[f'{split}_dataloader'].batch_size = 8
    cfg.merge_from_dict({'train_cfg.max_iters': 10, 'train_cfg.val_interval': 100,  # test only
                         'param_scheduler.0.end': 2, 'param_scheduler.1.begin': 2,
                         'param_scheduler.1.T_max': 8, 'param_scheduler.1.end': 10,
                         'default_hooks.checkpoint.interval': 10})
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert os.path.isfile(os.path.join(str(tmp_path), 'iter_10.pth'))
    # The fixture's classes differ in mean intensity (T-shirt/top ~15, Sandal ~140 of 255):
    # ten iterations separate them far above chance (50%).
    assert metrics['accuracy/top1'] >= 90.0


def test_data_roots_follow_their_environment_variables(monkeypatch, tmp_path):
    for config, variable in (('wrn28-2_fashion-mnist-mini.py', 'CDMX_FASHION_MNIST'),
                             ('wrn28-2_cifar10.py', 'CDMX_CIFAR10')):
        monkeypatch.setenv(variable, str(tmp_path))
        cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', 'baselines', config))
        for split in ('train', 'val', 'test'):
            assert cfg[f'{split}_dataloader'].dataset.dataset.data_root == str(tmp_path)


@pytest.mark.slow
def test_fashion_mnist_baseline_full_run(tmp_path):
    """The whole mini-world baseline on the real Fashion-MNIST (a few minutes on 2 CPU cores)."""
    cfg = Config.fromfile(os.path.join(REPO_ROOT, 'configs', 'baselines',
                                       'wrn28-2_fashion-mnist-mini.py'))
    data_root = cfg.train_dataloader.dataset.dataset.data_root
    if not os.path.isfile(os.path.join(data_root, 't10k-labels-idx1-ubyte.gz')):
        pytest.skip(f'Fashion-MNIST is not in {data_root} (set CDMX_FASHION_MNIST)')
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    # T-shirt/top against Sandal: a trained WRN-28-2 separates them almost perfectly.
    assert metrics['accuracy/top1'] >= 97.0
