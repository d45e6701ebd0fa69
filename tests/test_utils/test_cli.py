"""The tools' shared command-line helpers: one-line bad-input reports, configs, checkpoints."""
import os

import pytest
from mmengine.registry import Registry

from cdmx.utils.cli import (bad_input_message, default_work_dir, load_config,
                            resolve_checkpoint, run_cli)
from cdmx.utils.errors import CdmxError


def _unknown_type_error() -> KeyError:
    """The KeyError mmengine raises for an unknown ``type=``, caught from a real build."""
    registry = Registry('widget', scope='cdmxtest')
    try:
        registry.build(dict(type='NoSuchWidget'))
    except KeyError as error:
        return error
    raise AssertionError('mmengine built an unregistered type')


def test_bad_input_messages():
    assert bad_input_message(CdmxError('data root /x does not exist; pass it.')) == \
        'error: data root /x does not exist; pass it.'
    # mmengine prefixes errors raised inside constructors with the class being built.
    wrapped = CdmxError('class `ImageClassifier` in mmpretrain/models/image.py: bad split; fix.')
    assert bad_input_message(wrapped) == 'error: bad split; fix.'
    assert bad_input_message(_unknown_type_error()) == (
        "error: type 'NoSuchWidget' is not in the cdmxtest::widget registry; check its spelling "
        'in the config, prefix it with its scope (e.g. mmpretrain.), or list the module that '
        'registers it in custom_imports.')
    assert bad_input_message(KeyError('state_dict')) is None
    assert bad_input_message(ValueError('boom')) is None


def test_run_cli_reports_bad_input_in_one_line(capsys):
    def main():
        raise CdmxError('split overlaps; give disjoint class lists.')

    with pytest.raises(SystemExit) as exited:
        run_cli(main)
    assert exited.value.code == 2
    assert capsys.readouterr().err == 'error: split overlaps; give disjoint class lists.\n'


@pytest.mark.parametrize('error', [RuntimeError('a bug'), KeyError('state_dict')])
def test_run_cli_lets_other_errors_propagate(error):
    def main():
        raise error

    with pytest.raises(type(error)):
        run_cli(main)


def test_load_config_merges_options_and_rejects_bad_paths(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("model = dict(type='Net', depth=28)\nwork_dir = None\n")
    cfg = load_config(str(config), {'model.depth': 16, 'data_root': '/data'})
    assert (cfg.model.depth, cfg.model.type, cfg.data_root) == (16, 'Net', '/data')
    with pytest.raises(CdmxError, match='does not exist'):
        load_config(str(tmp_path / 'missing.py'))
    text = tmp_path / 'cfg.txt'
    text.write_text('x = 1\n')
    with pytest.raises(CdmxError, match='is not a config file'):
        load_config(str(text))
    plugin = tmp_path / 'plugin_cfg.py'
    plugin.write_text("custom_imports = dict(imports=['no_such_cdmx_plugin'])\n")
    with pytest.raises(CdmxError, match=r"\(No module named 'no_such_cdmx_plugin'\)"):
        load_config(str(plugin))


def test_default_work_dir_is_named_after_the_config():
    assert default_work_dir('configs/baselines/wrn28-2_fashion-mnist-mini.py') == \
        os.path.join('work_dirs', 'wrn28-2_fashion-mnist-mini')


def test_resolve_checkpoint_follows_last_checkpoint(tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    ckpt = work_dir / 'iter_4.pth'
    ckpt.write_bytes(b'weights')
    assert resolve_checkpoint(str(ckpt)) == str(ckpt)
    pointer = work_dir / 'last_checkpoint'
    pointer.write_text(str(ckpt))
    assert resolve_checkpoint(str(pointer)) == str(ckpt)
    # A work dir that moved: the pointer's old absolute path is looked up next to the pointer.
    moved = tmp_path / 'moved'
    work_dir.rename(moved)
    assert resolve_checkpoint(str(moved / 'last_checkpoint')) == str(moved / 'iter_4.pth')
    (moved / 'iter_4.pth').unlink()
    with pytest.raises(CdmxError, match='points to'):
        resolve_checkpoint(str(moved / 'last_checkpoint'))
    with pytest.raises(CdmxError, match='does not exist'):
        resolve_checkpoint(str(tmp_path / 'none.pth'))
