"""Evaluate the stand-in foundation models that tools/pretrain_foundation.py made.

    python tools/analysis_tools/eval_foundation.py [--work-dir work_dirs/foundation]
        [--sd-config configs/foundation/mini_sd.py] [--clip-config configs/foundation/mini_clip.py]
        [--skip-sd] [--skip-clip] [--skip-erasure] [--samples-per-class 100] [--steps 20]
        [--guidance-scale 7.5] [--erasure-seeds 200] [--judge-epochs 15] [--seed 0] [--out FILE]

Prints, each with its real-data reference:

* **Judge**: a :class:`~cdmx.models.foundation.JudgeConvNet` trained on the real labels of the
  SD's training pool (the config's ``recipe.data``), and its accuracy on the real test split
  (the config's ``test_data``), so that readers see how far the judge itself can be trusted.
* **Autoencoder**: the judge's accuracy on the SD autoencoder's reconstructions of the test
  split, the most the faithfulness could reach through this decoder.
* **SD faithfulness** (bar: >= 80%): the fraction of class-conditional samples of the pipeline
  (``StableDiffusionPipeline.from_pretrained``, DDIM, classifier-free guidance) that the judge
  assigns to the prompted class, overall and per class.
* **CLIP zero-shot accuracy** (bar: >= 80%) of the mini CLIP on the test split, loaded with
  ``open_clip.create_model_and_transforms``.
* **Erasure**: for test images the judge classifies correctly, how often UCDM's negative
  instance of the image's own class (``NegativeGenerator``: conditional inversion, unconditional
  reverse with eta = 0.2) is no longer classified as that class, beside the same rate for a plain
  unconditional inversion + eta = 0 reconstruction (the round-trip baseline). No bar.
"""
import argparse
import json
import os
import time

import torch
from mmengine.registry import init_default_scope

from cdmx.generators.prompts import format_prompts
from cdmx.registry import RECIPES
from cdmx.models.foundation.data import load_image_tensors
from cdmx.models.foundation.judge import predict, train_judge
from cdmx.models.foundation.mini_clip import (load_mini_clip, preprocess_images,
                                              zero_shot_predict)
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError

DEFAULT_WORK_DIR = 'work_dirs/foundation'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate the mini SD and the mini CLIP.')
    parser.add_argument('--work-dir', default=DEFAULT_WORK_DIR,
                        help='folder tools/pretrain_foundation.py wrote into')
    parser.add_argument('--sd-config', default='configs/foundation/mini_sd.py')
    parser.add_argument('--clip-config', default='configs/foundation/mini_clip.py')
    parser.add_argument('--skip-sd', action='store_true', help='skip faithfulness and erasure')
    parser.add_argument('--skip-clip', action='store_true', help='skip zero-shot accuracy')
    parser.add_argument('--skip-erasure', action='store_true', help='skip the erasure rates')
    parser.add_argument('--samples-per-class', type=int, default=100)
    parser.add_argument('--steps', type=int, default=20, help='DDIM steps of the samples')
    parser.add_argument('--guidance-scale', type=float, default=7.5,
                        help='classifier-free guidance of the samples (UCDM: 7.5)')
    parser.add_argument('--batch-size', type=int, default=100, help='samples per pipeline call')
    parser.add_argument('--erasure-seeds', type=int, default=200,
                        help='test images turned into negatives')
    parser.add_argument('--judge-epochs', type=int, default=15)
    parser.add_argument('--seed', type=int, default=0, help='seed of the judge and the samples')
    parser.add_argument('--out', help='also write the numbers to this JSON file')
    return parser.parse_args()


def report(name: str, correct: torch.Tensor, targets: torch.Tensor, classes: tuple) -> dict:
    """Print the overall rate of ``correct`` ``(N,)`` bool and its rate per target class."""
    per_class = {c: float(correct[targets == i].float().mean())
                 for i, c in enumerate(classes) if (targets == i).any()}
    overall = float(correct.float().mean())
    print(f'{name}: {100 * overall:.1f}% of {len(correct)}')
    print('  per class: ' + ', '.join(f'{c} {100 * v:.0f}%' for c, v in per_class.items()))
    return dict(overall=overall, per_class=per_class, count=len(correct))


def sd_samples(pipe, prompts: list, args) -> torch.Tensor:
    """One sample per prompt from a ``StableDiffusionPipeline``: ``(N, 3, H, W)`` in [0, 1]."""
    generator = torch.Generator().manual_seed(args.seed)
    return torch.cat([
        pipe(prompts[i:i + args.batch_size], num_inference_steps=args.steps,
             guidance_scale=args.guidance_scale, generator=generator, output_type='pt').images
        for i in range(0, len(prompts), args.batch_size)
    ])


