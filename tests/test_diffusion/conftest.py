"""The diffusion tests run tiny models, on one thread."""
import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    yield
