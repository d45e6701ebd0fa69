"""What the command-line tools share: one-line reports of bad input, config and checkpoint paths.

Bad input ends a tool with ``error: <one sentence>`` on stderr and exit status 2 (argparse's
status for a bad command line), without a traceback. Bad input is a :class:`CdmxError`, or
mmengine's ``KeyError`` for a ``type=`` name that no registry holds. Every other exception is a
bug, not bad input, and propagates with its traceback.
"""
import os
import re
import sys
from typing import Callable, Optional

from mmengine.config import Config

from .errors import CdmxError

#: mmengine's message for an unknown ``type=``: ``"Foo is not in the mmpretrain::model registry.
#: Please check ..."`` (``mmengine.registry.build_functions.build_from_cfg``).
_UNKNOWN_TYPE = re.compile(r'(\S+) is not in the (\S+) registry')
#: mmengine's prefix when it re-raises an error from a constructor:
#: ``"class `ImageClassifier` in mmpretrain/models/classifiers/image.py: <message>"``.
_BUILD_CONTEXT = re.compile(r'^class `[^`]+` in [^:]+: ')

BAD_INPUT_STATUS = 2


def bad_input_message(error: BaseException) -> Optional[str]:
    """The one-line report for ``error`` when it is bad input, else ``None``.

    Args:
        error: Any exception raised while a tool ran.

    Returns:
        ``'error: ...'`` for a :class:`CdmxError` or an unknown-``type=`` ``KeyError``; ``None``
        for everything else.
    """
    text = str(error.args[0]) if error.args else str(error)
    while _BUILD_CONTEXT.match(text):
        text = _BUILD_CONTEXT.sub('', text, count=1)
    if isinstance(error, CdmxError):
        return f'error: {text}'
    if isinstance(error, KeyError):
        match = _UNKNOWN_TYPE.search(text)
        if match:
            name, registry = match.groups()
            return (f"error: type '{name}' is not in the {registry} registry; check its spelling "
                    'in the config, prefix it with its scope (e.g. mmpretrain.), or list the '
                    'module that registers it in custom_imports.')
    return None


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main()``; turn bad input into one line on stderr and exit status 2."""
    try:
        main()
    except (CdmxError, KeyError) as error:
        message = bad_input_message(error)
        if message is None:
            raise
        print(message, file=sys.stderr, flush=True)
        sys.exit(BAD_INPUT_STATUS)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options`` into it.

    Args:
        path: A python config file.
        cfg_options: ``{'dotted.key': value}`` pairs, as mmengine's ``DictAction`` parses them.

    Raises:
        CdmxError: The file does not exist, is not a ``.py``/``.json``/``.yaml`` config, or a
            module its ``custom_imports`` lists cannot be imported.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'config file {path} does not exist; pass the path of a config such as '
                        'configs/baselines/wrn28-2_fashion-mnist-mini.py.')
    if os.path.splitext(path)[1] not in ('.py', '.json', '.yaml', '.yml'):
        raise CdmxError(f'{path} is not a config file; pass a .py (or .json/.yaml) config.')
    try:
        cfg = Config.fromfile(path)
    except ImportError as error:
        if not str(error).startswith('Failed to import custom modules'):
            raise
        root = error  # mmengine chains: "custom modules" <- "tools_x" <- No module named 'tools_x'
        while (root.__cause__ or root.__context__) is not None:
            root = root.__cause__ or root.__context__
        raise CdmxError(f'{path} lists custom_imports that cannot be imported ({root}); install '
                        'the package that provides them or add its folder to PYTHONPATH.'
                        ) from error
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config name without extension>``, mmseg's default."""
    return os.path.join('work_dirs', os.path.splitext(os.path.basename(config_path))[0])


def place_out_files(cfg: Config) -> None:
    """Resolve the relative ``out_file`` of every evaluator metric against ``cfg.work_dir``.

    Metrics that write files (e.g. ``OpenSetMetric(out_file='predictions.csv')``) do not know
    the run's work dir; ``tools/train.py`` and ``tools/test.py`` call this once the work dir is
    set, so a config can name its files relative to the run. Absolute paths stay as they are.
    """
    for key in ('val_evaluator', 'test_evaluator'):
        metrics = cfg.get(key)
        for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
            out_file = metric.get('out_file') if isinstance(metric, dict) else None
            if isinstance(out_file, str) and out_file and not os.path.isabs(out_file):
                metric['out_file'] = os.path.join(cfg.work_dir, out_file)


def resolve_checkpoint(path: str) -> str:
    """The checkpoint file that ``path`` names.

    ``path`` is a checkpoint, or the ``last_checkpoint`` text file the Runner's CheckpointHook
    writes into a work dir (one line: the path of the newest checkpoint). A relative or moved
    pointer target is also looked up next to the pointer file, where the hook saves checkpoints.

    Raises:
        CdmxError: Neither ``path`` nor the checkpoint it points to exists.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'checkpoint {path} does not exist; pass a .pth file saved by '
                        'tools/train.py or the last_checkpoint file in its work dir.')
    if os.path.basename(path) != 'last_checkpoint':
        return path
    with open(path, encoding='utf-8') as f:
        target = f.read().strip()
    for candidate in (target, os.path.join(os.path.dirname(path), os.path.basename(target))):
        if target and os.path.isfile(candidate):
            return candidate
    raise CdmxError(f'{path} points to {target!r}, which does not exist; pass an existing '
                    'checkpoint file instead.')
