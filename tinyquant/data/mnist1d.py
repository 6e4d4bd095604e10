"""MNIST-1D, generated locally with the ``mnist1d`` package's own generator.

MNIST-1D (Greydanus & Kobak, 2020, "Scaling down deep learning with MNIST-1D") turns
ten hand-made 1-D templates into 40-sample signals by random padding, translation,
shear, scaling and correlated plus i.i.d. noise. It is small enough to train on in
seconds yet, unlike the 8x8 digits, separates MLPs from CNNs.

We call ``mnist1d.data.make_dataset`` directly -- never ``get_dataset``, whose default
path downloads a pickle. The generator seeds NumPy's GLOBAL random state (and Python's
``random`` module); we save and restore both around the call, so loading MNIST-1D
leaves every other random stream in the program untouched.

The inputs are returned as the generator makes them (centered and scaled to unit
standard deviation over the whole generated set, as in the paper), as (N, 1, 40)
float32 in NCL layout; the split is the generator's (the first 80 % train).
"""

from __future__ import annotations

import functools
import numbers
import random

import numpy as np

from .datasets import Dataset, check_seed


@functools.lru_cache(maxsize=8)
def _generate(num_samples: int, seed: int):
    """Run the mnist1d generator once per (num_samples, seed); results are cached and
    marked read-only, so callers must copy (``load_mnist1d`` does)."""
    import mnist1d.data

    args = mnist1d.data.get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = mnist1d.data.make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = (data["x"].astype(np.float32)[:, None, :], data["y"].astype(np.int64),
              data["x_test"].astype(np.float32)[:, None, :], data["y_test"].astype(np.int64))
    for a in arrays:
        a.flags.writeable = False
    return arrays


def load_mnist1d(num_samples: int = 5000, seed: int = 42) -> Dataset:
    """MNIST-1D with ``num_samples`` signals (a multiple of 10: the generator makes the
    same number per class) from generator seed ``seed``; 80 % train, 20 % test.

    Deterministic in (num_samples, seed); repeated calls are served from an in-memory
    cache and get fresh copies, so modifying the result cannot corrupt later calls.
    """
    if (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
            or num_samples < 10 or num_samples % 10):
        raise ValueError(f"load_mnist1d: num_samples must be a positive multiple of 10 "
                         f"(the generator makes num_samples // 10 per class), got {num_samples!r}")
    seed = check_seed(seed, "load_mnist1d")
    x_train, y_train, x_test, y_test = (a.copy() for a in _generate(int(num_samples), seed))
    return Dataset("mnist1d", x_train, y_train, x_test, y_test,
                   num_classes=10, input_shape=(1, 40))
