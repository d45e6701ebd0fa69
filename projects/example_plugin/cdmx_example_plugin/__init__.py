"""cdmx-example-plugin: a matcher and a head that register into cdmx from outside its package.

Importing this package (a config does it with ``custom_imports``) runs the two
``register_module`` decorators; nothing in ``cdmx/`` names this package.
"""
from .cosine_head import CosineClsHead
from .greedy_matcher import GreedyMatcher

__all__ = ['CosineClsHead', 'GreedyMatcher']
__version__ = '0.1.0'
