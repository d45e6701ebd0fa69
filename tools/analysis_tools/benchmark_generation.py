"""Benchmark UCDM's generation engine against a naive per-pair loop, side by side in one run.

    python tools/analysis_tools/benchmark_generation.py SOURCE [--seeds 8] [--classes C1 C2 ...]
        [--images DIR | --data-root DIR] [--steps 20] [--batch-size 32] [--device cpu]
        [--torch-dtype float32] [--resize-policy bicubic|pad] [--seed 0]

SOURCE is a StableDiffusionPipeline folder (e.g. work_dirs/foundation/mini_sd) or a config file
with a top-level ``backend`` dict. Both sides make one positive and one negative for every
(seed, class) pair with the same loaded backend, DDIM grid and settings (guidance 7.5, eta 1,
strength 1, UCDM's defaults):

* engine: :class:`cdmx.generators.GenerationEngine` into a temporary cache (``--batch-size``
  pairs per generator call, each seed encoded once, shards written and checksummed);
* naive: per pair at batch 1, diffusers' ``StableDiffusionImg2ImgPipeline`` (built from the
  backend's components with a DDIM scheduler) for the positive, and the cdmx
  ``NegativeGenerator`` called on the single image (encode, inversion, reverse, decode) for the
  negative. The naive positive gets the seed resized bicubically to the model's resolution
  (the resize policy changes no UNet work).

Model loading is outside both timings. Each side's UNet time is measured by wrapping
``UNet2DConditionModel.forward`` with a timer (synchronising CUDA around each call). Printed:
both wall times, the speedup (naive / engine, goal >= 3x) and the share of the engine's wall
time spent inside UNet calls (goal >= 90%).
"""
import argparse
import tempfile
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, StableDiffusionImg2ImgPipeline, UNet2DConditionModel

from cdmx.generators import GenerationEngine, NegativeGenerator, pair_generator
from cdmx.generators.prompts import format_prompts
from cdmx.generators.tool_args import add_backend_and_seed_arguments, load_backend_and_seeds
from cdmx.registry import GENERATORS
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

GUIDANCE, ETA, STRENGTH = 7.5, 1.0, 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generation engine vs a naive per-pair loop.')
    add_backend_and_seed_arguments(parser, '--seeds', 8)
    parser.add_argument('--batch-size', type=int, default=32, help="the engine's batch size")
    parser.add_argument('--seed', type=int, default=0, help='seed of the image choice and noise')
    return parser.parse_args()


