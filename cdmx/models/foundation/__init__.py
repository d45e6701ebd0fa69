"""Recipes that pretrain cdmx's stand-ins for foundation models on the mini world's external pool:
the mini Stable Diffusion (a diffusers pipeline folder) and the mini CLIP (an open_clip model)."""
from .clip_tokenizer import save_clip_tokenizer
from .judge import JudgeConvNet, predict, train_judge
from .mini_clip import MiniCLIP, load_clip, load_mini_clip, zero_shot_predict
from .mini_sd import MiniStableDiffusion

__all__ = [
    'save_clip_tokenizer', 'MiniStableDiffusion', 'MiniCLIP', 'load_clip',
    'load_mini_clip', 'zero_shot_predict', 'JudgeConvNet', 'train_judge', 'predict'
]
