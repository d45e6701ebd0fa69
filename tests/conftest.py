"""Shared fixtures: small files in the real formats, written by the tests themselves."""
import pytest
from fixture_files import make_fashion_mnist


@pytest.fixture(scope='session')
def fashion_mnist_root(tmp_path_factory) -> str:
    """A tiny Fashion-MNIST folder in the real idx.gz format (600 train, 200 test images)."""
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fashion-mnist')))