class SeedImages:
    """The seeds as the engine's dataset: ``img`` uint8 ``(H, W, 3)``, ``sample_idx`` = row."""

    def __init__(self, seeds: torch.Tensor, classes: list):
        self.images = (seeds * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        self.metainfo = dict(classes=tuple(classes))

    def __len__(self) -> int:
        return len(self.images)

    def get_data_info(self, idx: int) -> dict:
        return dict(img=self.images[idx], sample_idx=idx)


class PreloadedEngine(GenerationEngine):
    """The engine with models loaded before the timing (the naive loop's are too)."""

    def __init__(self, models: dict, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.models = models

    def _build_generators(self) -> dict:
        return self.models


@contextmanager
def unet_timer(device: torch.device):
    """Yield a dict whose ``seconds`` / ``calls`` grow with every UNet forward in the block."""
    stats, original = dict(seconds=0.0, calls=0), UNet2DConditionModel.forward
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def timed_forward(self, *args, **kwargs):
        sync()
        start = time.perf_counter()
        out = original(self, *args, **kwargs)
        sync()
        stats['seconds'] += time.perf_counter() - start
        stats['calls'] += 1
        return out

    UNet2DConditionModel.forward = timed_forward
    try:
        yield stats
    finally:
        UNet2DConditionModel.forward = original


def timed(fn, device: torch.device):
    """Run ``fn()``; return (wall seconds, UNet seconds, UNet calls)."""
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    with unet_timer(device) as stats:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        wall = time.perf_counter() - start
    return wall, stats['seconds'], stats['calls']


def run_naive(backend, img2img, negative, seeds, classes, args) -> None:
    """One Img2Img call and one NegativeGenerator call per (seed, class) pair, batch 1."""
    model_size = (backend.resolution, ) * 2
    for s in range(len(seeds)):
        image = seeds[s:s + 1]
        model_image = F.interpolate(image, size=model_size, mode='bicubic',
                                    align_corners=False).clamp(0, 1)
        for k, name in enumerate(classes):
            img2img(prompt=format_prompts(args.prompt_template, [name])[0], image=model_image,
                    strength=STRENGTH, num_inference_steps=args.steps, guidance_scale=GUIDANCE,
                    eta=ETA, generator=pair_generator(args.seed, s, k, 0), output_type='pt')
            negative(image, [name], pair_generator(args.seed, s, k, 1))


def main() -> None:
    args = parse_args()
    if args.batch_size < 1:
        raise CdmxError(f'--batch-size is {args.batch_size}; pass an integer >= 1.')
    backend, seeds, _, classes = load_backend_and_seeds(args)
    if seeds.shape[-1] != seeds.shape[-2]:
        raise CdmxError(f'seed images are {seeds.shape[-2]}x{seeds.shape[-1]}; the engine '
                        'stores square images, so pass square seeds.')
    settings = dict(num_inference_steps=args.steps, prompt_template=args.prompt_template)
    positive_cfg = dict(type='PositiveGenerator', guidance_scale=GUIDANCE, eta=ETA,
                        strength=STRENGTH, **settings)
    negative_cfg = dict(type='NegativeGenerator', **settings)
    models = dict(backend=backend,
                  positive=GENERATORS.build(positive_cfg, default_args=dict(backend=backend)),
                  negative=GENERATORS.build(negative_cfg, default_args=dict(backend=backend)))
    components = dict(backend.pipe.components, requires_safety_checker=False,
                      scheduler=DDIMScheduler.from_config(backend.scheduler_config))
    img2img = StableDiffusionImg2ImgPipeline(**components)
    img2img.set_progress_bar_config(disable=True)
    naive_negative = NegativeGenerator(backend, **settings)
    backend_cfg = dict(type='StableDiffusionBackend', pretrained=backend.pretrained)
    pairs = len(seeds) * len(classes)
    # Warm-up outside the timings (first-call allocations, prompt cache of the text encoder).
    run_naive(backend, img2img, naive_negative, seeds[:1], classes[:1], args)

    with tempfile.TemporaryDirectory() as cache_dir:
        engine = PreloadedEngine(models, cache_dir, SeedImages(seeds, classes), backend_cfg,
                                 positive_cfg, negative_cfg, classes=classes,
                                 resolution=seeds.shape[-1], shard_size=len(seeds),
                                 batch_size=args.batch_size, seed=args.seed, progress=False)
        engine_wall, engine_unet, engine_calls = timed(engine.run, backend.device)
    print(f'{len(seeds)} seeds x {len(classes)} classes = {pairs} (seed, class) pairs, '
          f'{2 * pairs} images, {args.steps} DDIM steps, device {backend.device}, '
          f'{torch.get_num_threads()} CPU threads')
    print(f'engine (batch {args.batch_size}): {engine_wall:.4f} s, UNet {engine_unet:.4f} s in '
          f'{engine_calls} calls', flush=True)
    naive_wall, naive_unet, naive_calls = timed(
        lambda: run_naive(backend, img2img, naive_negative, seeds, classes, args), backend.device)
    print(f'naive loop (batch 1): {naive_wall:.4f} s, UNet {naive_unet:.4f} s in '
          f'{naive_calls} calls')
    print(f'speedup: {naive_wall / engine_wall:.2f}x (goal >= 3x)')
    print(f'engine UNet share: {100 * engine_unet / engine_wall:.1f}% (goal >= 90%)')
    print(f'naive UNet share: {100 * naive_unet / naive_wall:.1f}%')


if __name__ == '__main__':
    run_cli(main)
