"""The registry of data sets by name: :func:`get_dataset` and :func:`available_datasets`.

Apart from :mod:`tinyquant.data.datasets` (the :class:`~tinyquant.data.datasets.Dataset`
record and the shared helpers) so that the loader modules import the record and this module
imports the loaders, one way.
"""

from __future__ import annotations

import functools

from .cifar import load_cifar10
from .datasets import DEFAULT_DATASET, Dataset
from .digits import load_digits
from .idx import load_mnist
from .mnist1d import load_mnist1d

#: the data sets read from files the user names (``directory=``); the others need none
NEEDS_DIRECTORY = ("mnist", "fashion-mnist", "cifar10")


def _needs_directory(loader, name):
    """Wrap a file-based loader so that forgetting ``directory=`` gets a clear error."""
    @functools.wraps(loader)
    def load(directory=None, **kwargs):
        if directory is None:
            raise TypeError(f"get_dataset({name!r}) reads local files and never downloads: "
                            f"pass directory=<folder holding the {name} files>")
        return loader(directory, **kwargs)
    return load


def _registry() -> dict:
    """Name -> loader (the loaders import scikit-learn and mnist1d only when called)."""
    return {
        "digits": load_digits,
        "mnist1d": load_mnist1d,
        "mnist": _needs_directory(functools.partial(load_mnist, kind="mnist"), "mnist"),
        "fashion-mnist": _needs_directory(functools.partial(load_mnist, kind="fashion"),
                                          "fashion-mnist"),
        "cifar10": _needs_directory(load_cifar10, "cifar10"),
    }


def available_datasets() -> list:
    """The names :func:`get_dataset` accepts, in a stable order."""
    return ["digits", "mnist1d", "mnist", "fashion-mnist", "cifar10"]


def get_dataset(name: str = DEFAULT_DATASET, **kwargs) -> Dataset:
    """Load the data set called ``name``, passing ``kwargs`` to its loader.

    ``"digits"`` (the default) and ``"mnist1d"`` need nothing; ``"mnist"``,
    ``"fashion-mnist"`` and ``"cifar10"`` need ``directory=`` (a folder of files the
    user has already obtained).
    """
    if not isinstance(name, str) or name not in available_datasets():
        raise ValueError(f"get_dataset: unknown data set {name!r}; available: "
                         f"{', '.join(available_datasets())}")
    return _registry()[name](**kwargs)
