"""Properties of deterministic (Qd) and stochastic (Qs) rounding, seed 002 eqs. 3 and 5."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.quant.rounding import deterministic_round, stochastic_round

deltas = st.sampled_from([1.0, 0.5, 0.25, 0.1, 0.3, 1e-3, 7.0])
values = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=50).map(np.array)


@given(x=values, delta=deltas, seed=st.integers(0, 2**32 - 1))
def test_stochastic_round_moves_less_than_one_grid_step_to_a_neighbour(x, delta, seed):
    out = stochastic_round(x, delta, np.random.default_rng(seed))
    k = out / delta
    assert np.all(np.abs(k - np.round(k)) <= 1e-9 * np.maximum(1, np.abs(k)))
    assert np.all(np.abs(out - x) < delta * (1 + 1e-12))
    lower = delta * np.floor(x / delta)
    assert np.all((np.isclose(out, lower, rtol=1e-12, atol=1e-12)) | np.isclose(out, lower + delta, rtol=1e-12, atol=1e-12))


@given(x=values, delta=deltas)
def test_deterministic_round_returns_the_nearest_grid_point(x, delta):
    out = deterministic_round(x, delta)
    assert np.all(np.abs(out - x) <= delta / 2 * (1 + 1e-9) + 1e-12)


@pytest.mark.parametrize("x", [0.3, 1.7, -2.45, 0.05, 3.999])
def test_stochastic_rounding_is_unbiased(x):
    # The sample mean of n independent Qs(x) has standard deviation Δ·sqrt(q(1−q)/n), where
    # q = x/Δ − ⌊x/Δ⌋. Accept 5 standard deviations (a false alarm has probability ~6e-7).
    delta, n = 0.5, 200_000
    q = x / delta - np.floor(x / delta)
    out = stochastic_round(np.full(n, x), delta, np.random.default_rng(1234))
    sd_of_mean = delta * np.sqrt(q * (1 - q) / n)
    assert abs(out.mean() - x) <= 5 * sd_of_mean


def test_stochastic_rounding_rounds_up_with_probability_equal_to_the_fractional_part():
    delta, n, x = 1.0, 100_000, 0.2
    up = np.mean(stochastic_round(np.full(n, x), delta, np.random.default_rng(7)) == 1.0)
    assert abs(up - 0.2) <= 5 * np.sqrt(0.2 * 0.8 / n)


def test_deterministic_round_ties_go_to_the_even_multiple():
    delta = 0.5
    x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, 2.25])  # x/Δ = 0.5, 1.5, 2.5, -0.5, -1.5, 4.5
    np.testing.assert_array_equal(deterministic_round(x, delta), [0.0, 1.0, 1.0, -0.0, -1.0, 2.0])


def test_deterministic_round_differs_from_eq3_only_at_ties():
    # eq. 3 as printed: sign(w)·Δ·⌊|w|/Δ + 1/2⌋ (ties away from zero)
    rng = np.random.default_rng(3)
    delta = 0.5
    x = rng.uniform(-5, 5, 10_000)
    eq3 = np.sign(x) * delta * np.floor(np.abs(x) / delta + 0.5)
    np.testing.assert_array_equal(deterministic_round(x, delta), eq3)
    assert deterministic_round(1.25, delta) == 1.0 and np.sign(1.25) * delta * np.floor(1.25 / delta + 0.5) == 1.5


@given(x=values, delta=deltas, seed=st.integers(0, 2**32 - 1))
def test_rounding_is_idempotent_on_grid_points(x, delta, seed):
    rng = np.random.default_rng(seed)
    qd = deterministic_round(x, delta)
    np.testing.assert_array_equal(deterministic_round(qd, delta), qd)
    np.testing.assert_array_equal(stochastic_round(qd, delta, rng), qd)
    qs = stochastic_round(x, delta, rng)
    np.testing.assert_array_equal(stochastic_round(qs, delta, rng), qs)
    np.testing.assert_array_equal(deterministic_round(qs, delta), qs)


def test_grid_points_with_inexact_quotient_stay_put():
    # 0.3 / 0.1 == 2.9999999999999996 in floating point
    x = np.array([0.3, 0.7, 3 * 0.1, 1.1, -0.3])
    rng = np.random.default_rng(0)
    for _ in range(100):
        np.testing.assert_array_equal(stochastic_round(x, 0.1, rng), deterministic_round(x, 0.1))


def test_same_seed_gives_same_numbers():
    x = np.linspace(-3, 3, 101)
    a = stochastic_round(x, 0.5, np.random.default_rng(42))
    b = stochastic_round(x, 0.5, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_rounding_keeps_float_dtype_and_scalar_shape():
    x32 = np.linspace(-1, 1, 7, dtype=np.float32)
    assert deterministic_round(x32, 0.5).dtype == np.float32
    assert stochastic_round(x32, 0.5, np.random.default_rng(0)).dtype == np.float32
    assert np.ndim(deterministic_round(0.3, 0.5)) == 0
    assert np.ndim(stochastic_round(0.3, 0.5, np.random.default_rng(0))) == 0
    assert deterministic_round(np.arange(3), 2.0).dtype == np.float64


@pytest.mark.parametrize("delta", [0.0, -0.5, float("nan"), float("inf")])
def test_nonpositive_or_nonfinite_delta_raises_value_error(delta):
    with pytest.raises(ValueError, match="delta"):
        deterministic_round([1.0], delta)
    with pytest.raises(ValueError, match="delta"):
        stochastic_round([1.0], delta, np.random.default_rng(0))


@pytest.mark.parametrize("delta", ["0.5", None, True, [0.5]])
def test_non_numeric_delta_raises_type_error(delta):
    with pytest.raises(TypeError, match="delta"):
        deterministic_round([1.0], delta)


@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_stochastic_round_requires_a_generator(rng):
    with pytest.raises(TypeError, match="Generator"):
        stochastic_round([1.0], 0.5, rng)


def test_bad_x_raises():
    with pytest.raises(ValueError, match="finite"):
        deterministic_round([1.0, np.nan], 0.5)
    with pytest.raises(ValueError, match="finite"):
        stochastic_round([np.inf], 0.5, np.random.default_rng(0))
    with pytest.raises(TypeError, match="x must be"):
        deterministic_round(["a"], 0.5)
    with pytest.raises(TypeError, match="x must be"):
        deterministic_round([1 + 2j], 0.5)


@settings(max_examples=30)
@given(delta=deltas, seed=st.integers(0, 2**16))
def test_stochastic_round_variance_is_at_most_quarter_delta_squared(delta, seed):
    x = np.full(4000, 0.37 * delta + 3 * delta)
    out = stochastic_round(x, delta, np.random.default_rng(seed))
    assert np.var(out) <= delta**2 / 4 * 1.2


def test_deterministic_round_ties_away_is_eq3_as_printed():
    delta = 0.5
    x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, 2.25, 0.3])
    eq3 = np.sign(x) * delta * np.floor(np.abs(x) / delta + 0.5)     # seed 002 eq. 3
    np.testing.assert_array_equal(deterministic_round(x, delta, ties="away"), eq3)
    assert deterministic_round(1.25, delta, ties="away") == 1.5 != deterministic_round(1.25, delta)
    with pytest.raises(ValueError, match="ties must be one of even, away"):
        deterministic_round(x, delta, ties="up")
