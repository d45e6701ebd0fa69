"""The pseudo-label folder: written and read without pickle, bad folders refused."""
import json

import numpy as np
import pytest

from cdmx.pseudo_labelers import load_clusters, save_clusters
from cdmx.utils.errors import CdmxError


def test_round_trip(tmp_path):
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    feats = np.arange(9.0).reshape(3, 3)
    save_clusters(str(tmp_path), probs, feats, dict(head=2))
    loaded = load_clusters(str(tmp_path))
    np.testing.assert_allclose(loaded['probs'], probs, rtol=1e-6)
    np.testing.assert_array_equal(loaded['features'], feats)
    assert loaded['meta']['labels'] == [0, 1, 0] and loaded['meta']['head'] == 2
    assert loaded['probs'].dtype == np.float32


def test_missing_or_inconsistent_folders_are_refused(tmp_path):
    with pytest.raises(CdmxError, match='export_clusters'):
        load_clusters(str(tmp_path))
    save_clusters(str(tmp_path), np.full((2, 2), 0.5), np.zeros((2, 3)))
    meta = tmp_path / 'clusters.json'
    meta.write_text(json.dumps(dict(num_samples=5)))
    with pytest.raises(CdmxError, match='export the clusters again'):
        load_clusters(str(tmp_path))
    with pytest.raises(CdmxError, match='same N'):
        save_clusters(str(tmp_path), np.zeros((2, 2)), np.zeros((3, 2)))
