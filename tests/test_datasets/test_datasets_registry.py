"""Every dataset of cdmx.datasets is registered in scope cdmx and exported by the package."""
import cdmx.datasets
from cdmx.registry import DATASETS


def test_registered_datasets_are_exported():
    registered = {name for name, cls in DATASETS.module_dict.items()
                  if cls.__module__.startswith('cdmx.datasets')}
    assert {'FashionMNIST', 'MismatchDataset', 'CIFAR10', 'CIFAR100', 'TinyImageNet',
            'STL10'} <= registered
    for name in registered:
        assert getattr(cdmx.datasets, name) is DATASETS.get(name)
        assert name in cdmx.datasets.__all__
