from .errors import CdmxError
from .setup_env import register_all_modules

__all__ = ['CdmxError', 'register_all_modules']
