"""Augmentation: crops are windows of the padded image, flips mirror, both match a
per-sample reference, and all randomness comes from the Generator passed in."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.data.augment import (RandomCrop, RandomHorizontalFlip, compose, random_crop,
                                    random_horizontal_flip, standard_augmentation)

shapes = st.tuples(st.integers(1, 6), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7))


def batch(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def reference_crop(x, padding, rng):
    """One sample at a time, as the docstring specifies: row offsets, then column offsets."""
    n, _, h, w = x.shape
    rows = rng.integers(0, 2 * padding + 1, size=n)
    cols = rng.integers(0, 2 * padding + 1, size=n)
    out = np.empty_like(x)
    for i in range(n):
        padded = np.zeros((x.shape[1], h + 2 * padding, w + 2 * padding), x.dtype)
        padded[:, padding:padding + h, padding:padding + w] = x[i]
        out[i] = padded[:, rows[i]:rows[i] + h, cols[i]:cols[i] + w]
    return out


@settings(max_examples=40, deadline=None)
@given(shape=shapes, padding=st.integers(0, 4), seed=st.integers(0, 1000))
def test_crop_matches_per_sample_reference_and_keeps_shape(shape, padding, seed):
    x = batch(shape, seed)
    out = random_crop(x, padding, np.random.default_rng(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, reference_crop(x, padding, np.random.default_rng(seed)))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, padding=st.integers(1, 3), seed=st.integers(0, 1000))
def test_each_crop_is_some_window_of_its_zero_padded_image(shape, padding, seed):
    x = batch(shape, seed) + 10.0           # no zeros inside, so the padding is visible
    _, _, h, w = shape
    out = random_crop(x, padding, np.random.default_rng(seed))
    for i in range(len(x)):
        padded = np.pad(x[i], ((0, 0), (padding, padding), (padding, padding)))
        windows = [padded[:, r:r + h, c:c + w] for r in range(2 * padding + 1)
                   for c in range(2 * padding + 1)]
        assert any(np.array_equal(out[i], win) for win in windows)


def test_crop_with_zero_padding_is_identity():
    x = batch((5, 3, 6, 4))
    np.testing.assert_array_equal(random_crop(x, 0, np.random.default_rng(1)), x)


def test_crop_offsets_differ_across_samples_and_cover_all_positions():
    x = np.ones((400, 1, 3, 3), np.float32)
    out = random_crop(x, 1, np.random.default_rng(0))
    # the zero border's position identifies the offset; 9 offsets -> 9 distinct patterns
    assert len(np.unique(out.reshape(400, -1), axis=0)) == 9


@settings(max_examples=40, deadline=None)
@given(shape=shapes, p=st.floats(0, 1), seed=st.integers(0, 1000))
def test_flip_matches_per_sample_reference(shape, p, seed):
    x = batch(shape, seed)
    out = random_horizontal_flip(x, np.random.default_rng(seed), p)
    coins = np.random.default_rng(seed).random(len(x)) < p
    expected = np.stack([x[i, ..., ::-1] if coins[i] else x[i] for i in range(len(x))])
    np.testing.assert_array_equal(out, expected)


def test_flip_probability_extremes_and_mirroring():
    x = batch((8, 2, 3, 5))
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(random_horizontal_flip(x, rng, p=0.0), x)
    np.testing.assert_array_equal(random_horizontal_flip(x, rng, p=1.0), x[:, :, :, ::-1])
    np.testing.assert_array_equal(random_horizontal_flip(x[:, 0, 0], rng, p=1.0),
                                  x[:, 0, 0, ::-1])   # NCL-like 2-D batches flip too


def test_flip_twice_with_same_stream_restores_and_with_next_draws_differs():
    x = batch((64, 1, 4, 4))
    once = random_horizontal_flip(x, np.random.default_rng(3))
    twice = random_horizontal_flip(once, np.random.default_rng(3))     # same coins again
    np.testing.assert_array_equal(twice, x)
    rng = np.random.default_rng(3)
    continued = random_horizontal_flip(random_horizontal_flip(x, rng), rng)  # fresh coins
    assert not np.array_equal(continued, x)


def test_compose_applies_in_order_sharing_one_generator():
    x = batch((6, 3, 5, 5))
    out = compose(RandomCrop(2), RandomHorizontalFlip(0.5))(x, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    expected = random_horizontal_flip(random_crop(x, 2, rng), rng, 0.5)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        standard_augmentation(2)(x, np.random.default_rng(4)), expected)
    np.testing.assert_array_equal(compose()(x, np.random.default_rng(4)), x)


def test_augmentations_never_modify_their_input():
    x = batch((6, 3, 5, 5))
    before = x.copy()
    standard_augmentation(2, p=1.0)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(x, before)


def test_bad_arguments_are_rejected_with_clear_messages():
    x = batch((2, 1, 4, 4))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        random_crop(x, 1, 0)
    with pytest.raises(ValueError, match="padding must be a non-negative int, got -1"):
        random_crop(x, -1, np.random.default_rng())
    with pytest.raises(ValueError, match="NCHW"):
        random_crop(x[None], 1, np.random.default_rng())
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        random_horizontal_flip(x, np.random.default_rng(), 1.5)
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(2.5)
    with pytest.raises(TypeError, match="transform 1 must be callable"):
        compose(RandomCrop(1), "flip")
