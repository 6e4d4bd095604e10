"""im2col lays out every kernel window as a column; col2im is its exact adjoint."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.nn.im2col import col2im, im2col


def naive_im2col(x, kh, kw, stride, padding):
    """cols[n, (c, i, j), (ho, wo)] = x_pad[n, c, ho*sh + i, wo*sw + j], by explicit loops."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    cols = np.zeros((n, c * kh * kw, ho * wo), x.dtype)
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    for r in range(ho):
                        for s in range(wo):
                            cols[b, (ch * kh + i) * kw + j, r * wo + s] = xp[b, ch, r * sh + i, s * sw + j]
    return cols


@st.composite
def geometries(draw):
    """A small input shape with a kernel, stride and padding that fit it."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 7))
    w = draw(st.integers(max(1, kw - 2 * pw), 7))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return shape, kh, kw, stride, (ph, pw)


@settings(max_examples=60, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_im2col_matches_naive_window_extraction(geometry, seed):
    shape, kh, kw, stride, padding = geometry
    x = np.random.default_rng(seed).standard_normal(shape)
    np.testing.assert_array_equal(im2col(x, kh, kw, stride, padding), naive_im2col(x, kh, kw, stride, padding))


@settings(max_examples=80, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_col2im_is_adjoint_of_im2col(geometry, seed):
    """⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x and y."""
    shape, kh, kw, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    cols = im2col(x, kh, kw, stride, padding)
    y = rng.standard_normal(cols.shape)
    back = col2im(y, shape, kh, kw, stride, padding)
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols * y), np.sum(x * back), rtol=1e-12, atol=1e-12)


def test_col2im_of_ones_counts_the_windows_covering_each_pixel():
    # 1-D along the width: W = 5, k = 3, stride 1, no padding -> coverage 1, 2, 3, 2, 1
    counts = col2im(np.ones((1, 3, 3)), (1, 1, 1, 5), 1, 3, (1, 1), (0, 0))
    np.testing.assert_array_equal(counts[0, 0, 0], [1, 2, 3, 2, 1])
    # stride 2 with k = 3 on W = 7: windows start at 0, 2, 4 -> coverage 1, 1, 2, 1, 2, 1, 1
    counts = col2im(np.ones((1, 3, 3)), (1, 1, 1, 7), 1, 3, (1, 2), (0, 0))
    np.testing.assert_array_equal(counts[0, 0, 0], [1, 1, 2, 1, 2, 1, 1])


def test_im2col_and_col2im_keep_float32():
    x = np.ones((2, 3, 6, 6), np.float32)
    cols = im2col(x, 3, 3, (2, 2), (1, 1))
    assert cols.dtype == np.float32
    assert col2im(cols, x.shape, 3, 3, (2, 2), (1, 1)).dtype == np.float32
