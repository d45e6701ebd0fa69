"""KindBatchSampler: evaluation batches of one kind each (the official UCDM code's per-kind
test loaders), built the way mmengine builds a dataloader's batch sampler."""
import pytest
from mmengine.dataset import DefaultSampler

from cdmx.registry import DATA_SAMPLERS
from cdmx.utils.errors import CdmxError


class Kinds:
    """A dataset whose sample i has kind ``kinds[i]``."""

    def __init__(self, kinds):
        self.kinds = kinds

    def __len__(self):
        return len(self.kinds)

    def get_data_info(self, i):
        return dict(kind=self.kinds[i]) if self.kinds[i] else dict()


def build(kinds, batch_size):
    sampler = DefaultSampler(Kinds(kinds), shuffle=False)
    return DATA_SAMPLERS.build(dict(type='KindBatchSampler'),
                               default_args=dict(sampler=sampler, batch_size=batch_size))


def test_every_batch_holds_one_kind_in_the_samplers_order():
    kinds = ['known', 'new', 'unknown', 'known', 'known', 'new', 'unknown', 'known']
    batches = list(build(kinds, 2))
    assert batches == [[0, 3], [4, 7], [1, 5], [2, 6]]
    assert len(build(kinds, 3)) == 4  # known: 4 -> 2 batches; new, unknown: 1 each


@pytest.mark.parametrize('kinds, batch_size, match', [
    (['known', None], 2, "gives no 'kind'"),
    (['known'], 0, 'batch_size is 0'),
])
def test_bad_input_is_refused(kinds, batch_size, match):
    with pytest.raises(CdmxError, match=match):
        build(kinds, batch_size)
