"""RandomNoiseGenerator (UCDM Table 5, variant IV): Gaussian latents, nothing of seed or class."""
import pytest
import torch

from cdmx.registry import GENERATORS
from cdmx.utils.errors import CdmxError


@pytest.fixture(scope='module')
def noise(tiny_backend):
    return GENERATORS.build(dict(type='RandomNoiseGenerator', backend=tiny_backend))


def test_latents_are_standard_gaussian_per_pair_generator(noise):
    latents = torch.zeros(3, 4, 8, 8)
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 1)]
    out = noise.generate_latents(latents, ['a', 'b', 'c'], gens)
    assert out.shape == latents.shape
    torch.testing.assert_close(out[0], out[2])  # same generator seed, same noise
    assert not torch.equal(out[0], out[1])
    big = noise.generate_latents(torch.zeros(64, 4, 8, 8), ['a'] * 64,
                                 torch.Generator().manual_seed(0))
    assert abs(big.mean().item()) < 0.05 and abs(big.std().item() - 1) < 0.05


def test_result_ignores_seed_and_class(noise):
    seeds = torch.rand(2, 3, 16, 16)
    a = noise(seeds, ['T-shirt/top', 'Sandal'], [torch.Generator().manual_seed(s) for s in (0, 1)])
    b = noise(torch.rand(2, 3, 16, 16), ['Bag', 'Coat'],
              [torch.Generator().manual_seed(s) for s in (0, 1)])
    assert a.shape == seeds.shape and 0 <= a.min() and a.max() <= 1
    torch.testing.assert_close(a, b)


def test_bad_class_names_are_refused(noise):
    with pytest.raises(CdmxError, match='class names'):
        noise.generate_latents(torch.zeros(2, 4, 8, 8), ['a'])
