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
LANE_A = ['unet', 'classifier_gt-labels', 'sample_unconditional', 'score_unconditional',
          'sample_gt-labels', 'score_gt-labels', 'classifier_plg', 'classifier_plm',
          'sample_plg', 'score_plg', 'table']
LANE_B = ['moco', 'spice_self', 'export_self', 'reliable', 'spice_joint', 'export_joint',
          'mini_clip', 'match_stable-marriage', 'match_hungarian', 'classifier_lmr',
          'sample_lmr', 'score_lmr', 'sample_plm', 'score_plm']


def stages(**env) -> dict:
    return {stage.name: stage for stage in mini.gdui_stages(env)}


def test_lanes_and_orders():
    chain = mini.runner({})
    assert chain.lanes(chain.stages) == dict(A=LANE_A, B=LANE_B)
    # The old script's waits across lanes are now inputs.
    assert 'match_stable-marriage' in chain.upstream['classifier_plg']
    assert 'classifier_gt-labels' in chain.upstream['score_lmr']
    assert 'classifier_plm' in chain.upstream['sample_plm']
    assert set(chain.upstream['table']) == {f'score_{row}' for _, row in mini.ROWS} | {
        'match_stable-marriage', 'match_hungarian'}


def test_commands_and_settings():
    default = stages()
    assert default['unet'].command == ('python', f'{REPO_ROOT}/tools/train.py',
                                      f'{REPO_ROOT}/configs/gdui/unet_fashion-mnist-mini.py')
    score = default['score_plg'].command
    assert score[score.index('--num-reference') + 1] == '1000' and '--inception' not in score
    assert default['table'].stdout == 'work_dirs/gdui_mini/results.md'
    clip = 'work_dirs/foundation/mini_clip/MiniCLIP-ViT-4.pt'
    assert clip in default['match_hungarian'].inputs
    custom = stages(PYTHON='py3', GDUI_CONFIGS='toy', GDUI_OUT='out', GDUI_NUM_REFERENCE='40',
                    GDUI_INCEPTION='inc.pt', GDUI_INCEPTION_SHA256='abc', CDMX_MINI_CLIP='clip')
    score = custom['score_plg'].command
    assert score[:3] == ('py3', f'{REPO_ROOT}/tools/gdui/eval_generation.py', 'out/plg')
    assert score[score.index('--num-reference') + 1] == '40'
    assert score[score.index('--inception') + 1:score.index('--inception') + 4] == (
        'inc.pt', '--inception-sha256', 'abc')
    assert custom['unet'].inputs == ('toy/unet_fashion-mnist-mini.py', )
    assert 'mini_clip' not in custom and clip not in custom['match_hungarian'].inputs
    assert 'the first 40 Fashion-MNIST test images, file order' in custom['table'].command
    with pytest.raises(CdmxError, match='without GDUI_INCEPTION_SHA256'):
        stages(GDUI_INCEPTION='inc.pt')


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
        [f'score_{row}' for _, row in mini.ROWS] + ['table'])
    assert plan['score_lmr'] == 'its command changed'
    os.remove(f'work_dirs/{mini.JOINT}/pseudo_labels/clusters.json')
    plan = mini.runner({}).plan()
    assert sorted(name for name, why in plan.items() if why) == sorted(
        ['export_joint', 'match_stable-marriage', 'match_hungarian', 'classifier_plg',
         'classifier_plm', 'classifier_lmr', 'sample_plg', 'sample_plm', 'sample_lmr',
         'score_plg', 'score_plm', 'score_lmr', 'table'])


def test_entry_script_dry_run(tmp_path):
    """bash tools/gdui_mini.sh --dry-run in an empty folder: every stage would run, nothing is
    written."""
    result = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'gdui_mini.sh'),
                             '--dry-run', 'score_plg'], cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=120, env=tool_env(PYTHON=sys.executable))
    assert result.returncode == 0, result.stderr
    assert 'dry run: 13 of 13 stages would run' in result.stdout
    assert '  unet [A]: would run: output work_dirs/unet_fashion-mnist-mini/last_checkpoint ' \
           'is missing' in result.stdout
    assert os.listdir(tmp_path) == []
