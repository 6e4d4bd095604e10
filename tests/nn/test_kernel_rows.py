"""The kernel-row path of a stride-1 convolution (tinyquant/nn/kernel_rows.py): its row-column
matrix by definition, and every forced path of conv2d against the plain im2col reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn.convolution import Conv2dReference, conv2d, conv_algorithm
from tinyquant.nn.kernel_rows import row_columns, row_view
from tinyquant.nn.parallel import ConvRuntime


def test_row_columns_hold_the_padded_input_shifted_by_each_kernel_column():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    ph, pw, kw = 1, 2, 3
    wo = 5 + 2 * pw - kw + 1
    r = row_columns(x, kw, (ph, pw), out=np.empty((2, 3, kw, 4 + 2 * ph, wo)), xp=np.full((2, 3, 6, 9), np.nan))
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for n, c, j, h, w in np.ndindex(*r.shape):
        assert r[n, c, j, h, w] == xpad[n, c, h, w + j]


def test_a_kernel_rows_view_is_the_next_rows_and_no_copy():
    r = np.random.default_rng(0).standard_normal((2, 3, 3, 6, 4))
    v = row_view(r, 2, 4)
    assert np.shares_memory(v, r) and v.shape == (2, 9, 16)
    np.testing.assert_array_equal(v[1, 4].reshape(4, 4), r[1, 1, 1, 2:6])


def _grads(x, w, b, stride, padding, runtime=None, reference=False):
    X, W, B = (tq.Tensor(a, requires_grad=True) for a in (x, w, b))
    if reference:
        y = Conv2dReference.apply(X, W, B, stride=stride, padding=padding)
    else:
        y = conv2d(X, W, B, stride=stride, padding=padding, runtime=runtime)
    y.backward(np.cos(3 * y.data))
    return y.data, X.grad, W.grad, B.grad


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 4), o=st.integers(1, 4), h=st.integers(3, 9),
       w=st.integers(3, 9), k=st.sampled_from([(1, 1), (2, 3), (3, 3), (3, 2)]),
       p=st.sampled_from([(0, 0), (1, 1), (2, 0), (0, 2)]), seed=st.integers(0, 2**31 - 1))
def test_every_forced_path_equals_the_plain_reference_in_float64(n, c, o, h, w, k, p, seed):
    rng = np.random.default_rng(seed)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, *k)), rng.standard_normal(o)
    ref = _grads(x, wt, b, (1, 1), p, reference=True)
    for algorithm in ("im2col", "rows", "winograd"):
        rt = ConvRuntime(threads=2, min_work=0, block_bytes=1, algorithm=algorithm)   # a sample a block
        for got, want in zip(_grads(x, wt, b, (1, 1), p, rt), ref):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_auto_takes_winograd_on_small_wide_layers_im2col_on_thin_ones_rows_elsewhere():
    assert conv_algorithm("auto", (128, 64, 8, 8), (64, 64, 3, 3), (1, 1)) == "winograd"
    assert conv_algorithm("auto", (128, 3, 32, 32), (16, 3, 3, 3), (1, 1)) == "im2col"     # C·kw = 9
    assert conv_algorithm("auto", (128, 32, 16, 16), (32, 32, 3, 3), (1, 1)) == "rows"
    assert conv_algorithm("auto", (128, 16, 8, 8), (16, 16, 3, 3), (1, 1)) == "rows"
    assert conv_algorithm("auto", (128, 64, 8, 8), (64, 64, 5, 5), (1, 1)) == "rows"
    assert conv_algorithm("auto", (128, 16, 32, 32), (32, 16, 3, 3), (2, 2)) == "im2col"


@pytest.mark.parametrize("algorithm", ["im2col", "rows", "winograd"])
def test_each_path_gives_the_same_bits_on_one_thread_and_three(algorithm):
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((23, 3, 7, 6), (4, 3, 3, 3), (4,)))
    one = _grads(x, w, b, (1, 1), (1, 1), ConvRuntime(threads=1, min_work=0, block_bytes=1, algorithm=algorithm))
    three = _grads(x, w, b, (1, 1), (1, 1), ConvRuntime(threads=3, min_work=0, block_bytes=1, algorithm=algorithm))
    for a, c in zip(one, three):
        np.testing.assert_array_equal(a, c)
