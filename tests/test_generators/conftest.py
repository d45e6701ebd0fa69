"""A tiny random Stable Diffusion folder for the generator tests; tiny models on one thread."""
import os

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield


@pytest.fixture(scope='session')
def tiny_sd_path(tmp_path_factory) -> str:
    """A tiny random StableDiffusionPipeline folder written by ``save_pretrained``."""
    from tiny_sd import save_tiny_sd
    return save_tiny_sd(str(tmp_path_factory.mktemp('tiny_sd') / 'pipeline'))


@pytest.fixture(scope='session')
def tiny_backend(tiny_sd_path):
    from cdmx.registry import GENERATORS
    return GENERATORS.build(dict(type='StableDiffusionBackend', pretrained=tiny_sd_path))
