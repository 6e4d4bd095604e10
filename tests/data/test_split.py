"""The validation split: seeded, stratified, disjoint, carved from the training set."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.data.split import validation_split


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(10, 60), st.floats(0.05, 0.5), st.integers(0, 1000))
def test_validation_split_is_stratified_disjoint_and_seeded(classes, per_class, fraction, seed):
    y = np.repeat(np.arange(classes), per_class)
    x = np.arange(len(y), dtype=np.float32)[:, None]   # x identifies the sample
    x_fit, y_fit, x_val, y_val = validation_split(x, y, fraction, seed)
    assert len(x_fit) + len(x_val) == len(x)
    assert not set(x_fit[:, 0]) & set(x_val[:, 0])
    expected = min(max(round(per_class * fraction), 1), per_class - 1)
    assert np.bincount(y_val, minlength=classes).tolist() == [expected] * classes
    assert (y[x_val[:, 0].astype(int)] == y_val).all()
    again = validation_split(x, y, fraction, seed)
    assert np.array_equal(again[2], x_val)


def test_different_seeds_give_different_splits():
    y = np.repeat(np.arange(3), 50)
    x = np.arange(150, dtype=np.float32)[:, None]
    assert not np.array_equal(validation_split(x, y, 0.2, 0)[2], validation_split(x, y, 0.2, 1)[2])


@pytest.mark.parametrize("fraction", [0, 1, -0.1, True])
def test_a_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction must be a number in"):
        validation_split(np.zeros((4, 1)), np.array([0, 0, 1, 1]), fraction)
