"""tools/gdui/match_labels.py on a tiny pool, a tiny CLIP the test saves and known clusters;
the matcher swapped by a config. The tool runs in this interpreter (``runpy``)."""
import json
import os
import runpy
import sys

import numpy as np
import pytest
from fixture_files import make_fashion_mnist, write_tiny_clip
from tool_runner import REPO_ROOT

from cdmx.datasets import FashionMNIST
from cdmx.pseudo_labelers import save_clusters

MATCH = """_base_ = ['{repo}/configs/gdui/{base}']
scorer = dict(model_name='cdmx-test-tiny-clip', checkpoint='{clip}',
              config_dir='{clip_dir}', n_top=5)
refinement = dict(n_top=5, n_btm=3, sigma_btm=0.9)
"""
STABLE = 'match_mini-clip-stable-marriage_fashion-mnist-pool.py'
HUNGARIAN = 'match_mini-clip-hungarian_fashion-mnist-pool.py'


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp('gdui_match')
    root = make_fashion_mnist(str(folder / 'fm'), num_train=10100, num_test=10)
    clip = write_tiny_clip(str(folder), 'cdmx-test-tiny-clip')
    configs = {}
    for base in (STABLE, HUNGARIAN):
        configs[base] = str(folder / base)
        with open(configs[base], 'w', encoding='utf-8') as f:
            f.write(MATCH.format(repo=REPO_ROOT, base=base, clip=clip,
                                 clip_dir=str(folder / 'model_configs')))
    # Clusters = the true classes renamed by a permutation, with 20% of them scrambled.
    truth = FashionMNIST(data_root=root, subset='train_pool').get_gt_labels()
    rng = np.random.default_rng(0)
    perm = rng.permutation(10)
    clusters = perm[np.where(rng.random(100) < 0.2, rng.integers(0, 10, 100), truth)]
    probs = np.full((100, 10), 0.02) + rng.random((100, 10)) * 0.01
    probs[np.arange(100), clusters] = 0.8
    save_clusters(str(folder / 'pseudo_labels'), probs / probs.sum(1, keepdims=True),
                  rng.normal(size=(100, 8)))
    return folder, root, configs, clusters


def run_main(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, 'argv', ['match_labels.py', *args])
    runpy.run_path(os.path.join(REPO_ROOT, 'tools', 'gdui', 'match_labels.py'),
                   run_name='__main__')


@pytest.mark.parametrize('base,matcher', [(STABLE, 'StableMarriageMatcher'),
                                          (HUNGARIAN, 'HungarianMatcher')])
def test_labels_files_for_every_stage(setup, monkeypatch, single_thread, base, matcher):
    folder, root, configs, clusters = setup
    monkeypatch.setenv('CDMX_FASHION_MNIST', root)
    out = folder / matcher
    run_main(monkeypatch, configs[base], '--pseudo-labels', str(folder / 'pseudo_labels'),
             '--out-dir', str(out))
    names = list(FashionMNIST.METAINFO['classes'])
    files = {stage: json.loads((out / f'labels_{stage}.json').read_text())
             for stage in ('plg', 'plm', 'lmr')}
    clip_probs = np.load(out / 'clip_probs.npy', allow_pickle=False)
    scored = np.flatnonzero(np.isfinite(clip_probs).all(axis=1))
    assert clip_probs.shape == (100, 10) and np.isnan(np.delete(clip_probs, scored, 0)).all()
    for stage, content in files.items():
        assert content['class_names'] == names and content['stage'] == stage
        assert len(content['labels']) == 100
        assert all(isinstance(v, int) and 0 <= v < 10 for v in content['labels'])
        assert sorted(content['cluster_to_class']) == list(range(10))
        assert content['clusters'] == clusters.tolist()
        assert set(content['evaluation']) == {'label_accuracy', 'accuracy', 'nmi', 'ari',
                                              'matched_clusters'}
    assert files['plg']['matcher'] == 'identity' and files['plg']['labels'] == clusters.tolist()
    assert files['plm']['matcher'] == files['lmr']['matcher'] == matcher
    mapping = np.array(files['plm']['cluster_to_class'])
    assert files['plm']['labels'] == mapping[clusters].tolist()
    # Refinement (Eqs. 13-18): a refined cluster's members with P < sigma_btm = 0.9 (all of
    # them: P = 0.8 / 1.025 or so) take CLIP's vote; every other label is the +PLM one. CLIP
    # scored each cluster's top 5 and bottom 3 and those members, nothing else.
    report, probs = files['lmr']['refinement'], np.load(folder / 'pseudo_labels' / 'probs.npy')
    assert files['lmr']['refinement_cfg']['sigma_btm'] == 0.9
    refined = np.array([c['refined'] for c in report['clusters']])
    assert refined.any() and not refined.all()  # the tiny CLIP doubts some clusters, not all
    adjust = np.flatnonzero(refined[clusters])
    assert (probs[adjust, clusters[adjust]] < 0.9).all()
    expected = np.array(files['plm']['labels'])
    expected[adjust] = clip_probs[adjust].argmax(axis=1)
    assert files['lmr']['labels'] == expected.tolist()
    assert report['adjusted'] == adjust.size
    assert report['changed'] == int(np.sum(expected != np.array(files['plm']['labels'])))
    ranked = [np.argsort(-probs[:, k], kind='stable')[:5] for k in range(10)]
    ranked += [np.flatnonzero(clusters == k)[np.argsort(probs[clusters == k, k],
                                                        kind='stable')[:3]] for k in range(10)]
    assert scored.tolist() == np.union1d(np.concatenate(ranked), adjust).tolist()
    truth = np.load(out / 'truth.npy', allow_pickle=False)
    assert truth.tolist() == FashionMNIST(data_root=root, subset='train_pool').get_gt_labels(
    ).tolist()  # the fixture's class names are the dataset's, in its order


def test_wrong_number_of_class_names_is_one_error_line(setup, monkeypatch, capsys):
    folder, root, configs, _ = setup
    monkeypatch.setenv('CDMX_FASHION_MNIST', root)
    with pytest.raises(SystemExit) as exit_info:
        run_main(monkeypatch, configs[STABLE], '--pseudo-labels', str(folder / 'pseudo_labels'),
                 '--out-dir', str(folder / 'bad'), '--cfg-options',
                 'class_names=[a,b,c,d,e,f,g,h,i]')
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        'error: 9 class names were given for K = 10 clusters; list exactly one class name per '
        'cluster (or cluster into as many groups as there are names).')
