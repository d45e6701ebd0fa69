"""GDUI's mini chain as declared in tools/gdui/mini_stages.py: its stages, lanes, settings and
what a changed setting re-runs, checked without running any stage (the chain at toy size runs in
tests/test_tools/test_gdui_pipeline.py)."""
import json
import os
import subprocess
import sys

import pytest
from tool_runner import REPO_ROOT, load_module, tool_env

from cdmx.utils.errors import CdmxError

mini = load_module('gdui_mini_stages', os.path.join(REPO_ROOT, 'tools', 'gdui', 'mini_stages.py'))
SEEDS = (0, 1, 2)


def per_seed(*rows: str) -> list:
    """The sample and score stages of ``rows``, each row's seeds in turn."""
    return [f'{stage}_{row}-seed{seed}' for row in rows for seed in SEEDS
            for stage in ('sample', 'score')]


LANE_A = ['unet', 'classifier_gt-labels', 'references', 'score_floor',
          *per_seed('unconditional'), 'classifier_plg', *per_seed('gt-labels', 'plg'), 'table']
LANE_B = ['judge', 'moco', 'spice_self', 'export_self', 'reliable', 'spice_joint',
          'export_joint', 'mini_clip', 'match_stable-marriage', 'match_hungarian',
          'classifier_lmr', 'dev_references', 'guidance_sweep', 'classifier_plm',
          *per_seed('lmr', 'plm')]
JUDGE = 'work_dirs/judge_fashion-mnist-external/judge.pth'
REFS = 'work_dirs/gdui_mini/references'


def stages(**env) -> dict:
    return {stage.name: stage for stage in mini.gdui_stages(env)}


def test_lanes_and_orders():
    chain = mini.runner({})
    assert chain.lanes(chain.stages) == dict(A=LANE_A, B=LANE_B)
    # The old script's waits across lanes are now inputs.
    assert 'match_stable-marriage' in chain.upstream['classifier_plg']
    assert set(chain.upstream['score_lmr-seed1']) == {'sample_lmr-seed1', 'references', 'judge'}
    assert set(chain.upstream['score_floor']) == {'references', 'judge'}
    assert set(chain.upstream['guidance_sweep']) == {'unet', 'classifier_lmr', 'dev_references',
                                                     'judge'}
    assert set(chain.upstream['sample_plm-seed2']) == {'unet', 'classifier_plm',
                                                       'guidance_sweep'}
    assert chain.upstream['sample_unconditional-seed0'] == ['unet']
    assert set(chain.upstream['table']) == {
        f'score_{row}-seed{seed}' for _, row in mini.ROWS for seed in SEEDS} | {
        'score_floor', 'match_stable-marriage', 'match_hungarian'}


def test_commands_and_settings():
    default = stages()
    assert default['unet'].command == ('python', f'{REPO_ROOT}/tools/train.py',
                                      f'{REPO_ROOT}/configs/gdui/unet_fashion-mnist-mini.py')
    score = default['score_plg-seed0'].command
    assert score[2] == 'work_dirs/gdui_mini/plg/seed_0'
    assert score[score.index('--reference') + 1] == f'{REFS}/reference'
    for seed in SEEDS:  # every seed its own noise and folder; a row's seeds pair across rows
        sample = default[f'sample_lmr-seed{seed}'].command
        assert sample[sample.index('--seed') + 1:sample.index('--seed') + 4] == (
            str(seed), '--out-dir', f'work_dirs/gdui_mini/lmr/seed_{seed}')
    assert score[score.index('--judge') + 1] == JUDGE
    assert '--classifier' not in score and '--inception' not in score
    assert default['score_floor'].command[2] == f'{REFS}/floor'
    split = default['references'].command
    assert split[split.index('--parts') + 1:split.index('--parts') + 3] == ('floor', 'reference')
    assert split[split.index('--num-floor') + 1] == '500' and '--num-reference' not in split
    dev = default['dev_references'].command
    assert dev[dev.index('--num-dev') + 1] == '2000' and 'reference' not in dev
    sweep = default['guidance_sweep'].command
    assert sweep[sweep.index('--scales') + 1:sweep.index('--num-per-class')] == (
        '0', '1', '2', '4', '7', '10')
    assert sweep[sweep.index('--dev-reference') + 1] == f'{REFS}/dev'
    table = default['table'].command
    assert table[table.index('--floor') + 1] == f'{REFS}/floor'
    assert ('--diff', '+PLM', '+LMR (GDUI)') in {table[i:i + 3] for i in range(len(table))}
    assert f'+LMR (GDUI)=work_dirs/gdui_mini/lmr' in table  # the folder of the seed folders
    assert stages(GDUI_SEEDS='3,5')['score_gt-labels-seed5'].command[2] == \
        'work_dirs/gdui_mini/gt-labels/seed_5'
    assert default['table'].stdout == 'work_dirs/gdui_mini/results.md'
    clip = 'work_dirs/foundation/mini_clip/MiniCLIP-ViT-4.pt'
    assert clip in default['match_hungarian'].inputs
    custom = stages(PYTHON='py3', GDUI_CONFIGS='toy', GDUI_OUT='out', GDUI_NUM_REFERENCE='40',
                    GDUI_INCEPTION='inc.pt', GDUI_INCEPTION_SHA256='abc', CDMX_MINI_CLIP='clip')
    score = custom['score_plg-seed0'].command
    assert score[:3] == ('py3', f'{REPO_ROOT}/tools/gdui/eval_generation.py', 'out/plg/seed_0')
    assert score[score.index('--inception') + 1:score.index('--inception') + 4] == (
        'inc.pt', '--inception-sha256', 'abc')
    split = custom['references'].command
    assert split[split.index('--num-reference') + 1] == '40' and '--inception' in split
    assert custom['unet'].inputs == ('toy/unet_fashion-mnist-mini.py', )
    assert 'mini_clip' not in custom and clip not in custom['match_hungarian'].inputs
    assert any(item.startswith('40 Fashion-MNIST test images outside the floor and dev parts')
               for item in custom['table'].command)
    with pytest.raises(CdmxError, match='without GDUI_INCEPTION_SHA256'):
        stages(GDUI_INCEPTION='inc.pt')


