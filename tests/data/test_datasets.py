"""The Dataset record checks itself; the registry knows its names; the stratified split
keeps class proportions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.data import DEFAULT_DATASET, Dataset, available_datasets, get_dataset
from tinyquant.data import stratified_split
from tinyquant.data.registry import _registry


def record(**changes):
    fields = dict(name="toy", x_train=np.zeros((4, 1, 2), np.float32),
                  y_train=np.array([0, 1, 2, 1]), x_test=np.zeros((2, 1, 2), np.float32),
                  y_test=np.array([0, 2]), num_classes=3, input_shape=(1, 2))
    fields.update(changes)
    return Dataset(**fields)


def test_default_is_digits_and_needs_no_arguments():
    assert DEFAULT_DATASET == "digits"
    ds = get_dataset()
    assert ds.name == "digits" and ds.input_shape == (1, 8, 8)


def test_available_names_are_exactly_the_registry():
    assert available_datasets() == list(_registry())
    assert set(available_datasets()) == {"digits", "mnist1d", "mnist", "fashion-mnist", "cifar10"}


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; available: digits, "
                                         "mnist1d, mnist, fashion-mnist, cifar10"):
        get_dataset("imagenet")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_file_based_sets_without_directory_say_so(name):
    with pytest.raises(TypeError, match="never downloads: pass directory="):
        get_dataset(name)


def test_registry_passes_keyword_arguments_to_the_loader():
    ds = get_dataset("mnist1d", num_samples=100, seed=3)
    assert len(ds.y_train) + len(ds.y_test) == 100


def test_dataset_record_is_frozen_and_checks_itself():
    ds = record()
    with pytest.raises(AttributeError):
        ds.name = "other"
    with pytest.raises(TypeError, match="x_train must be a float32"):
        record(x_train=np.zeros((4, 1, 2)))
    with pytest.raises(TypeError, match="y_test must be a 1-D int64"):
        record(y_test=np.array([0, 2], np.int32))
    with pytest.raises(ValueError, match="x_train has 4 samples but y_train has 3"):
        record(y_train=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels in \[0, 3\], expected \[0, 3\)"):
        record(y_test=np.array([0, 3]))
    with pytest.raises(ValueError, match=r"per-sample shape \(1, 2\), expected input_shape"):
        record(input_shape=(2, 1))


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(2, 30), min_size=1, max_size=6),
       fraction=st.floats(0.05, 0.95), seed=st.integers(0, 2**32))
def test_stratified_split_partitions_each_class_in_proportion(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(labels)
    train, test = stratified_split(labels, fraction, seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    for c, n in enumerate(counts):
        expected = min(max(round(n * fraction), 1), n - 1)     # Python rounds half to even
        assert np.sum(labels[test] == c) == expected


def test_stratified_split_rejects_bad_input():
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(np.array([0, 0, 1, 1]), 0.0, 0)
    with pytest.raises(ValueError, match="class 1 has 1 sample"):
        stratified_split(np.array([0, 0, 1]), 0.5, 0)
