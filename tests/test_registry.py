"""cdmx's registries: scope, building by ``type=``, cross-scope names, errors, outside plugins."""
import sys
import textwrap

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

import cdmx.registry as registry_module
from cdmx.models import WideResNet
from cdmx.registry import (DATASETS, GENERATORS, HEADS, INVERTERS, LOSSES, MATCHERS, METRICS,
                           MODELS, PSEUDO_LABELERS, RECIPES, TRANSFORMS)

ALL_REGISTRIES = {name: value for name, value in vars(registry_module).items()
                  if isinstance(value, Registry) and not name.startswith('MMENGINE_')}
COMPONENT_REGISTRIES = (GENERATORS, INVERTERS, PSEUDO_LABELERS, MATCHERS, RECIPES, HEADS, LOSSES)


@pytest.fixture(autouse=True)
def cdmx_scope():
    init_default_scope('cdmx')


@pytest.fixture
def forget_registered():
    """Registers made by a test are removed after it (the registries are process-wide)."""
    added = []
    yield added
    for registry, name in added:
        registry._module_dict.pop(name, None)


def test_every_registry_has_scope_cdmx():
    assert len(ALL_REGISTRIES) >= 27  # mmengine's 20 children + the 7 component registries
    for name, registry in ALL_REGISTRIES.items():
        assert registry.scope == 'cdmx', name
        if registry not in COMPONENT_REGISTRIES:  # a child of mmengine's registry of that kind
            assert registry.parent.scope == 'mmengine' and registry.parent.name == registry.name


def test_component_registries_exist():
    names = {r.name for r in COMPONENT_REGISTRIES}
    assert names == {'generator', 'inverter', 'pseudo labeler', 'matcher', 'foundation recipe',
                     'head', 'loss'}


def test_build_by_type_from_cdmx_registries(fashion_mnist_root):
    assert isinstance(MODELS.build(dict(type='WideResNet', depth=10, widen_factor=1)), WideResNet)
    dataset = DATASETS.build(dict(type='FashionMNIST', data_root=fashion_mnist_root,
                                  subset='test'))
    assert len(dataset) == 200 and dataset[0]['img'].shape == (28, 28, 3)


@pytest.mark.parametrize('registry', COMPONENT_REGISTRIES, ids=lambda r: r.name)
def test_each_component_registry_builds_by_type(registry, forget_registered):
    name = f'Probe{registry.name.title().replace(" ", "")}'
    probe = type(name, (), {'__init__': lambda self, value=0: setattr(self, 'value', value)})
    registry.register_module(module=probe)
    forget_registered.append((registry, name))
    built = registry.build(dict(type=name, value=7))
    assert isinstance(built, probe) and built.value == 7


@pytest.mark.parametrize('registry,cfg,expected', [
    (METRICS, dict(type='mmseg.IoUMetric'), 'IoUMetric'),
    (METRICS, dict(type='mmpretrain.Accuracy'), 'Accuracy'),
    (MODELS, dict(type='mmpretrain.ResNet', depth=18), 'ResNet'),
    (HEADS, dict(type='mmseg.ASPPHead', in_channels=8, channels=4, dilations=(1, 2),
                 num_classes=3, loss_decode=dict(type='mmseg.CrossEntropyLoss')), 'ASPPHead'),
    (HEADS, dict(type='mmpretrain.LinearClsHead', num_classes=2, in_channels=8,
                 loss=dict(type='mmpretrain.CrossEntropyLoss')), 'LinearClsHead'),
    (LOSSES, dict(type='mmpretrain.CrossEntropyLoss'), 'CrossEntropyLoss'),
    (TRANSFORMS, dict(type='mmpretrain.PackInputs'), 'PackInputs'),
])
def test_cross_scope_names(registry, cfg, expected):
    built = registry.build(cfg)
    assert type(built).__name__ == expected
    assert type(built).__module__.split('.')[0] in ('mmseg', 'mmpretrain')


def test_heads_fall_back_to_models_for_plain_modules():
    # mmcv registers torch layers such as Conv2d in mmengine's root MODELS registry.
    head = HEADS.build(dict(type='Conv2d', in_channels=4, out_channels=2, kernel_size=1))
    assert isinstance(head, nn.Conv2d)
    assert HEADS.build(dict(type='WideResNet', depth=10, widen_factor=1)) is not None


@pytest.mark.parametrize('registry', [MODELS, DATASETS, METRICS, HEADS, LOSSES, MATCHERS,
                                      GENERATORS], ids=lambda r: r.name)
def test_unknown_name_fails_with_clear_key_error(registry):
    with pytest.raises(KeyError, match=r'NoSuchThing is not in the .*registry'):
        registry.build(dict(type='NoSuchThing'))


def test_unknown_scope_prefix_fails():
    with pytest.raises(KeyError, match='not in the'):
        MODELS.build(dict(type='mmpretrain.NoSuchThing'))


def test_outside_module_registers_through_custom_imports(tmp_path, monkeypatch,
                                                          forget_registered):
    package = tmp_path / 'outside_plugin_probe.py'
    package.write_text(textwrap.dedent('''
        import torch.nn as nn
        from cdmx.registry import HEADS, MATCHERS

        @MATCHERS.register_module()
        class ReverseProbeMatcher:
            def __call__(self, priority):
                return list(reversed(range(len(priority))))

        @HEADS.register_module()
        class TinyProbeHead(nn.Linear):
            pass
    '''))
    config = tmp_path / 'uses_plugin.py'
    config.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['outside_plugin_probe'], allow_failed_imports=False)
        matcher = dict(type='ReverseProbeMatcher')
        head = dict(type='TinyProbeHead', in_features=3, out_features=2)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'outside_plugin_probe', raising=False)
    forget_registered.extend([(MATCHERS, 'ReverseProbeMatcher'), (HEADS, 'TinyProbeHead')])
    assert MATCHERS.get('ReverseProbeMatcher') is None

    cfg = Config.fromfile(str(config))
    try:
        assert MATCHERS.build(cfg.matcher)([[1, 0], [0, 1]]) == [1, 0]
        head = HEADS.build(cfg.head)
        assert head(torch.zeros(5, 3)).shape == (5, 2)
    finally:
        sys.modules.pop('outside_plugin_probe', None)


def test_missing_custom_import_stops_at_config_loading(tmp_path):
    config = tmp_path / 'missing_plugin.py'
    config.write_text("custom_imports = dict(imports=['no_such_cdmx_plugin'], "
                      'allow_failed_imports=False)\n')
    with pytest.raises(ImportError, match='no_such_cdmx_plugin'):
        Config.fromfile(str(config))
