"""Winograd F(2×2, 3×3) against the im2col convolution and the one-tile-at-a-time reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn.convolution import conv2d
from tinyquant.nn.winograd import (
    AT,
    BT,
    G,
    input_transform,
    input_transform_adjoint,
    kernel_transform,
    kernel_transform_adjoint,
    output_transform,
    output_transform_adjoint,
    tiles,
    winograd_backward,
    winograd_conv2d_reference,
    winograd_forward,
)


def _winograd_all(x, k, p, dy):
    """y, dx, dW of one block by the fast functions."""
    y = winograd_forward(x, k, p)
    dx, du = winograd_backward(dy, x, k, p)
    return y, dx, kernel_transform_adjoint(du)


def _im2col_conv(x, w, padding, dy):
    """y, dx, dW by the im2col path (the readable reference convolution)."""
    xt, wt = tq.Tensor(x, requires_grad=True), tq.Tensor(w, requires_grad=True)
    y = conv2d(xt, wt, padding=padding)
    y.backward(dy)
    return y.data, xt.grad, wt.grad


def _direct_conv(x, w, padding):
    """y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x_pad[n, c, i + a, j + b], written out."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = xp.shape[2] - 2, xp.shape[3] - 2
    y = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for a in range(3):
        for b in range(3):
            y += np.einsum("oc,ncij->noij", w[:, :, a, b], xp[:, :, a:a + ho, b:b + wo])
    return y


shapes = st.tuples(
    st.integers(1, 3),   # N
    st.integers(1, 4),   # C
    st.integers(1, 4),   # O
    st.integers(3, 9),   # H
    st.integers(3, 9),   # W
    st.integers(0, 2),   # padding
)


def _float64_case(shape, seed):
    """x, kernel, padding and an upstream gradient dy for one drawn (N, C, O, H, W, padding)."""
    n, c, o, h, w, p = shape
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))
    return x, k, p, rng.standard_normal((n, o, h + 2 * p - 2, w + 2 * p - 2))


def test_one_tile_is_the_minimal_filtering_formula():
    # F(2, 3) in one dimension: y0 = d0 g0 + d1 g1 + d2 g2, y1 = d1 g0 + d2 g1 + d3 g2.
    d, g = np.array([1.0, 2.0, -3.0, 5.0]), np.array([0.5, -1.0, 2.0])
    y = AT @ ((G @ g) * (BT @ d))
    np.testing.assert_allclose(y, [d[0] * g[0] + d[1] * g[1] + d[2] * g[2],
                                   d[1] * g[0] + d[2] * g[1] + d[3] * g[2]], rtol=0, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_reference_matches_direct_convolution(shape, seed):
    n, c, o, h, w, p = shape
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))
    np.testing.assert_allclose(winograd_conv2d_reference(x, k, p), _direct_conv(x, k, p), atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_forward_and_both_gradients_match_im2col_in_float64(shape, seed):
    x, k, p, dy = _float64_case(shape, seed)
    y_ref, dx_ref, dw_ref = _im2col_conv(x, k, p, dy)
    y, dx, dw = _winograd_all(x, k, p, dy)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dw, dw_ref, rtol=0, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_dx_alone_needs_no_input_its_shape_follows_from_dy(shape, seed):
    x, k, p, dy = _float64_case(shape, seed)
    _, dx_ref, _ = _im2col_conv(x, k, p, dy)
    dx, du = winograd_backward(dy, None, k, p, need_dw=False)
    assert du is None and dx.shape == x.shape
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="dW needs the input x"):
        winograd_backward(dy, None, k, p)


def test_float32_error_is_a_few_ulps_of_the_output_scale():
    # ResNet-20's 16-channel layer at a small batch: the documented float32 bound is
    # max |y_wino − y_im2col| ≤ 1e-5 · max |y| (measured about 1e-6 here).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    k = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    dy = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    y_ref, dx_ref, dw_ref = _im2col_conv(x, k, 1, dy)
    y, dx, dw = _winograd_all(x, k, 1, dy)
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    for got, ref in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
        assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("h, w, p", [(8, 8, 1), (7, 5, 1), (6, 9, 0)])
def test_transforms_are_adjoint_pairs(h, w, p):
    # ⟨T a, b⟩ = ⟨a, Tᵀ b⟩ for the input and output transforms: the backward is exact.
    rng = np.random.default_rng(1)
    _, _, th, tw = tiles(h, w, p)
    p_ = rng.standard_normal((2 * th + 2, 2, tw + 1, 2, 3))            # P (Hp, parity, q, N, C)
    dv = rng.standard_normal((16, th * tw * 2, 3))
    assert np.vdot(input_transform(p_), dv) == pytest.approx(np.vdot(p_, input_transform_adjoint(dv, th, tw)), rel=1e-12)
    m = rng.standard_normal((16, th * tw * 2, 5))
    dy = rng.standard_normal((th, 2, 2, tw, 2, 5))                     # Y's layout
    assert np.vdot(output_transform(m, th, tw), dy) == pytest.approx(
        np.vdot(m, output_transform_adjoint(dy)), rel=1e-12)
    w, du = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal((4, 4, 5, 3))
    assert np.vdot(kernel_transform(w), du) == pytest.approx(np.vdot(w, kernel_transform_adjoint(du)), rel=1e-12)


