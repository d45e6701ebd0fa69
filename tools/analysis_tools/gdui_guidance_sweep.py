"""Sweep GDUI's guidance scale s (Eq. 19 with a scale) on dev references and choose s there.

    python tools/analysis_tools/gdui_guidance_sweep.py SAMPLE_CONFIG --unet-checkpoint CKPT
        --classifier-checkpoint CKPT --dev-reference DEV_DIR --judge JUDGE.pth --out-dir DIR
        [--scales 0 1 2 4 7 10] [--num-per-class 20] [--steps N] [--seed 1]
        [--inception PATH --inception-sha256 HEX]

For every scale s it samples ``--num-per-class`` images of every class of SAMPLE_CONFIG with
``tools/gdui/sample.py --scale s`` (s = 0: as many unconditional samples, the unguided point)
into ``DIR/scale_<s>/`` and scores them with ``tools/gdui/eval_generation.py`` against
DEV_DIR, the **dev** part of ``tools/gdui/split_references.py`` (test images held out from the
reported references and from the floor, so the scale is not chosen on the images it is then
reported on), with the independent judge for the class accuracy and IS. It writes

* ``DIR/guidance_sweep.json``: per scale FID, sFID, IS, precision, recall, class accuracy,
  the judge's accuracy on the dev images, the chosen scale and the rule, the dev references,
  and the checkpoints, config and seed swept; ``tools/gdui/sample.py --scale-from`` samples at
  its ``chosen_scale`` (the mini chain's guided rows do) and records where it came from;
* ``DIR/guidance_sweep.png``: FID, precision / recall and class accuracy against s;

and prints the chosen s. **Rule**: among the scales s > 0, the one with the lowest dev FID
(ties: the smaller s). s = 0 is swept as the unguided reference point, never chosen: the rows
sampled at the chosen s test whether guidance beats unguided sampling, which s = 0 would make
vacuous (its rows would be the unconditional row); a dev FID at s = 0 below every guided one is
the answer "no", visible in the JSON and the plot.
``--seed`` (default 1) gives the sweep other noise than the reported rows (seed 0). A negative
or non-finite scale, or a DEV_DIR that is not a dev part, is refused before anything is
written, and so is a sweep with no scale > 0 to choose.
"""
import argparse
import json
import math
import os
import subprocess
import sys
from typing import Dict, List, Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cdmx.evaluation.metrics.generation import is_real_part, load_real_part
from cdmx.utils.cli import load_config, run_cli
from cdmx.utils.errors import CdmxError

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = ('FID', 'sFID', 'IS', 'precision', 'recall', 'class_accuracy')
RULE = 'lowest dev FID among the scales > 0; ties go to the smaller scale'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Choose the guidance scale on dev references.')
    parser.add_argument('config', help='guided sampling config (configs/gdui/sample_*.py)')
    parser.add_argument('--unet-checkpoint', required=True)
    parser.add_argument('--classifier-checkpoint', required=True)
    parser.add_argument('--dev-reference', required=True,
                        help='dev part folder of tools/gdui/split_references.py')
    parser.add_argument('--judge', required=True, help='judge of tools/gdui/train_judge.py')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--scales', type=float, nargs='+', default=[0, 1, 2, 4, 7, 10])
    parser.add_argument('--num-per-class', type=int, default=20)
    parser.add_argument('--steps', type=int, help='reverse steps (default: the config\'s)')
    parser.add_argument('--seed', type=int, default=1, help='noise seed (rows use 0)')
    parser.add_argument('--inception')
    parser.add_argument('--inception-sha256')
    return parser.parse_args(argv)


def check_scales(scales: List[float]) -> List[float]:
    """The scales sorted; a negative or non-finite one, or none > 0, is bad input."""
    bad = [s for s in scales if not math.isfinite(s) or s < 0]
    if bad or not scales:
        raise CdmxError(f'guidance scales {scales} include {bad or "none"}; give finite scales '
                        '>= 0 (0 samples without guidance).')
    if not any(s > 0 for s in scales):
        raise CdmxError(f'guidance scales {scales} hold no scale > 0 to choose; add guided '
                        'scales such as 1 2 4 7 10.')
    return sorted(set(float(s) for s in scales))


def check_dev(path: str) -> None:
    """DEV_DIR must be the dev part of split_references.py, never the reported references."""
    if not is_real_part(path):
        raise CdmxError(f'dev references {path} do not exist; write them with '
                        'tools/gdui/split_references.py --parts dev.')
    part = load_real_part(path)['info'].get('part')
    if part != 'dev':
        raise CdmxError(f'{path} is the {part} part, not the dev part; choose the scale on dev '
                        'images, held out from the references the results are reported on.')


def run(command: List[str], what: str) -> None:
    """Run a tool; its failure ends the sweep with the tool's last line."""
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ['(no output)'])[-1]
        raise CdmxError(f'{what} failed (exit status {result.returncode}): {last}')


