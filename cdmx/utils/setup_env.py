import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every cdmx module that registers something, then make ``cdmx`` the default scope.

    Registries import lazily through their ``locations``; tools call this once so that a config
    that names no scope still finds everything, as mmseg's ``register_all_modules`` does.
    """
    import cdmx.datasets  # noqa: F401
    import cdmx.engine  # noqa: F401
    import cdmx.evaluation  # noqa: F401
    import cdmx.models  # noqa: F401
    import cdmx.visualization  # noqa: F401

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('cdmx'))
    if never_created:
        DefaultScope.get_instance('cdmx', scope_name='cdmx')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'cdmx':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "cdmx"; '
                      '`register_all_modules` forces it to "cdmx".')
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S_%f')
        DefaultScope.get_instance(f'cdmx-{stamp}', scope_name='cdmx')
