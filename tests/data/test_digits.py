"""The default data set: the scikit-learn 8x8 digits, split stratified, standardized
with train statistics only."""

import numpy as np
import pytest
import sklearn.datasets

from tinyquant.data import load_digits, stratified_split


@pytest.fixture(scope="module")
def raw():
    bunch = sklearn.datasets.load_digits()
    return bunch.images.astype(np.float64) / 16.0, bunch.target


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_shapes_dtypes_and_ten_classes(digits):
    assert digits.name == "digits" and digits.num_classes == 10
    assert digits.input_shape == (1, 8, 8)
    assert digits.x_train.dtype == digits.x_test.dtype == np.float32
    assert digits.y_train.dtype == digits.y_test.dtype == np.int64
    assert digits.x_train.shape[1:] == digits.x_test.shape[1:] == (1, 8, 8)
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert set(np.unique(digits.y_train)) == set(np.unique(digits.y_test)) == set(range(10))


def test_split_is_stratified_with_the_requested_fraction(digits, raw):
    per_class = np.bincount(raw[1], minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    np.testing.assert_array_equal(test_counts, np.round(per_class * 0.2))
    np.testing.assert_array_equal(np.bincount(digits.y_train, minlength=10),
                                  per_class - test_counts)


def test_inputs_are_scaled_by_16_then_standardized_with_train_statistics(digits, raw):
    images, labels = raw
    train, test = stratified_split(labels, 0.2, 0)
    mean, std = images[train].mean(), images[train].std()
    np.testing.assert_allclose(digits.x_train[:, 0], (images[train] - mean) / std, atol=1e-5)
    np.testing.assert_allclose(digits.x_test[:, 0], (images[test] - mean) / std, atol=1e-5)
    np.testing.assert_array_equal(digits.y_train, labels[train])
    np.testing.assert_array_equal(digits.y_test, labels[test])
    assert abs(digits.x_train.mean()) < 1e-5 and abs(digits.x_train.std() - 1) < 1e-5


def test_split_is_fixed_by_seed():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert a.x_test.shape == c.x_test.shape and not np.array_equal(a.x_test, c.x_test)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)
    with pytest.raises(TypeError, match="seed"):
        load_digits(seed=-3)
