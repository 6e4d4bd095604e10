"""Data for tinyquant: data sets that need no network, a reproducible DataLoader, and
vectorized augmentation.

* :func:`get_dataset` by name -- ``"digits"`` (the default, :data:`DEFAULT_DATASET`),
  ``"mnist1d"``, ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"`` -- returns a
  :class:`Dataset` record (float32 NCHW/NCL inputs, int64 labels). The last three read
  files from a directory the user names; nothing is ever downloaded, nothing is pickled.
* :class:`DataLoader` takes a data set (``(x, y)`` arrays, a :class:`TensorDataset` or
  any object with ``__len__``/``__getitem__``), batches it and shuffles with ``np.random.default_rng([seed, epoch])``
  so any epoch can be replayed from (seed, epoch) alone.
* :mod:`tinyquant.data.augment` -- random crop with padding, horizontal flip, compose.
"""

from .augment import (RandomCrop, RandomHorizontalFlip, compose, random_crop,
                      random_horizontal_flip, standard_augmentation)
from .cifar import load_cifar10, read_cifar_batch
from .datasets import DEFAULT_DATASET, Dataset, stratified_split
from .digits import load_digits
from .idx import load_mnist, read_idx
from .loader import DataLoader, TensorDataset
from .mnist1d import load_mnist1d
from .registry import available_datasets, get_dataset

__all__ = [
    "DEFAULT_DATASET", "Dataset", "DataLoader", "TensorDataset", "available_datasets", "get_dataset",
    "stratified_split", "load_digits", "load_mnist1d", "load_mnist", "read_idx",
    "load_cifar10", "read_cifar_batch", "random_crop", "random_horizontal_flip",
    "RandomCrop", "RandomHorizontalFlip", "compose", "standard_augmentation",
]
