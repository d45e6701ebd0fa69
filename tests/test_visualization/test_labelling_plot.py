"""plot_labelling: a PNG of the labelling log, and refusals of logs it cannot draw."""
import pytest

from cdmx.utils.errors import CdmxError
from cdmx.visualization import plot_labelling

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('correct', [[4, 1, 6], None])
def test_writes_a_png_with_or_without_ground_truth(tmp_path, correct):
    rounds = [dict(round=1, selected=[5, 2, 7], correct=correct),
              dict(round=2, selected=[1, 0, 3], correct=None if correct is None else [1, 0, 2])]
    out = plot_labelling(rounds, ['tee', 'boot', 'other'], str(tmp_path / 'sub' / 'l.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == PNG


def test_empty_log_is_refused(tmp_path):
    with pytest.raises(CdmxError, match='no round'):
        plot_labelling([], ['a', 'other'], str(tmp_path / 'l.png'))


def test_counts_for_other_classes_are_refused(tmp_path):
    with pytest.raises(CdmxError, match='3 classes'):
        plot_labelling([dict(round=1, selected=[1, 2], correct=None)], ['a', 'b', 'other'],
                       str(tmp_path / 'l.png'))
