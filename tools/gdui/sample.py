"""Sample images of named classes with GDUI's guided synthesis (§3.5, Eq. 19).

    python tools/gdui/sample.py CONFIG --unet-checkpoint CKPT [--classifier-checkpoint CKPT]
        [--out-dir DIR] [--classes NAME_OR_ID ...] [--num-per-class N] [--num-samples N]
        [--scale S [--scale-source TEXT] | --scale-from SWEEP.json] [--steps N]
        [--batch-size B] [--seed S] [--device cpu] [--cfg-options KEY=VALUE ...]

CONFIG is a sampling config (``configs/gdui/sample_*.py``): ``unet_config``,
``classifier_config`` (``None`` for unconditional sampling), ``class_names`` (the classifier's
output order), ``generator`` (a :class:`~cdmx.generators.ClassifierGuidedSampler`),
``num_per_class`` / ``num_samples``, ``batch_size`` and ``seed``. Checkpoints are ``.pth`` files
of tools/train.py or their ``last_checkpoint`` pointer.

Output in DIR (default ``work_dirs/<config name>``):

* guided: per class ``<class>.npy`` (uint8 ``(num_per_class, H, W, C)``, no pickle) and
  ``<class>.png`` (a grid), where ``<class>`` is the name with non-alphanumerics as ``_``;
* unconditional (no classifier or scale 0): ``unconditional.npy`` and ``unconditional.png``;
  a guided config at scale 0 draws ``num_per_class`` x K images (K = ``len(class_names)``):
  the guided run's noise set, unguided;
* always ``samples.npy`` (all images), ``labels.npy`` (int64 class id per image, -1 when
  unconditional) and ``manifest.json`` (settings and files).

The guidance scale s (Eq. 19 with a scale) is the config's ``generator.scale``, or ``--scale``,
or the ``chosen_scale`` of a guidance-scale sweep (``--scale-from``, the ``guidance_sweep.json``
of tools/analysis_tools/gdui_guidance_sweep.py). ``manifest.json`` records how it was chosen as
``scale_source``: ``{'by': 'config' | '--scale' | 'sweep', 'text': ...}`` (a sweep adds its
file, rule, scales and dev references; ``--scale-source TEXT`` says why a ``--scale`` was
given, e.g. ``'set by GDUI_SCALE'``), which tools/analysis_tools/gdui_table.py prints. A
missing or malformed sweep file, a scale that is negative or not finite, a classifier trained on
another noise schedule, image size or class list (its checkpoint's ``dataset_meta``) than the
UNet and the config are each refused with one sentence before anything is written.

Every sample of a run has its own noise (its initial ``x_T`` and every step's noise): sample
``j`` of class ``c`` draws it from a generator seeded by ``(seed, c * num_per_class + j)``, an
unconditional sample ``i`` by ``(seed, i)`` (:func:`noise_index`). So no two samples of a run
share a noise path, a guided run over all ``K`` classes uses exactly the ``K * num_per_class``
paths of an unconditional run of that many samples (same noise set: the rows differ by the
guidance only), and sample ``j`` of a class gets the same noise whatever ``--classes`` selects
or ``--batch-size`` is.
"""
import argparse
import json
import os
import math
import re
from typing import List, Optional, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from tqdm import tqdm  # noqa: E402

from cdmx.generators import load_trained_model  # noqa: E402
from cdmx.generators.guided_sampler import check_pair  # noqa: E402
from cdmx.registry import GENERATORS  # noqa: E402
from cdmx.utils.checkpoint import load_from_local  # noqa: E402
from cdmx.utils.cli import default_work_dir, load_config, resolve_checkpoint, run_cli  # noqa
from cdmx.utils.errors import CdmxError  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Sample named classes with GDUI's guidance.")
    parser.add_argument('config', help='sampling config (configs/gdui/sample_*.py)')
    parser.add_argument('--unet-checkpoint', required=True, help='UNet .pth or last_checkpoint')
    parser.add_argument('--classifier-checkpoint',
                        help='noisy classifier .pth or last_checkpoint (guided configs)')
    parser.add_argument('--out-dir', help='output folder (default: work_dirs/<config name>)')
    parser.add_argument('--classes', nargs='+', help='class names or ids to sample (default: '
                        'all class_names)')
    parser.add_argument('--num-per-class', type=int, help='images per class (guided)')
    parser.add_argument('--num-samples', type=int, help='images in all (unconditional)')
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument('--scale', type=float, help='guidance scale (0: unconditional)')
    scale.add_argument('--scale-from', metavar='SWEEP.json', help='use the chosen_scale of '
                       'this guidance_sweep.json (tools/analysis_tools/gdui_guidance_sweep.py)')
    parser.add_argument('--scale-source', metavar='TEXT', help='why --scale was given, '
                        "recorded in manifest.json (default: 'given with --scale')")
    parser.add_argument('--steps', type=int, help='reverse steps')
    parser.add_argument('--batch-size', type=int, help='images per sampler call')
    parser.add_argument('--seed', type=int, help='seed of the noise')
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. generator.method=ddim')
    return parser.parse_args()


