"""The validation split: a seeded, stratified part of the TRAINING set held out for model
selection, so that the test set is looked at once, at the end.

    x_fit, y_fit, x_val, y_val = validation_split(ds.x_train, ds.y_train, 0.1, seed=0)

Each class gives ``round(n_c · fraction)`` of its samples (at least 1, at most n_c − 1) to
the validation part, drawn with ``np.random.default_rng(seed)``
(:func:`tinyquant.data.datasets.stratified_split`), so the class proportions of both parts
match the training set's. The data sets standardize with statistics of the whole training
set; the validation part is carved from that, never from the test set.
"""

from __future__ import annotations

import numbers

import numpy as np

from .datasets import stratified_split


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0):
    """``(x_fit, y_fit, x_val, y_val)``: the stratified split of ``(x, y)`` with ``fraction``
    of every class in the validation part; the same ``seed`` gives the same split."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split: fraction must be a number in (0, 1), got {fraction!r}")
    if len(x) != len(y):
        raise ValueError(f"validation_split: x has {len(x)} samples but y has {len(y)} labels")
    fit, val = stratified_split(y, float(fraction), seed)
    return x[fit], y[fit], x[val], y[val]
