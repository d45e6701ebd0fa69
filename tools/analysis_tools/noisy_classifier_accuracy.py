"""Accuracy of a trained noisy classifier ``p_phi(y | x_t, t)`` per noise level t (GDUI §3.5).

    python tools/analysis_tools/noisy_classifier_accuracy.py CONFIG CHECKPOINT
        [--timesteps 0 50 100 200 300 400] [--num-images N] [--batch-size 500] [--seed 0]
        [--device cpu] [--out FILE] [--cfg-options KEY=VALUE ...]

CONFIG is the classifier's training config (e.g.
``configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py``) and CHECKPOINT a ``.pth`` of
that run or its ``last_checkpoint``. The held-out images are the config's
``test_dataloader.dataset`` with their true labels (the mini world: the 10,000 Fashion-MNIST test
images, never trained on), the first ``--num-images`` of them in file order. Each image ``x_0``
gets one noise ``eps`` from a generator seeded by ``(seed, index)`` (independent of the
batching), shared by every t, and is classified as ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t)
eps`` at timestep t with the classifier's own noise schedule (the UNet's). Class ids are the
dataset's: for a +PLG classifier (clusters named arbitrarily) the accuracy is not a class
accuracy.

Prints a markdown table (t, the signal level ``sqrt(abar_t)``, accuracy, correct / count) and,
with ``--out``, writes the same numbers as JSON. Only ``logits``, ``noise_scheduler``,
``num_classes`` and ``data_preprocessor`` of the model are used, so the tool also measures
classifiers of earlier cdmx revisions when run in their checkout.
"""
import argparse
import json
import os
from typing import List, Sequence

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from cdmx.generators import load_trained_model
from cdmx.registry import DATASETS
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError

DEFAULT_TIMESTEPS = (0, 50, 100, 200, 300, 400)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Accuracy of a noisy classifier per timestep.')
    parser.add_argument('config', help='the classifier training config')
    parser.add_argument('checkpoint', help='its .pth or last_checkpoint')
    parser.add_argument('--timesteps', type=int, nargs='+', default=list(DEFAULT_TIMESTEPS))
    parser.add_argument('--num-images', type=int, help='first N held-out images (default all)')
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--seed', type=int, default=0, help='seed of the noise')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, KEY=VALUE')
    return parser.parse_args()


def noise(seed: int, indices: Sequence[int], shape: Sequence[int]) -> torch.Tensor:
    """``(len(indices), *shape)`` standard normal noise, image ``i`` from a generator seeded by
    ``(seed, i)`` through numpy's SeedSequence."""
    out = []
    for index in indices:
        state = int(np.random.SeedSequence([seed, int(index)]).generate_state(1)[0])
        out.append(torch.randn(tuple(shape), generator=torch.Generator().manual_seed(state)))
    return torch.stack(out)


@torch.no_grad()
def accuracy_per_timestep(model, dataset, timesteps: Sequence[int], num_images: int,
                          batch_size: int, seed: int) -> List[dict]:
    """Rows ``{t, signal, accuracy, correct, count}`` of the first ``num_images`` of ``dataset``
    (mmengine items: ``inputs`` uint8 ``(C, H, W)``, ``data_samples`` with ``gt_label``)."""
    scheduler = model.noise_scheduler
    correct = torch.zeros(len(timesteps), dtype=torch.long)
    for start in range(0, num_images, batch_size):
        indices = range(start, min(start + batch_size, num_images))
        items = [dataset[i] for i in indices]
        batch = model.data_preprocessor(
            dict(inputs=[item['inputs'] for item in items],
                 data_samples=[item['data_samples'] for item in items]), False)
        x_0 = batch['inputs']  # (B, C, H, W) on the model's device, UNet-scaled
        device = x_0.device
        labels = torch.cat([s.gt_label.reshape(-1)[:1] for s in batch['data_samples']])
        eps = noise(seed, indices, x_0.shape[1:]).to(device=device, dtype=x_0.dtype)
        for row, t in enumerate(timesteps):
            steps = torch.full((len(indices), ), t, dtype=torch.long, device=device)
            x_t = scheduler.add_noise(x_0, eps, steps)
            predicted = model.logits(x_t, steps).argmax(dim=1).cpu()
            correct[row] += int((predicted == labels.cpu()).sum())
    abar = scheduler.alphas_cumprod
    return [dict(t=int(t), signal=float(abar[t].sqrt()), correct=int(c), count=num_images,
                 accuracy=float(c) / num_images) for t, c in zip(timesteps, correct)]


def held_out_dataset(cfg):
    """The config's ``test_dataloader.dataset``, built."""
    loader = cfg.get('test_dataloader')
    if not loader or 'dataset' not in loader:
        raise CdmxError('the config has no test_dataloader.dataset of held-out images; give one '
                        '(e.g. with --cfg-options) that the classifier was not trained on.')
    return DATASETS.build(loader['dataset'])


def check_args(args, model, dataset) -> int:
    """Refuse bad timesteps, sizes and output paths before any work; return the image count."""
    top = model.num_train_timesteps - 1
    outside = [t for t in args.timesteps if not 0 <= t <= top]
    if outside:
        raise CdmxError(f'timesteps {outside} are outside the classifier\'s trained timesteps '
                        f'0..{top}; pass timesteps in that range.')
    classes = dataset.metainfo.get('classes')
    if classes is not None and len(classes) != model.num_classes:
        raise CdmxError(f'the held-out dataset has {len(classes)} classes but the classifier '
                        f'{model.num_classes}; evaluate it on data of its own classes.')
    num_images = len(dataset) if args.num_images is None else args.num_images
    if not 1 <= num_images <= len(dataset):
        raise CdmxError(f'--num-images is {num_images} but the held-out set has {len(dataset)} '
                        'images; pass a count from 1 to that.')
    if args.batch_size < 1:
        raise CdmxError(f'--batch-size is {args.batch_size}; pass a positive integer.')
    if args.out and os.path.isdir(args.out):
        raise CdmxError(f'--out {args.out} is a folder; pass a file name such as accuracy.json.')
    return num_images


def table(rows: List[dict]) -> str:
    lines = ['| t | sqrt(abar_t) | accuracy | correct / count |', '|--:|--:|--:|--:|']
    lines += [f"| {r['t']} | {r['signal']:.3f} | {100 * r['accuracy']:.1f}% | "
              f"{r['correct']} / {r['count']} |" for r in rows]
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    dataset = held_out_dataset(cfg)
    model = load_trained_model(cfg, args.checkpoint, args.device)
    num_images = check_args(args, model, dataset)
    rows = accuracy_per_timestep(model, dataset, args.timesteps, num_images, args.batch_size,
                                 args.seed)
    print(f'noisy classifier {args.checkpoint} ({args.config}) on {num_images} held-out images, '
          f'noise seed {args.seed}:')
    print(table(rows))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint, num_images=num_images,
                           seed=args.seed, rows=rows), f, indent=2)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
