"""Batch norm: gradients, PyTorch's running-statistics convention, train vs eval."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant import nn
from tinyquant.nn import functional as F


@settings(max_examples=15, deadline=None)
@given(shape=st.sampled_from([(4, 3), (3, 2, 5), (2, 3, 3, 2), (5, 1, 2, 2)]), seed=st.integers(0, 99))
def test_batch_norm_training_gradient_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    tq.gradcheck(lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True), x, gamma, beta)


def test_batch_norm_eval_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    tq.gradcheck(lambda a, g, b: F.batch_norm(a, mean, var, g, b, training=False),
                 rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(3), rng.standard_normal(3))


def test_batch_norm_eval_output_is_the_affine_map_of_the_running_statistics():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 2, 5)) * 3 + 2
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    y = F.batch_norm(tq.Tensor(x), mean, var, tq.Tensor(gamma), tq.Tensor(beta), training=False, eps=1e-3)
    c = (slice(None), None, None)                               # per channel, over (N, C, H, W)
    expected = gamma[c] * (x - mean[c]) / np.sqrt(var[c] + 1e-3) + beta[c]
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


def test_training_output_is_normalized_per_channel():
    x = np.random.default_rng(1).standard_normal((16, 4, 3, 3)).astype(np.float32) * 5 + 3
    y = nn.BatchNorm2d(4)(tq.Tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_running_statistics_follow_pytorch_convention():
    """running = (1 − m)·running + m·batch, m = 0.1, unbiased batch variance."""
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm2d(3)
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((5, 3, 2, 2)).astype(np.float32) * 2 + 1
        bn(tq.Tensor(x))
        n = 5 * 2 * 2
        batch_mean = x.mean(axis=(0, 2, 3))
        batch_var_unbiased = x.var(axis=(0, 2, 3)) * n / (n - 1)
        expected_mean = 0.9 * expected_mean + 0.1 * batch_mean
        expected_var = 0.9 * expected_var + 0.1 * batch_var_unbiased
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, expected_var, rtol=1e-5)


def test_train_and_eval_differ_as_they_must():
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(2)
    x = tq.Tensor(rng.standard_normal((8, 2)).astype(np.float32) * 3 + 2)
    train_out = bn(x).data
    before = bn.running_mean.copy()
    bn.eval()
    eval_out = bn(x).data
    np.testing.assert_array_equal(bn.running_mean, before)  # eval does not update
    expected = (x.data - bn.running_mean) / np.sqrt(bn.running_var + 1e-5)
    np.testing.assert_allclose(eval_out, expected, rtol=1e-5)
    assert not np.allclose(train_out, eval_out)


def test_batch_norm_rejects_wrong_channels_and_dimensions():
    with pytest.raises(ValueError, match="3 channels, expected 4"):
        nn.BatchNorm2d(4)(tq.Tensor(np.zeros((2, 3, 2, 2))))
    with pytest.raises(ValueError, match="dimensions"):
        nn.BatchNorm2d(3)(tq.Tensor(np.zeros((2, 3))))


# ------------------------------------------------------- state in the open, validation

def test_the_function_is_pure_it_changes_no_array_it_is_given():
    from tinyquant.nn.batchnorm import BatchNormFunction, batch_moments

    rng = np.random.default_rng(4)
    x = tq.Tensor(rng.standard_normal((6, 3, 2, 2)), requires_grad=True)
    mean, var, _ = batch_moments(x.data)
    copies = [a.copy() for a in (x.data, mean, var)]
    w, b = tq.Tensor(np.ones(3), requires_grad=True), tq.Tensor(np.zeros(3))
    BatchNormFunction.apply(x, w, b, mean=mean, var=var, eps=1e-5, batch_statistics=True).sum().backward()
    for before, after in zip(copies, (x.data, mean, var)):
        np.testing.assert_array_equal(before, after)
    assert w.grad is not None and x.grad is not None


def test_the_module_moves_its_running_statistics_and_the_functional_form_moves_given_arrays():
    rng = np.random.default_rng(5)
    x = tq.Tensor(rng.standard_normal((8, 3)).astype(np.float32) + 2)
    layer = nn.BatchNorm1d(3)
    y_module = layer(x).data
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y_functional = F.batch_norm(x, rm, rv, training=True).data
    np.testing.assert_array_equal(y_module, y_functional)
    np.testing.assert_array_equal(layer.running_mean, rm)
    np.testing.assert_array_equal(layer.running_var, rv)
    np.testing.assert_allclose(rm, 0.1 * x.data.mean(axis=0), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_input_is_refused_instead_of_returning_zeros(dtype):
    x = tq.Tensor(np.arange(12).reshape(4, 3).astype(dtype))
    with pytest.raises(TypeError, match=f"BatchNorm1d: input must be floating-point .*got dtype {np.dtype(dtype)}"):
        nn.BatchNorm1d(3)(x)
    with pytest.raises(TypeError, match="batch_norm: input must be floating-point"):
        F.batch_norm(x, None, None, training=True)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_training_refuses_one_value_per_channel_as_pytorch_does(shape):
    layer = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3)
    x = tq.Tensor(np.ones(shape, np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        layer(x)
    assert layer.eval()(x).shape == shape                  # evaluation is fine with one sample


def test_an_empty_batch_is_refused_clearly():
    with pytest.raises(ValueError, match=r"input of shape \(0, 3\) is empty"):
        nn.BatchNorm1d(3).eval()(tq.Tensor(np.zeros((0, 3), np.float32)))


@settings(max_examples=30, deadline=None)
@given(eps=st.one_of(st.floats(max_value=-1e-300), st.just(float("nan")), st.just(float("inf"))))
def test_negative_or_non_finite_eps_is_refused_naming_the_value(eps):
    with pytest.raises(ValueError, match="eps must be a finite number >= 0, got"):
        nn.BatchNorm2d(3, eps=eps)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        F.batch_norm(tq.Tensor(np.ones((2, 3))), None, None, training=True, eps=eps)


@settings(max_examples=30, deadline=None)
@given(momentum=st.one_of(st.floats(max_value=-1e-300), st.floats(min_value=1.0000001),
                          st.just(float("nan")), st.booleans()))
def test_momentum_outside_zero_one_is_refused_naming_the_value(momentum):
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\], got"):
        nn.BatchNorm1d(3, momentum=momentum)


@pytest.mark.parametrize("num_features, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError)])
def test_num_features_must_be_a_positive_int(num_features, error):
    with pytest.raises(error, match="num_features must be a positive int"):
        nn.BatchNorm1d(num_features)
