"""The registry of foundation recipes: objects that pretrain a stand-in model into a work dir.

A recipe is built from the ``recipe`` dict of a ``configs/foundation/*.py`` file and offers
``output_path(work_dir)`` (what it makes) and ``run(work_dir)`` (make it, or reuse a complete
earlier result). ``tools/pretrain_foundation.py`` runs any registered recipe.
"""
from mmengine.registry import Registry

from cdmx.registry import SCOPE

RECIPES = Registry('foundation recipe', scope=SCOPE, locations=['cdmx.models.foundation'])
