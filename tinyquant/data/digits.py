"""The 8x8 handwritten digits that ship with scikit-learn: tinyquant's default data set.

1,797 grey-scale images of the digits 0-9 (about 180 per class), 8x8 pixels with
integer intensities 0..16, from the UCI "Optical Recognition of Handwritten Digits"
set. They are stored inside the scikit-learn package, so loading them needs no file
and no network -- which is why they are the default: every example and test runs
anywhere, in well under a second.

Preprocessing, in this order:

1. a seeded, stratified train/test split (:func:`~tinyquant.data.datasets.stratified_split`),
   so both splits keep the 10 classes in the same proportions;
2. pixels scaled to [0, 1] by dividing by 16;
3. standardized with ONE scalar mean and standard deviation computed over all pixels
   of the TRAIN split, applied unchanged to the test split. (A scalar rather than a
   per-pixel statistic: the border pixels are nearly always 0 and would divide by ~0.)
"""

from __future__ import annotations

import numpy as np

from .datasets import Dataset, check_seed, standardize_, stratified_split


def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """The scikit-learn digits as a :class:`Dataset` of (N, 1, 8, 8) float32 NCHW images.

    ``seed`` fixes the stratified split; ``test_fraction`` of each class goes to the
    test set (default 0.2: 1,438 train / 359 test images, rounding per class).
    """
    seed = check_seed(seed, "load_digits")
    from sklearn.datasets import load_digits as _sklearn_digits  # ships with the package

    bunch = _sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]   # (1797, 1, 8, 8) in [0, 1]
    labels = bunch.target.astype(np.int64)
    train, test = stratified_split(labels, test_fraction, seed)
    x_train, x_test = images[train], images[test]           # fancy indexing: fresh copies
    standardize_(x_train, x_test, axis=None)
    return Dataset("digits", x_train, labels[train], x_test, labels[test],
                   num_classes=10, input_shape=(1, 8, 8))
