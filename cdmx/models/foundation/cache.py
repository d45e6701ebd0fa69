"""Folders that appear whole or not at all, stamped with the recipe that made them.

A recipe writes into ``<folder>.tmp``, stamps it with its settings (``cdmx_recipe.json``) and
renames it to ``<folder>``; a run killed midway leaves no ``<folder>``, and a later run finds
either a complete folder made by the same settings (and reuses it) or none.
"""
import json
import os
import shutil
from typing import Callable

from cdmx.utils.errors import CdmxError

STAMP_FILE = 'cdmx_recipe.json'


def _normalise(settings: dict) -> dict:
    """Settings as JSON reads them back (tuples become lists), so stamps compare equal."""
    return json.loads(json.dumps(settings, sort_keys=True))


def is_complete(folder: str, settings: dict) -> bool:
    """Whether ``folder`` was published by :func:`publish` with these ``settings``.

    Raises:
        CdmxError: ``folder`` exists but holds no stamp or one from other settings.
    """
    if not os.path.exists(folder):
        return False
    stamp = os.path.join(folder, STAMP_FILE)
    if not os.path.isfile(stamp):
        raise CdmxError(f'{folder} exists but was not written by a cdmx recipe (no {STAMP_FILE});'
                        ' delete it or choose another --work-dir.')
    with open(stamp, encoding='utf-8') as f:
        found = json.load(f)
    if found != _normalise(settings):
        raise CdmxError(f'{folder} was made with other settings than the current config; delete '
                        'it or choose another --work-dir to train with the new settings.')
    return True


def publish(folder: str, settings: dict, write: Callable[[str], None]) -> str:
    """Call ``write(tmp_folder)``, stamp the result with ``settings`` and rename it to ``folder``.

    Returns:
        str: ``folder``.
    """
    tmp = folder + '.tmp'
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    write(tmp)
    with open(os.path.join(tmp, STAMP_FILE), 'w', encoding='utf-8') as f:
        json.dump(_normalise(settings), f, indent=2, sort_keys=True)
    os.replace(tmp, folder)
    return folder
