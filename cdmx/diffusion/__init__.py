"""The diffusion mathematics every cdmx method uses: noising, DDIM steps, inversion, guidance."""
from .ddim import DDIMSampler, forward_noise, make_ddim_scheduler
from .guidance import ClassifierGuidance, classifier_free_guidance
from .inversion import DDIMInversion
from .inversion_gap import inversion_gap
from .noise_predictor import UNetNoisePredictor

__all__ = [
    'DDIMSampler', 'DDIMInversion', 'UNetNoisePredictor', 'ClassifierGuidance',
    'classifier_free_guidance', 'forward_noise', 'inversion_gap', 'make_ddim_scheduler'
]