def file_stem(name: str) -> str:
    """A class name as a file name: ``'T-shirt/top'`` -> ``'T_shirt_top'``."""
    return re.sub(r'[^0-9A-Za-z]+', '_', name).strip('_') or 'class'


def select_classes(class_names: List[str], wanted) -> List[int]:
    """Ids of the wanted class names or ids (all when ``wanted`` is empty)."""
    if not wanted:
        return list(range(len(class_names)))
    ids = []
    for item in wanted:
        if item in class_names:
            ids.append(class_names.index(item))
        elif item.isdigit() and int(item) < len(class_names):
            ids.append(int(item))
        else:
            raise CdmxError(f'class {item!r} is not among {class_names}; pass one of these names '
                            f'or an id 0..{len(class_names) - 1}.')
    return ids


def noise_index(class_id: int, j: int, count: int) -> int:
    """The run-wide noise index of sample ``j`` of ``count``: ``class_id * count + j`` for a
    guided class ``class_id >= 0``, ``j`` for unconditional sampling (``class_id = -1``)."""
    return max(class_id, 0) * count + j


def noise_generators(seed: int, indices, device) -> List[torch.Generator]:
    """One generator per sample, seeded by ``(seed, index)`` of its run-wide noise index
    (:func:`noise_index`), so a sample's noise does not depend on the batching."""
    generators = []
    for index in indices:
        state = int(np.random.SeedSequence([seed, int(index)]).generate_state(1)[0])
        generators.append(torch.Generator(device=device).manual_seed(state))
    return generators


def save_grid(images: np.ndarray, path: str, title: str) -> None:
    """A PNG grid of ``(N, H, W, C)`` uint8 images, 10 per row."""
    num, height, width, channels = images.shape
    cols = min(10, num)
    rows = -(-num // cols)
    canvas = np.zeros((rows * (height + 2), cols * (width + 2), channels), dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (height + 2) + 1:r * (height + 2) + 1 + height,
               c * (width + 2) + 1:c * (width + 2) + 1 + width] = image
    fig, ax = plt.subplots(figsize=(cols * 0.8 + 0.4, rows * 0.8 + 0.6))
    ax.imshow(canvas[..., 0] if channels == 1 else canvas, cmap='gray' if channels == 1 else None,
              vmin=0, vmax=255, interpolation='nearest')
    ax.set_title(title, fontsize=9)
    ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def scale_from_sweep(path: str) -> Tuple[float, dict]:
    """The ``chosen_scale`` of a guidance-sweep JSON and its ``scale_source`` record.

    Raises:
        CdmxError: The file is missing or not JSON, or lacks a finite ``chosen_scale > 0``
            among its finite ``scales >= 0``, its ``rule`` or its dev ``reference``.
    """
    if not os.path.isfile(path):
        raise CdmxError(f'guidance sweep {path} does not exist; run '
                        'tools/analysis_tools/gdui_guidance_sweep.py (the chain\'s guidance_sweep '
                        'stage) first, or pass --scale.')
    try:
        with open(path, encoding='utf-8') as f:
            sweep = json.load(f)
    except (OSError, ValueError) as err:
        raise CdmxError(f'guidance sweep {path} is not valid JSON ({err}); run the sweep '
                        'again.') from err
    sweep = sweep if isinstance(sweep, dict) else {}
    chosen, scales = sweep.get('chosen_scale'), sweep.get('scales')

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value) and value >= 0

    if not (number(chosen) and chosen > 0 and isinstance(scales, list)
            and all(map(number, scales)) and chosen in scales
            and isinstance(sweep.get('rule'), str) and isinstance(sweep.get('reference'), str)):
        raise CdmxError(f'guidance sweep {path} holds no finite chosen_scale > 0 among its '
                        'scales with its rule and dev reference; run the sweep again.')
    swept = sweep.get('classifier_checkpoint')
    text = (f"chosen by the guidance-scale sweep {path}"
            f"{f' (guidance by {swept})' if swept else ''}: {sweep['rule']}, over s in "
            f"{{{', '.join(f'{s:g}' for s in scales)}}}, {sweep.get('num_samples')} samples "
            f"per scale against {sweep.get('num_reference')} dev references "
            f"({sweep['reference']})")
    return float(chosen), dict(by='sweep', text=text, sweep=path, rule=sweep['rule'],
                               scales=scales, reference=sweep['reference'],
                               num_reference=sweep.get('num_reference'))


def scale_source(args: argparse.Namespace) -> Tuple[Optional[float], dict]:
    """The scale that overrides the config's (``None``: keep it) and how it was chosen."""
    if args.scale_source is not None and args.scale is None:
        raise CdmxError('--scale-source says why a --scale was given; pass it with --scale.')
    if args.scale_from is not None:
        return scale_from_sweep(args.scale_from)
    if args.scale is not None:
        return args.scale, dict(by='--scale', text=args.scale_source or 'given with --scale')
    return None, dict(by='config', text=f'generator.scale of {args.config}')


