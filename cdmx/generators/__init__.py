"""Generator plugins (GENERATORS, INVERTERS): a Stable Diffusion backend and UCDM's generators."""
from .backend import StableDiffusionBackend, backend_config, build_backend, check_images
from .base import PairGenerator
from .engine import GenerationEngine, pair_generator
from .guided_sampler import ClassifierGuidedSampler, load_trained_model
from .inverter import DDIMInverter
from .negative import NegativeGenerator
from .positive import PositiveGenerator
from .prompts import check_class_names, check_prompt_template, format_prompts
from .random_start import RandomNegativeGenerator, RandomPositiveGenerator
from .seeds import load_seeds

__all__ = [
    'StableDiffusionBackend', 'PositiveGenerator', 'NegativeGenerator', 'RandomPositiveGenerator',
    'RandomNegativeGenerator',
    'DDIMInverter', 'PairGenerator', 'GenerationEngine', 'pair_generator', 'backend_config', 'build_backend',
    'ClassifierGuidedSampler', 'load_trained_model',
    'load_seeds', 'check_images', 'check_class_names', 'check_prompt_template', 'format_prompts'
]