@pytest.mark.parametrize('setting,message', [
    (dict(GDUI_SWEEP_SCALES='1 -2'), 'is not finite numbers >= 0'),
    (dict(GDUI_SWEEP_SCALES='nan'), 'is not finite numbers >= 0'),
    (dict(GDUI_NUM_FLOOR='0'), 'is not one positive integer'),
    (dict(GDUI_NUM_DEV='10 20'), 'is not one positive integer'),
    (dict(GDUI_NUM_REFERENCE='many'), 'is not one positive integer'),
    (dict(GDUI_FIG2_ITERS='0 500'), 'names iteration 0'),
    (dict(GDUI_SWEEP_SCALES='0'), 'names no scale > 0 for the sweep to choose'),
    (dict(GDUI_SCALE='-1'), 'is not finite numbers >= 0'),
    (dict(GDUI_SCALE='inf'), 'is not finite numbers >= 0'),
    (dict(GDUI_SCALE='2 4'), 'is not one scale > 0'),
    (dict(GDUI_SCALE='0'), 'is not one scale > 0'),
    (dict(GDUI_SEEDS='0 -1'), 'is not finite integers >= 0'),
    (dict(GDUI_SEEDS='1 1'), 'does not name distinct sampling seeds'),
])
def test_bad_settings_are_one_sentence(setting, message):
    with pytest.raises(CdmxError, match=message):
        stages(**setting)


def test_fig2_stages_only_when_asked():
    assert not any('fig2' in name for name in stages())
    chain = mini.runner(dict(GDUI_FIG2_ITERS='500,2000'))
    fig2 = [name for name in chain.stages if 'fig2' in name]
    assert len(fig2) == 3 * 2 * 2 + 1
    sample = chain.stages['sample_fig2-lmr-500'].command
    assert sample[sample.index('--unet-checkpoint') + 1] == \
        'work_dirs/unet_fashion-mnist-mini/iter_500.pth'
    assert set(chain.upstream['sample_fig2-lmr-500']) == {'unet', 'classifier_lmr',
                                                          'guidance_sweep'}  # its scale
    assert chain.upstream['sample_fig2-unconditional-500'] == ['unet']
    assert set(chain.upstream['fig2']) == {
        f'score_fig2-{row}-{it}' for row in ('unconditional', 'lmr', 'gt-labels')
        for it in (500, 2000)} | {'score_floor'}


def test_commands_run_on_one_thread_unless_set():
    assert mini.runner(dict(PATH='/bin')).env == dict(PATH='/bin', OMP_NUM_THREADS='1',
                                                      OMP_WAIT_POLICY='PASSIVE')
    assert mini.runner(dict(OMP_NUM_THREADS='2')).env['OMP_NUM_THREADS'] == '2'


