"""The ``Dataset`` record and the shared helpers (the registry of data sets by name is in
:mod:`tinyquant.data.registry`).

A data set is five things: train inputs and labels, test inputs and labels, and what a
model needs to know to fit them (``num_classes``, ``input_shape``). Every loader in
``tinyquant.data`` returns the same immutable :class:`Dataset` record::

    ds = get_dataset("digits")          # the default: no files, no network
    ds.x_train.shape                    # (1437, 1, 8, 8) float32, NCHW
    ds.y_train.dtype                    # int64, values in [0, ds.num_classes)

Conventions, the same for every data set:

* inputs are float32 with the batch axis first and channels second: NCHW for images
  ``(N, C, H, W)``, NCL for signals ``(N, C, L)``; ``input_shape`` is the per-sample
  shape, e.g. ``(1, 8, 8)``;
* labels are int64 class indices in ``[0, num_classes)``;
* standardization statistics always come from the TRAIN split alone and are applied
  unchanged to the test split, so nothing about the test set leaks into training.

No loader downloads anything: the digits ship inside scikit-learn, MNIST-1D is generated
locally, and MNIST / Fashion-MNIST / CIFAR-10 are read from a directory the user names.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

DEFAULT_DATASET = "digits"


@dataclass(frozen=True)
class Dataset:
    """A train/test split with its metadata; see the module docstring for conventions.

    The record is frozen (fields cannot be reassigned) and checks its own consistency
    on construction, so a loader bug surfaces here rather than deep inside training.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32:
                raise TypeError(f"Dataset {self.name!r}: x_{split} must be a float32 ndarray, "
                                f"got {type(x).__name__} {getattr(x, 'dtype', '')}")
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.ndim != 1:
                raise TypeError(f"Dataset {self.name!r}: y_{split} must be a 1-D int64 ndarray, "
                                f"got {type(y).__name__} {getattr(y, 'dtype', '')} "
                                f"shape {getattr(y, 'shape', '')}")
            if x.shape[1:] != self.input_shape:
                raise ValueError(f"Dataset {self.name!r}: x_{split} has per-sample shape "
                                 f"{x.shape[1:]}, expected input_shape {self.input_shape}")
            if len(x) != len(y):
                raise ValueError(f"Dataset {self.name!r}: x_{split} has {len(x)} samples "
                                 f"but y_{split} has {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"Dataset {self.name!r}: y_{split} has labels in "
                                 f"[{y.min()}, {y.max()}], expected [0, {self.num_classes})")

    def __repr__(self):
        return (f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
                f"num_classes={self.num_classes}, input_shape={self.input_shape})")


# --------------------------------------------------------------------------- helpers

def check_seed(seed, where: str) -> int:
    """Return ``seed`` as an int if it is a non-negative integer, else raise naming ``where``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{where}: seed must be a non-negative int, got {seed!r}")
    return int(seed)


def stratified_split(labels, test_fraction: float, seed: int):
    """Indices ``(train_idx, test_idx)`` of a seeded split that keeps class proportions.

    Each class ``c`` with ``n_c`` samples sends ``round(n_c * test_fraction)`` of them
    (half to even, as ``np.round``), clipped to ``[1, n_c - 1]``, to the test set,
    chosen uniformly at random with ``np.random.default_rng(seed)``. Both index arrays
    are returned sorted, so the split does not also shuffle (that is the DataLoader's job).

    Vectorized: shuffle once, stable-sort by label, and take the first ``n_test_c`` of
    each class's run.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"stratified_split: labels must be 1-D, got shape {labels.shape}")
    if not (isinstance(test_fraction, numbers.Real) and 0.0 < test_fraction < 1.0):
        raise ValueError(f"stratified_split: test_fraction must be a number in (0, 1), "
                         f"got {test_fraction!r}")
    rng = np.random.default_rng(check_seed(seed, "stratified_split"))
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(labels[shuffled], kind="stable")]
    classes, starts, counts = np.unique(labels[by_class], return_index=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"stratified_split: class {classes[counts.argmin()]} has "
                         f"{counts.min()} sample(s); every class needs at least 2")
    n_test = np.clip(np.round(counts * test_fraction).astype(np.int64), 1, counts - 1)
    rank_in_class = np.arange(len(labels)) - np.repeat(starts, counts)
    is_test = rank_in_class < np.repeat(n_test, counts)
    return np.sort(by_class[~is_test]), np.sort(by_class[is_test])


def standardize_(x_train: np.ndarray, x_test: np.ndarray, axis) -> None:
    """Standardize two float32 arrays IN PLACE with the statistics of ``x_train`` alone.

    Both become ``(x - m) / s`` where ``m`` and ``s`` are the mean and the (biased)
    standard deviation of ``x_train`` over ``axis`` -- ``None`` for one scalar,
    ``(0, 2, 3)`` for one value per NCHW channel -- accumulated in float64. A constant
    input (``s == 0``) is only centered (``s := 1``). In place (trailing underscore)
    because a full CIFAR-10 train set is 600 MB of float32; pass arrays you own.
    """
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x.dtype != np.float32:
            raise TypeError(f"standardize_: {name} must be float32, got {x.dtype}")
    if x_train.size == 0:
        raise ValueError("standardize_: x_train is empty; there are no statistics to use")
    mean = x_train.mean(axis=axis, dtype=np.float64, keepdims=True).astype(np.float32)
    x_train -= mean
    std = np.sqrt(np.mean(np.square(x_train), axis=axis, dtype=np.float64, keepdims=True))
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    x_train /= std
    x_test -= mean
    x_test /= std
