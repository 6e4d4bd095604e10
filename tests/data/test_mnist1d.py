"""MNIST-1D: generated locally, deterministic, and leaving global random state alone."""

import random

import numpy as np
import pytest

import tinyquant.data.mnist1d as tq_mnist1d
from tinyquant.data import load_mnist1d


def test_shapes_match_the_generator_output_as_float32_ncl():
    import mnist1d.data

    ds = load_mnist1d(num_samples=200, seed=3)
    assert ds.name == "mnist1d" and ds.num_classes == 10 and ds.input_shape == (1, 40)
    assert ds.x_train.shape == (160, 1, 40) and ds.x_test.shape == (40, 1, 40)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    args = mnist1d.data.get_dataset_args()
    args.num_samples, args.seed = 200, 3
    state = np.random.get_state()
    reference = mnist1d.data.make_dataset(args)
    np.random.set_state(state)
    np.testing.assert_array_equal(ds.x_train[:, 0], reference["x"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test, reference["y_test"])


def test_generation_is_deterministic_and_seed_dependent():
    tq_mnist1d._generate.cache_clear()
    first = load_mnist1d(num_samples=100, seed=1)
    tq_mnist1d._generate.cache_clear()
    again = load_mnist1d(num_samples=100, seed=1)
    other = load_mnist1d(num_samples=100, seed=2)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert not np.array_equal(first.x_train, other.x_train)


def test_global_random_state_is_untouched():
    tq_mnist1d._generate.cache_clear()
    np.random.seed(1234)
    random.seed(1234)
    numpy_before, python_before = np.random.random(), random.random()
    np.random.seed(1234)
    random.seed(1234)
    load_mnist1d(num_samples=100, seed=7)
    assert np.random.random() == numpy_before and random.random() == python_before


def test_cached_result_cannot_be_corrupted_by_callers():
    ds = load_mnist1d(num_samples=100, seed=5)
    expected = ds.x_train.copy()
    ds.x_train[:] = 0
    np.testing.assert_array_equal(load_mnist1d(num_samples=100, seed=5).x_train, expected)


@pytest.mark.parametrize("num_samples", [0, 55, 7.0, True])
def test_num_samples_must_be_a_positive_multiple_of_ten(num_samples):
    with pytest.raises(ValueError, match="multiple of 10"):
        load_mnist1d(num_samples=num_samples)