def complete(chain) -> None:
    """Write every output and record of ``chain`` as if it had run (upstream first)."""
    os.makedirs(chain.record_dir, exist_ok=True)
    for name in chain.order:
        for path in chain.stages[name].products:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, 'w').close()
        with open(chain.record_path(name), 'w') as f:
            json.dump(dict(definition=chain.stages[name].definition()), f)


def test_a_changed_setting_reruns_only_the_stages_it_enters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    complete(mini.runner({}))
    assert not any(mini.runner({}).plan().values())
    plan = mini.runner(dict(GDUI_NUM_REFERENCE='40')).plan()
    assert sorted(name for name, why in plan.items() if why) == sorted(
        [f'score_{row}-seed{seed}' for _, row in mini.ROWS for seed in SEEDS]
        + ['references', 'score_floor', 'table'])
    assert plan['references'] == 'its command changed'
    assert plan['score_lmr-seed0'] == 'upstream references runs'
    os.remove(f'work_dirs/{mini.JOINT}/pseudo_labels/clusters.json')
    plan = mini.runner({}).plan()
    assert sorted(name for name, why in plan.items() if why) == sorted(
        ['export_joint', 'match_stable-marriage', 'match_hungarian', 'classifier_plg',
         'classifier_plm', 'classifier_lmr', 'guidance_sweep', 'table',
         # the sweep of the new +LMR classifier may choose another scale for every guided row
         *per_seed('plg', 'plm', 'lmr', 'gt-labels')])


GUIDED = ('gt-labels', 'plg', 'plm', 'lmr')
SWEEP = 'work_dirs/gdui_mini/guidance_sweep/guidance_sweep.json'


def test_guided_rows_sample_at_the_sweeps_scale(tmp_path, monkeypatch):
    """The guided sample stages read the sweep's JSON (--scale-from, an input): a newer sweep
    makes them, their scores and the table stale, never the unconditional row."""
    monkeypatch.chdir(tmp_path)
    chain = mini.runner({})
    for row in GUIDED:
        command = chain.stages[f'sample_{row}-seed0'].command
        assert command[command.index('--scale-from') + 1] == SWEEP and '--scale' not in command
        assert SWEEP in chain.stages[f'sample_{row}-seed0'].inputs
    assert '--scale-from' not in chain.stages['sample_unconditional-seed0'].command
    complete(chain)
    assert not any(mini.runner({}).plan().values())
    later = os.path.getmtime(SWEEP) + 10
    os.utime(SWEEP, (later, later))  # the sweep ran again
    plan = mini.runner({}).plan()
    assert sorted(name for name, why in plan.items() if why) == sorted(
        per_seed(*GUIDED) + ['table'])
    assert plan['sample_plm-seed1'] == (f'input {SWEEP} is newer than output '
                                        'work_dirs/gdui_mini/plm/seed_1/manifest.json')


def test_gdui_scale_bypasses_the_sweep(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    complete(mini.runner({}))
    chain = mini.runner(dict(GDUI_SCALE='7.5'))
    for row in GUIDED:
        stage = chain.stages[f'sample_{row}-seed0']
        command = stage.command
        assert command[command.index('--scale') + 1:command.index('--scale') + 4] == (
            '7.5', '--scale-source', 'set by GDUI_SCALE')
        assert '--scale-from' not in command and SWEEP not in stage.inputs
        assert 'guidance_sweep' not in chain.upstream[stage.name]
    assert chain.plan()['sample_lmr-seed2'] == 'its command and inputs changed'
    complete(chain)
    later = os.path.getmtime(SWEEP) + 10
    os.utime(SWEEP, (later, later))
    assert not any(mini.runner(dict(GDUI_SCALE='7.5')).plan().values())
    assert 'guidance_sweep' not in chain.select(['table'])


def test_entry_script_dry_run(tmp_path):
    """bash tools/gdui_mini.sh --dry-run in an empty folder: every stage would run, nothing is
    written."""
    result = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'gdui_mini.sh'),
                             '--dry-run', 'score_plg-seed0'], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=120, env=tool_env(PYTHON=sys.executable))
    assert result.returncode == 0, result.stderr
    # score_plg's upstream: its classifier, the clustering and matching, the sweep (its scale)
    assert 'dry run: 17 of 17 stages would run' in result.stdout
    assert '  unet [A]: would run: output work_dirs/unet_fashion-mnist-mini/last_checkpoint ' \
           'is missing' in result.stdout
    assert os.listdir(tmp_path) == []
