"""The diffusion mathematics every cdmx method uses: noising, DDIM steps, inversion, guidance."""
from .ddim import DDIMSampler, forward_noise, make_ddim_scheduler
from .ddpm import DDPMSampler
from .guidance import ClassifierGuidance, classifier_free_guidance
from .inversion import DDIMInversion
from .inversion_gap import inversion_gap
from .analog_bits import bits_to_ids, bits_to_log_probs, ids_to_bits, num_bits
from .logsnr import (CosineLogSNRSchedule, LogSNRSchedule, OffsetCosineLogSNRSchedule,
                     build_logsnr_schedule)
from .noise_predictor import UNetNoisePredictor

__all__ = [
    'DDIMSampler', 'DDPMSampler', 'DDIMInversion', 'UNetNoisePredictor', 'ClassifierGuidance',
    'classifier_free_guidance', 'forward_noise', 'inversion_gap', 'make_ddim_scheduler'
]
__all__ += ['CosineLogSNRSchedule', 'LogSNRSchedule', 'OffsetCosineLogSNRSchedule',
            'build_logsnr_schedule', 'bits_to_ids', 'bits_to_log_probs', 'ids_to_bits', 'num_bits']