@pytest.mark.parametrize("h, w, p", [(8, 8, 1), (5, 7, 0)])
def test_input_transform_is_bt_d_b_of_every_tile(h, w, p):
    # the vectorized transform against the paper's formula, tile by tile, with the matrix Bᵀ
    rng = np.random.default_rng(2)
    _, _, th, tw = tiles(h, w, p)
    p_ = rng.standard_normal((2 * th + 2, 2, tw + 1, 2, 3))            # P[h, s, q] = x_pad[h, 2q + s]
    xpad = p_.transpose(0, 2, 1, 3, 4).reshape(2 * th + 2, 2 * tw + 2, 2, 3)
    v = input_transform(p_).reshape(4, 4, th, tw, 2, 3)
    for i in range(th):
        for j in range(tw):
            d = xpad[2 * i:2 * i + 4, 2 * j:2 * j + 4]                   # (4, 4, N, C)
            np.testing.assert_allclose(v[:, :, i, j], np.einsum("ak,klnc,bl->abnc", BT, d, BT), atol=1e-12)


def test_spatial_major_places_every_pixel_by_parity():
    from tinyquant.nn.winograd import spatial_major

    x = np.arange(2 * 3 * 5 * 6, dtype=float).reshape(2, 3, 5, 6)
    for padding in (0, 1, 2, (1, 2)):
        ph, pw = (padding, padding) if np.isscalar(padding) else padding
        _, _, th, tw = tiles(5, 6, padding)
        p_ = spatial_major(x, padding, th, tw)
        for n, c, h, w in np.ndindex(*x.shape):
            wpad = w + pw
            assert p_[h + ph, wpad % 2, wpad // 2, n, c] == x[n, c, h, w]
        assert p_.sum() == x.sum()                                      # zeros elsewhere


def test_blocks_cover_the_batch_in_fixed_spans():
    from tinyquant.nn.parallel import blocks, budget_blocks

    assert blocks(20, 8) == [(0, 8), (8, 16), (16, 20)]
    assert blocks(3, 8) == [(0, 3)]
    assert budget_blocks(20, 100, 800) == blocks(20, 8) and budget_blocks(3, 100, 1) == blocks(3, 1)


# ------------------------------------------------------------ through conv2d and autograd


def _conv_all_grads(x, w, b, padding, stride, runtime):
    xt, wt, bt = (tq.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d(xt, wt, bt, stride=stride, padding=padding, runtime=runtime)
    y.backward(np.cos(y.data))
    return y.data, xt.grad, wt.grad, bt.grad


def test_winograd_results_do_not_depend_on_the_thread_count():
    # fixed blocks, dU summed in block order: 1 and 3 threads give the same bits
    from tinyquant.nn.parallel import ConvRuntime

    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((37, 4, 6, 6), (3, 4, 3, 3), (3,)))
    one = _conv_all_grads(x, w, b, 1, 1, ConvRuntime(threads=1, min_work=1, algorithm="winograd", block_bytes=1))
    three = _conv_all_grads(x, w, b, 1, 1, ConvRuntime(threads=3, min_work=1, algorithm="winograd", block_bytes=1))
    for a, c in zip(one, three):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_forced_winograd_matches_im2col_with_bias_and_batch_chunks(threads):
    from tinyquant.nn.parallel import ConvRuntime

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((40, 5, 10, 9)), rng.standard_normal((6, 5, 3, 3)), rng.standard_normal(6)
    ref = _conv_all_grads(x, w, b, (1, 2), 1, ConvRuntime(threads=threads, min_work=1, algorithm="im2col", block_bytes=1))
    got = _conv_all_grads(x, w, b, (1, 2), 1, ConvRuntime(threads=threads, min_work=1, algorithm="winograd", block_bytes=1))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)


def test_conv2d_winograd_passes_gradcheck():
    from tinyquant.nn.parallel import ConvRuntime

    rt = ConvRuntime(threads=1, algorithm="winograd")
    rng = np.random.default_rng(4)
    x = tq.Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = tq.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = tq.Tensor(rng.standard_normal(3), requires_grad=True)
    assert tq.gradcheck(lambda x, w, b: conv2d(x, w, b, padding=1, runtime=rt), x, w, b)


def test_forcing_winograd_leaves_other_convolutions_on_im2col():
    from tinyquant.nn.convolution import Conv2dFunction
    from tinyquant.nn.convolution import conv_algorithm
    from tinyquant.nn.winograd import WinogradConv2dFunction

    assert conv_algorithm("winograd", (1, 1, 8, 8), (1, 1, 3, 3), (1, 1)) == "winograd"
    assert conv_algorithm("winograd", (1, 1, 8, 8), (1, 1, 3, 3), (2, 2)) == "im2col"   # stride 2
    assert conv_algorithm("winograd", (1, 1, 8, 8), (1, 1, 5, 5), (1, 1)) == "im2col"   # 5×5
    assert conv_algorithm("im2col", (1, 1, 8, 8), (1, 1, 3, 3), (1, 1)) == "im2col"
    assert conv_algorithm("rows", (1, 1, 8, 8), (1, 1, 5, 5), (1, 1)) == "rows"
    assert conv_algorithm("rows", (1, 1, 8, 8), (1, 1, 3, 3), (2, 1)) == "im2col"
    from tinyquant.nn.parallel import ConvRuntime

    rt = ConvRuntime(threads=1, algorithm="winograd")
    x = tq.Tensor(np.ones((1, 1, 8, 8)), requires_grad=True)
    y = conv2d(x, tq.Tensor(np.ones((1, 1, 3, 3))), stride=2, padding=1, runtime=rt)
    assert y._node.function is Conv2dFunction and y.shape == (1, 1, 4, 4)
    y = conv2d(x, tq.Tensor(np.ones((1, 1, 3, 3))), padding=1, runtime=rt)
    assert y._node.function is WinogradConv2dFunction


def test_unknown_algorithm_is_refused_with_its_name():
    from tinyquant.nn.parallel import ConvRuntime

    with pytest.raises(ValueError, match="algorithm must be one of auto, im2col, rows, winograd, got 'fft'"):
        ConvRuntime(algorithm="fft")
