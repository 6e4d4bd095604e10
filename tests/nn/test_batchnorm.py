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