def reconstructions(backend, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``decode(encode(x))`` through the autoencoder alone: ``(N, 3, H, W)`` in [0, 1]."""
    return torch.cat([backend.decode(backend.encode(images[i:i + batch_size]))
                      for i in range(0, len(images), batch_size)])


def erasure(backend, template: str, seeds: torch.Tensor, labels: torch.Tensor, classes: tuple,
            judge, args) -> dict:
    """Erasure rates of UCDM's negatives and of the round-trip baseline for ``seeds``."""
    from cdmx.generators import NegativeGenerator
    names = [classes[i] for i in labels]
    generators = {
        'UCDM negative (conditional inversion, eta=0.2 reverse)':
        NegativeGenerator(backend, template, num_inference_steps=args.steps, eta=0.2),
        'round trip (unconditional inversion, eta=0 reverse)':
        NegativeGenerator(backend, template, num_inference_steps=args.steps, eta=0.0,
                          inverter=dict(type='DDIMInverter', conditional=False)),
    }
    results = {}
    for name, gen in generators.items():
        outs = [gen(seeds[i:i + args.batch_size], names[i:i + args.batch_size],
                    generator=torch.Generator().manual_seed(args.seed + i))
                for i in range(0, len(seeds), args.batch_size)]
        results[name] = report(f'erased, {name}', predict(judge, torch.cat(outs)) != labels,
                               labels, classes)
    return results


def evaluate_sd(args) -> dict:
    """Judge, autoencoder reconstructions, faithfulness and (unless skipped) erasure."""
    from cdmx.generators import build_backend
    cfg = load_config(args.sd_config)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    recipe = cfg.recipe
    folder = RECIPES.build(recipe).output_path(args.work_dir)
    if not os.path.isfile(os.path.join(folder, 'model_index.json')):
        raise CdmxError(f'{folder} holds no Stable Diffusion pipeline; run '
                        f'tools/pretrain_foundation.py {args.sd_config} first.')
    backend = build_backend(dict(type='StableDiffusionBackend', pretrained=folder))
    test_x, test_y, classes = load_image_tensors(cfg.test_data, recipe.image_size)
    pool_x, pool_y, _ = load_image_tensors(recipe.data, recipe.image_size)
    judge = train_judge(pool_x, pool_y, len(classes), epochs=args.judge_epochs, batch_size=128,
                        lr=3e-3, generator=torch.Generator().manual_seed(args.seed))
    test_pred = predict(judge, test_x)
    results = dict(judge_test_accuracy=report('judge accuracy on the real test split',
                                              test_pred == test_y, test_y, classes))
    results['judge_reconstruction_accuracy'] = report(
        'judge accuracy on autoencoder reconstructions of the test split',
        predict(judge, reconstructions(backend, test_x, 500)) == test_y, test_y, classes)
    targets = torch.arange(len(classes)).repeat_interleave(args.samples_per_class)
    prompts = format_prompts(recipe.prompt_template, [classes[i] for i in targets])
    results['sd_faithfulness'] = report(
        f'SD faithfulness ({args.steps} DDIM steps, guidance {args.guidance_scale})',
        predict(judge, sd_samples(backend.pipe, prompts, args)) == targets, targets, classes)
    if not args.skip_erasure:
        right = torch.nonzero(test_pred == test_y).flatten()
        if len(right) == 0:
            raise CdmxError('the judge classifies no test image correctly, so no seed can show '
                            'erasure; train it longer with --judge-epochs.')
        pick = right[torch.randperm(len(right), generator=torch.Generator().manual_seed(
            args.seed))[:args.erasure_seeds]]
        results['erasure'] = erasure(backend, recipe.prompt_template, test_x[pick],
                                     test_y[pick], classes, judge, args)
    return results


def evaluate_clip(args) -> dict:
    """Zero-shot accuracy of the mini CLIP on the config's test split."""
    cfg = load_config(args.clip_config)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    recipe = cfg.recipe
    checkpoint = RECIPES.build(recipe).output_path(args.work_dir)
    model, preprocess, tokenizer = load_mini_clip(checkpoint, recipe.model_name)
    images, labels, classes = load_image_tensors(cfg.test_data, recipe.image_size)
    pred = zero_shot_predict(model, tokenizer, preprocess_images(images, preprocess),
                             format_prompts(recipe.prompt_template, classes))
    return dict(clip_zero_shot_accuracy=report('CLIP zero-shot accuracy on the test split',
                                               pred == labels, labels, classes))


def main() -> None:
    args = parse_args()
    results = {}
    for skip, evaluate in ((args.skip_sd, evaluate_sd), (args.skip_clip, evaluate_clip)):
        if not skip:
            start = time.perf_counter()
            results.update(evaluate(args))
            print(f'({evaluate.__name__}: {time.perf_counter() - start:.0f} s)')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    run_cli(main)
