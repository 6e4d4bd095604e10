"""Pooling: equal to naive loop references (PyTorch's conventions), correct gradients, bad input refused."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn.pooling import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool1d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
)


def naive_pool2d(x, kernel, stride, padding, mode):
    """max pads with −∞; avg pads with zeros and divides by kh·kw (count_include_pad=True)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), -np.inf if mode == "max" else 0.0)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, ho, wo))
    for b in range(n):
        for ch in range(c):
            for r in range(ho):
                for s in range(wo):
                    window = xp[b, ch, r * sh : r * sh + kh, s * sw : s * sw + kw]
                    y[b, ch, r, s] = window.max() if mode == "max" else window.sum() / (kh * kw)
    return y


def distinct(shape, seed=0):
    """Values without ties (a shuffled grid, spacing 0.1), so max pooling is differentiable."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))) * 0.1 - 1.0).reshape(shape)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h, w = draw(st.integers(max(1, kh - 2 * ph), 7)), draw(st.integers(max(1, kw - 2 * pw), 7))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(
        (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w))
    return x, (kh, kw), stride, (ph, pw)


@settings(max_examples=60, deadline=None)
@given(pool_cases(), st.sampled_from(["max", "avg"]))
def test_pool2d_matches_naive_loop_reference(case, mode):
    x, kernel, stride, padding = case
    fn = max_pool2d if mode == "max" else avg_pool2d
    y = fn(tq.Tensor(x), kernel, stride, padding)
    ref = naive_pool2d(x, kernel, kernel if stride is None else stride, padding, mode)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 1, 1), ((3, 2), (2, 1), (1, 0)), (3, 2, 1)])
def test_pool2d_gradcheck(fn, kernel, stride, padding):
    # stride < kernel makes windows overlap: an input then gets the sum from several windows
    tq.gradcheck(lambda x: fn(x, kernel, stride, padding), distinct((2, 3, 6, 5)))


def test_max_pool2d_sends_the_gradient_to_the_maximum_only():
    x = tq.Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    max_pool2d(x, 2).backward(np.array([[[[7.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 7.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool1d_matches_naive_reference_and_gradcheck(mode):
    fn = max_pool1d if mode == "max" else avg_pool1d
    x = distinct((2, 3, 9))
    for kernel, stride, padding in [(2, None, 0), (3, 1, 1), (3, 2, 1), (4, 3, 2)]:
        y = fn(tq.Tensor(x), kernel, stride, padding)
        ref = naive_pool2d(x[:, :, None], (1, kernel), (1, kernel if stride is None else stride), (0, padding), mode)
        np.testing.assert_allclose(y.data, ref[:, :, 0], rtol=1e-12)
        tq.gradcheck(lambda x: fn(x, kernel, stride, padding), x)


def test_global_avg_pool_is_the_spatial_mean_and_gradchecks():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(global_avg_pool2d(tq.Tensor(x)).data, x.reshape(2, 3, -1).sum(-1) / 20)
    np.testing.assert_allclose(global_avg_pool1d(tq.Tensor(x[:, :, 0])).data, x[:, :, 0].sum(-1) / 5)
    tq.gradcheck(global_avg_pool2d, x)
    tq.gradcheck(global_avg_pool1d, x[:, :, 0])


def test_pooling_keeps_float32():
    x = tq.Tensor(distinct((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    for fn in (max_pool2d, avg_pool2d):
        x.grad = None
        y = fn(x, 3, 2, 1)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32
    assert global_avg_pool2d(x).dtype == np.float32


def _x(*shape):
    return tq.Tensor(np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: max_pool2d(_x(3, 8, 8), 2), ValueError, "max_pool2d: input must be 4-D (N, C, H, W), got shape (3, 8, 8)"),
        (lambda: avg_pool2d(_x(1, 3, 8, 8), 2, stride=0), ValueError, "avg_pool2d: stride must be positive, got 0"),
        (lambda: max_pool2d(_x(1, 3, 8, 8), 0), ValueError, "max_pool2d: kernel_size must be positive, got 0"),
        (lambda: max_pool2d(_x(1, 3, 8, 8), 2, padding=-1), ValueError, "max_pool2d: padding must be non-negative, got -1"),
        (lambda: max_pool2d(_x(1, 3, 8, 8), 2, padding=2), ValueError,
         "max_pool2d: padding 2 must be at most half the kernel size 2"),
        (lambda: avg_pool2d(_x(1, 3, 2, 8), 3), ValueError, "avg_pool2d: kernel height 3 is larger than the padded input height 2"),
        (lambda: max_pool1d(_x(1, 3, 8, 8), 2), ValueError, "max_pool1d: input must be 3-D (N, C, L), got shape (1, 3, 8, 8)"),
        (lambda: avg_pool1d(_x(1, 3, 8), 2, stride=-1), ValueError, "avg_pool1d: stride must be positive, got -1"),
        (lambda: global_avg_pool2d(_x(3, 8)), ValueError, "global_avg_pool2d: input must be 4-D (N, C, H, W), got shape (3, 8)"),
        (lambda: global_avg_pool1d(np.zeros((1, 3, 8))), TypeError, "global_avg_pool1d: input must be a tinyquant.Tensor"),
        (lambda: max_pool2d(_x(0, 3, 8, 8), 2), ValueError,          # died in a reshape before
         "max_pool2d: input of shape (0, 3, 8, 8) is empty; expected at least one sample"),
        (lambda: global_avg_pool2d(_x(0, 3, 4, 4)), ValueError, "global_avg_pool2d: input of shape (0, 3, 4, 4) is empty"),
        (lambda: max_pool2d(tq.Tensor(np.ones((1, 1, 4, 4), np.int64)), 2, padding=1), TypeError,
         "max_pool2d: input must be floating-point (float32 or float64), got dtype int64"),
    ],
)
def test_pooling_rejects_bad_input_naming_argument_and_value(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