def check_classes(class_names: List[str], checkpoint: str) -> None:
    """The config's ``class_names`` must be the classifier's classes in its output order: the
    ``dataset_meta['classes']`` mmengine's Runner saves with the checkpoint (not checked when
    the checkpoint has none; the count is checked in any case)."""
    state = load_from_local(resolve_checkpoint(checkpoint), map_location='cpu')
    meta = state.get('meta') if isinstance(state.get('meta'), dict) else {}
    trained = (meta.get('dataset_meta') or {}).get('classes')
    if trained is not None and list(trained) != list(class_names):
        raise CdmxError(f'the classifier was trained on classes {list(trained)} but the config '
                        f'names {list(class_names)}; list the classifier\'s classes, in its order, '
                        'in class_names.')


def positive(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CdmxError(f'{name} is {value!r}; pass a positive integer.')
    return value


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    for key in ('unet_config', 'generator'):
        if key not in cfg:
            raise CdmxError(f'{args.config} has no {key}; pass a sampling config such as '
                            'configs/gdui/sample_fashion-mnist-mini_pseudo-labels.py.')
    scale, source = scale_source(args)
    generator_cfg = dict(cfg.generator)
    for key, value in (('scale', scale), ('num_inference_steps', args.steps)):
        if value is not None:
            generator_cfg[key] = value
    sampler = GENERATORS.build(generator_cfg)
    batch_size = positive(args.batch_size or cfg.get('batch_size', 100), 'batch_size')
    seed = args.seed if args.seed is not None else cfg.get('seed', 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CdmxError(f'seed is {seed!r}; pass an integer >= 0.')
    out_dir = args.out_dir or default_work_dir(args.config)
    unet = load_trained_model(cfg.unet_config, args.unet_checkpoint, args.device)
    guided = cfg.get('classifier_config') is not None and sampler.scale > 0
    classifier, class_names = None, list(cfg.get('class_names') or [])
    if guided:
        if args.classifier_checkpoint is None:
            raise CdmxError(f'{args.config} samples with guidance scale {sampler.scale} and needs '
                            'the classifier; pass --classifier-checkpoint or --scale 0.')
        classifier = load_trained_model(cfg.classifier_config, args.classifier_checkpoint,
                                        args.device)
        check_pair(unet, classifier)
        if len(class_names) != classifier.num_classes:
            raise CdmxError(f'the config names {len(class_names)} classes but the classifier '
                            f'has {classifier.num_classes}; list its classes in class_names.')
        check_classes(class_names, args.classifier_checkpoint)
        ids = select_classes(class_names, args.classes)
        count = positive(args.num_per_class or cfg.get('num_per_class'), 'num_per_class')
        groups = [(file_stem(class_names[i]), class_names[i], i) for i in ids]
    else:
        per_class = args.num_per_class or cfg.get('num_per_class') or 0
        count = positive(args.num_samples or cfg.get('num_samples') or
                         per_class * max(len(class_names), 1), 'num_samples')
        groups = [('unconditional', 'unconditional', -1)]
    os.makedirs(out_dir, exist_ok=True)
    all_images, all_labels, files = [], [], {}
    jobs = [(g, start) for g in groups for start in range(0, count, batch_size)]
    images_of = {stem: [] for stem, _, _ in groups}
    for (stem, _, class_id), start in tqdm(jobs, desc='sampling batches'):
        indices = [noise_index(class_id, j, count)
                   for j in range(start, min(start + batch_size, count))]
        images = sampler(unet, classifier, [max(class_id, 0)] * len(indices),
                         generator=noise_generators(seed, indices, args.device))
        images_of[stem].append(images.cpu().numpy())
    for stem, name, class_id in groups:
        images = np.concatenate(images_of[stem])
        np.save(os.path.join(out_dir, f'{stem}.npy'), images, allow_pickle=False)
        save_grid(images[:100], os.path.join(out_dir, f'{stem}.png'),
                  f'{name} (scale {sampler.scale:g}, {sampler.method}, seed {seed})')
        files[name] = dict(npy=f'{stem}.npy', png=f'{stem}.png', class_id=class_id,
                           count=len(images))
        all_images.append(images)
        all_labels.append(np.full(len(images), class_id, dtype=np.int64))
    np.save(os.path.join(out_dir, 'samples.npy'), np.concatenate(all_images), allow_pickle=False)
    np.save(os.path.join(out_dir, 'labels.npy'), np.concatenate(all_labels), allow_pickle=False)
    manifest = dict(config=args.config, unet_checkpoint=args.unet_checkpoint,
                    classifier_checkpoint=args.classifier_checkpoint if guided else None,
                    method=sampler.method, scale=sampler.scale if guided else 0.0,
                    scale_source=source,
                    num_inference_steps=sampler.num_inference_steps, seed=seed,
                    noise='per sample, seeded by (seed, class_id * count + j); unconditional: '
                          '(seed, j)',
                    class_names=class_names, files=files)
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    print(f'wrote {sum(len(i) for i in all_images)} images to {out_dir}')


if __name__ == '__main__':
    run_cli(main)
