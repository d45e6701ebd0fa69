"""Shared fixtures: small files in the real formats, written by the tests themselves."""
import pytest
import torch
from fixture_files import make_fashion_mnist


@pytest.fixture(scope='session')
def fashion_mnist_root(tmp_path_factory) -> str:
    """A tiny Fashion-MNIST folder in the real idx.gz format (600 train, 200 test images)."""
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fashion-mnist')))


@pytest.fixture
def single_thread():
    """Tiny models run fastest on one thread (two threads fight over a shared CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
