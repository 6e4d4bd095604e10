"""Dropout: seeded masks, inverted scaling, the identity in eval, gradient = mask/(1-p)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant import nn
from tinyquant.nn import functional as F


def test_kept_elements_are_scaled_by_one_over_one_minus_p_and_dropped_ones_are_zero():
    x = np.random.default_rng(0).uniform(1, 2, size=(50, 40))
    y = F.dropout(tq.Tensor(x), p=0.25, rng=1).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    assert 0.2 < 1 - kept.mean() < 0.3


def test_dropout_keeps_the_mean_unbiased():
    """E[y] = x: over 200k elements of ones, the mean is 1 within 5 standard errors."""
    p, n = 0.4, 200_000
    y = F.dropout(tq.Tensor(np.ones(n)), p=p, rng=3).data
    se = np.sqrt(p / (1 - p) / n)                 # std of m/(1-p) is sqrt(p/(1-p))
    assert abs(y.mean() - 1) < 5 * se


def test_the_same_seed_drops_the_same_units_and_another_seed_others():
    x = tq.Tensor(np.ones((8, 8)))
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(a(x).data, nn.Dropout(0.5, rng=8)(x).data)
    assert not np.array_equal(a(x).data, a(x).data)        # successive calls draw new masks


def test_dropout_is_the_identity_in_eval_and_at_p_zero_and_zero_at_p_one():
    x = tq.Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    layer = nn.Dropout(0.9, rng=0).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0, rng=0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0, rng=0).data, 0.0)


@settings(max_examples=20, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**31))
def test_dropout_gradient_is_the_cotangent_times_the_scaled_mask(p, seed):
    x = np.random.default_rng(seed).uniform(0.5, 1.5, size=(4, 5))
    X = tq.Tensor(x, requires_grad=True)
    y = F.dropout(X, p, rng=seed)
    g = np.random.default_rng(seed + 1).standard_normal(x.shape)
    y.backward(g)
    mask = y.data != 0                                   # x > 0, so y = 0 exactly where dropped
    np.testing.assert_allclose(X.grad, g * mask / (1 - p), rtol=1e-12)
    tq.gradcheck(lambda t: F.dropout(t, p, rng=seed), x)   # a fresh Generator per call: one mask


def test_float32_input_gives_float32_output_and_gradient():
    X = tq.Tensor(np.ones((4, 4), np.float32), requires_grad=True)
    y = F.dropout(X, 0.5, rng=0)
    y.sum().backward()
    assert y.dtype == X.grad.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5, "half", True])
def test_a_bad_probability_is_refused_naming_it(p):
    with pytest.raises(ValueError, match="p must be a probability in \\[0, 1\\]"):
        nn.Dropout(p)


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="dropout: input must be floating-point"):
        F.dropout(tq.Tensor(np.array([1, 2, 3])), 0.5, rng=0)


def test_a_model_restored_from_its_state_dict_drops_the_same_units_next():
    """The module's randomness is state: seed and mask count are buffers (exact resume)."""
    x = tq.Tensor(np.ones((6, 6)))
    run = nn.Sequential(nn.Dropout(0.5, rng=11))
    run(x)
    run(x)                                            # two masks drawn, then a checkpoint
    state = run.state_dict()
    assert int(state["0.draws"]) == 2 and int(state["0.seed"]) == 11
    expected = run(x).data                            # the uninterrupted run's third mask
    resumed = nn.Sequential(nn.Dropout(0.5, rng=99))  # built with another seed, then restored
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(resumed(x).data, expected)


def test_a_generator_gives_the_seed_once_so_equal_generators_build_equal_layers():
    a = nn.Dropout(0.3, rng=np.random.default_rng(5))
    b = nn.Dropout(0.3, rng=np.random.default_rng(5))
    x = tq.Tensor(np.ones((4, 4)))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    with pytest.raises(ValueError, match="must be >= 0"):
        nn.Dropout(0.3, rng=-1)
