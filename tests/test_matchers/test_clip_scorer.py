"""CLIPZeroShotScorer with a tiny open_clip model the test builds and saves, and Eqs. 10-11 on
hand-made matrices."""
import os

import numpy as np
import open_clip
import pytest
import torch
from fixture_files import TINY_CLIP, write_tiny_clip
from PIL import Image

from cdmx.matchers import class_proportion_priority, top_confident
from cdmx.registry import MATCHERS
from cdmx.utils.errors import CdmxError


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('tiny_clip'))
    return write_tiny_clip(folder, 'cdmx-test-tiny-clip'), folder


def _scorer(checkpoint, folder, name='cdmx-test-tiny-clip', **kwargs):
    return MATCHERS.build(dict(type='CLIPZeroShotScorer', model_name=name,
                               checkpoint=checkpoint,
                               config_dir=os.path.join(folder, 'model_configs'), **kwargs))


def test_zero_shot_equals_open_clips_own_forward(tiny_clip, single_thread):
    checkpoint, folder = tiny_clip
    names = ['cat', 'dog', 'ship']
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28, 3), dtype=np.uint8)
    probs = _scorer(checkpoint, folder, canvas_size=32, batch_size=2).zero_shot(images, names)
    assert probs.shape == (5, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    # Independently: open_clip's loader, transform and forward on the padded images.
    model, _, preprocess = open_clip.create_model_and_transforms('cdmx-test-tiny-clip',
                                                                 pretrained=checkpoint)
    model.eval()
    canvas = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    canvas[:, 2:30, 2:30] = images
    pixels = torch.stack([preprocess(Image.fromarray(c)) for c in canvas])
    text = open_clip.get_tokenizer('cdmx-test-tiny-clip')([f'A photo of a {n}.' for n in names])
    with torch.no_grad():
        image_features, text_features, scale = model(pixels, text)
    expected = (scale * image_features @ text_features.T).softmax(dim=1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_building_the_scorer_reads_no_file_and_a_missing_file_is_reported(tmp_path):
    scorer = _scorer(str(tmp_path / 'absent.pt'), str(tmp_path))
    with pytest.raises(CdmxError, match='does not exist'):
        scorer.zero_shot(np.zeros((1, 32, 32, 3), dtype=np.uint8), ['a', 'b'])


def test_a_checkpoint_of_another_architecture_is_refused(tiny_clip, tmp_path):
    checkpoint, folder = tiny_clip
    wider = dict(TINY_CLIP, vision_cfg=dict(TINY_CLIP['vision_cfg'], width=48))
    other_folder = str(tmp_path)
    write_tiny_clip(other_folder, 'cdmx-test-wider-clip', wider)
    scorer = _scorer(checkpoint, other_folder, name='cdmx-test-wider-clip')
    with pytest.raises(CdmxError, match='does not match the open_clip architecture'):
        scorer.zero_shot(np.zeros((1, 32, 32, 3), dtype=np.uint8), ['a', 'b'])


def test_grey_images_are_refused(tiny_clip):
    checkpoint, folder = tiny_clip
    with pytest.raises(CdmxError, match='uint8 \\(H, W, 3\\)'):
        _scorer(checkpoint, folder).zero_shot(np.zeros((2, 32, 32), dtype=np.uint8), ['a', 'b'])


def test_top_confident_and_class_proportions_by_hand():
    # Six samples, K = 2 clusters: cluster 0 = {0, 1, 2}, cluster 1 = {3, 4, 5}.
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9],
                      [0.45, 0.55]])
    tops = top_confident(probs, 2)
    assert [t.tolist() for t in tops] == [[0, 2], [4, 3]]
    # CLIP votes over C = 2 names: samples 0 -> 1, 2 -> 1, 4 -> 0, 3 -> 1.
    clip = np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5]])
    priority = class_proportion_priority(probs, clip, 2)
    np.testing.assert_allclose(priority, [[0.0, 1.0], [0.5, 0.5]])
    # the top three of each column (sample 5 ties: the first name)
    np.testing.assert_allclose(class_proportion_priority(probs, clip, 3),
                               [[1 / 3, 2 / 3], [2 / 3, 1 / 3]])
    # a cluster that is no sample's argmax is still ranked by its column of P
    lonely = np.array([[0.6, 0.4], [0.7, 0.3], [0.9, 0.1]])
    assert [t.tolist() for t in top_confident(lonely, 2)] == [[2, 1], [0, 1]]


def test_empty_cluster_and_wrong_number_of_names_are_refused(tiny_clip):
    probs = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0]])
    with pytest.raises(CdmxError, match='cluster 2 of 3 is empty'):
        top_confident(probs, 5)
    checkpoint, folder = tiny_clip
    scorer = _scorer(checkpoint, folder, n_top=5)
    with pytest.raises(CdmxError, match='4 class names were given for K = 3 clusters'):
        scorer.priority(probs, np.full((3, 4), 0.25))
    with pytest.raises(CdmxError, match='n_top'):
        _scorer(checkpoint, folder, n_top=0)
