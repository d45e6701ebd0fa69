"""Command-line arguments shared by the generator tools (show_pairs, measure_inversion_gap)."""
import argparse
from typing import List, Optional, Tuple

import torch

from .backend import StableDiffusionBackend, backend_config, build_backend
from .prompts import check_prompt_template
from .seeds import load_seeds


def add_backend_and_seed_arguments(parser: argparse.ArgumentParser, num_flag: str,
                                   num_default: int) -> None:
    """The backend source and its options, the seed images and the class list.

    ``num_flag`` (e.g. ``'--num-seeds'``) names the number of seed images, ``num_default`` its
    default.
    """
    parser.add_argument('source', help='StableDiffusionPipeline folder or config with backend')
    parser.add_argument('--images', help='folder of seed images (default: Fashion-MNIST test)')
    parser.add_argument('--data-root', default='/usr/share/datasets/fashion-mnist',
                        help='Fashion-MNIST folder')
    parser.add_argument(num_flag, dest='num_seeds', type=int, default=num_default,
                        help='number of seed images')
    parser.add_argument('--classes', nargs='+', help='class names of the prompts')
    parser.add_argument('--steps', type=int, default=20, help='DDIM steps')
    parser.add_argument('--prompt-template', default='A photo of a {}')
    parser.add_argument('--device', help='torch device (default: the config\'s, or cpu)')
    parser.add_argument('--torch-dtype', help='float32, float16 or bfloat16')
    parser.add_argument('--resize-policy', choices=('bicubic', 'pad'),
                        help="how seeds reach the model's resolution (default: the config's, "
                        "or bicubic); 'pad' for cdmx's mini SD")


def load_backend_and_seeds(
        args: argparse.Namespace
) -> Tuple[StableDiffusionBackend, torch.Tensor, Optional[List[str]], List[str]]:
    """Check the prompt template, then load the seeds and the backend the arguments name.

    Returns:
        tuple: the backend, seeds ``(N, 3, H, W)`` in ``[0, 1]``, their class names (``None``
        for a folder of images) and the checked class list.
    """
    check_prompt_template(args.prompt_template)  # before the model loads
    seeds, seed_names, classes = load_seeds(args.images, args.data_root, args.num_seeds,
                                            args.seed, args.classes)
    backend = build_backend(backend_config(args.source, args.device, args.torch_dtype,
                                           args.resize_policy))
    return backend, seeds, seed_names, classes