def sample_and_score(args: argparse.Namespace, scale: float, num_classes: int) -> dict:
    """Samples at ``scale`` in ``DIR/scale_<s>/`` and their metrics against the dev part."""
    folder = os.path.join(args.out_dir, f'scale_{scale:g}')
    steps = [] if args.steps is None else ['--steps', str(args.steps)]
    run([sys.executable, os.path.join(TOOLS, 'gdui', 'sample.py'), args.config,
         '--unet-checkpoint', args.unet_checkpoint, '--classifier-checkpoint',
         args.classifier_checkpoint, '--scale', str(scale), '--num-per-class',
         str(args.num_per_class), '--num-samples', str(args.num_per_class * num_classes),
         '--seed', str(args.seed), *steps, '--out-dir', folder], f'sampling at scale {scale:g}')
    inception = [] if args.inception is None else ['--inception', args.inception]
    if args.inception_sha256:
        inception += ['--inception-sha256', args.inception_sha256]
    out = os.path.join(folder, 'metrics.json')
    run([sys.executable, os.path.join(TOOLS, 'gdui', 'eval_generation.py'), folder,
         '--reference', args.dev_reference, '--judge', args.judge, '--metrics', 'FID', 'sFID',
         'IS', 'precision', 'recall', *inception, '--out', out], f'scoring at scale {scale:g}')
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def summarise(per_scale: Dict[float, dict]) -> dict:
    """``{scale: metrics.json}`` -> the sweep's JSON, with the chosen scale (:data:`RULE`)."""
    scales = sorted(per_scale)
    result = dict(scales=scales, **{key: [per_scale[s].get(key) for s in scales]
                                    for key in METRICS})
    result['chosen_scale'] = min((s for s in scales if s > 0),
                                 key=lambda s: (per_scale[s]['FID'], s))
    first = per_scale[scales[0]]
    result.update(rule=RULE, judge_dev_accuracy=first.get('judge_reference_accuracy'),
                  num_samples=first['num_samples'], num_reference=first['num_reference'],
                  reference=first['reference'])
    return result


def plot(result: dict, out_file: str) -> None:
    """FID, precision / recall and class accuracy against the scale, as a PNG."""
    figure = Figure(figsize=(11, 3.4), dpi=110)
    FigureCanvasAgg(figure)
    fid, pr, acc = figure.subplots(1, 3)
    scales = result['scales']
    fid.plot(scales, result['FID'], 'o-', label='FID')
    fid.axvline(result['chosen_scale'], color='grey', linestyle=':', label='chosen')
    fid.set_ylabel('dev FID (lower is better)')
    for key in ('precision', 'recall'):
        pr.plot(scales, result[key], 'o-', label=key)
    pr.set_ylim(0, 1.02)
    guided = [(s, a) for s, a in zip(scales, result['class_accuracy']) if a is not None]
    if guided:
        acc.plot(*zip(*guided), 'o-', label='guided samples')
    if result['judge_dev_accuracy'] is not None:
        acc.axhline(result['judge_dev_accuracy'], color='tab:green', linestyle='--',
                    label='judge on the dev images')
    acc.set_ylim(0, 1.02)
    acc.set_ylabel('class accuracy (judge)')
    for axes in (fid, pr, acc):
        axes.set_xlabel('guidance scale s')
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"Guidance-scale sweep on {result['num_reference']} dev references, "
                    f"{result['num_samples']} samples per scale; chosen s = "
                    f"{result['chosen_scale']:g} ({RULE})", fontsize=9)
    figure.tight_layout()
    figure.savefig(out_file)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    scales = check_scales(args.scales)
    check_dev(args.dev_reference)
    if not os.path.isfile(args.judge):
        raise CdmxError(f'judge checkpoint {args.judge} does not exist; train it with python '
                        'tools/gdui/train_judge.py configs/gdui/judge_fashion-mnist-external.py.')
    if args.num_per_class < 1:
        raise CdmxError(f'--num-per-class is {args.num_per_class}; pass a positive integer.')
    num_classes = len(load_config(args.config).get('class_names') or [])
    if num_classes == 0:
        raise CdmxError(f'{args.config} lists no class_names; pass a guided sampling config.')
    per_scale = {scale: sample_and_score(args, scale, num_classes) for scale in scales}
    result = summarise(per_scale)
    result.update(config=args.config, unet_checkpoint=args.unet_checkpoint,
                  classifier_checkpoint=args.classifier_checkpoint, seed=args.seed)
    with open(os.path.join(args.out_dir, 'guidance_sweep.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    plot(result, os.path.join(args.out_dir, 'guidance_sweep.png'))
    print('| s | FID | sFID | IS | precision | recall | class acc. |\n' + '|---' * 7 + '|')
    for i, scale in enumerate(scales):
        cells = ['-' if result[key][i] is None else f'{result[key][i]:.3f}' for key in METRICS]
        print(f'| {scale:g} | ' + ' | '.join(cells) + ' |')
    print(f"chosen guidance scale: {result['chosen_scale']:g} ({RULE}); wrote "
          f'{args.out_dir}/guidance_sweep.{{json,png}}')


if __name__ == '__main__':
    run_cli(main)
