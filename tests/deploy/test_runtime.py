"""The packed arithmetic: XNOR-popcount against integer matmuls of ±1 values, bit packing,
and the W1A1 convolution's padding correction (exact integers)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.deploy.runtime import (
    BinaryConvWeights,
    integer_gemm,
    integer_gemm_reference,
    pack_last_axis,
    xnor_gemm,
    xnor_gemm_reference,
)
from tinyquant.nn.im2col import im2col


def signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int64)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 40), o=st.integers(1, 9), k=st.integers(1, 200), seed=st.integers(0, 2**16))
def test_xnor_popcount_dot_products_equal_the_integer_matmul_of_plus_minus_one(m, o, k, seed):
    rng = np.random.default_rng(seed)
    a, w = signs(rng, (m, k)), signs(rng, (o, k))
    expected = a @ w.T                                       # plain integers, no bits
    pa, pw = pack_last_axis(a > 0), pack_last_axis(w > 0)
    np.testing.assert_array_equal(xnor_gemm_reference(pa, pw, k), expected)
    np.testing.assert_array_equal(xnor_gemm(pa, pw, k, tile=7), expected)


@pytest.mark.parametrize("channels, dtype, words", [(1, np.uint8, 1), (16, np.uint16, 1), (32, np.uint32, 1),
                                                    (64, np.uint64, 1), (100, np.uint64, 2)])
def test_channel_bits_pack_little_endian_into_the_smallest_word(channels, dtype, words):
    bits = np.zeros((3, channels), bool)
    bits[1, 0] = bits[2, channels - 1] = True
    packed = pack_last_axis(bits)
    assert packed.dtype == dtype and packed.shape == (3, words)
    assert packed[0].sum() == 0 and packed[1, 0] == 1
    last = channels - 1
    assert int(packed[2, last // (8 * packed.itemsize)]) == 1 << (last % (8 * packed.itemsize))


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 0), (2, 0)])
@pytest.mark.parametrize("channels", [3, 16, 64])
def test_w1a1_convolution_equals_the_integer_convolution_of_signs_with_zero_padding(stride, padding, channels):
    rng = np.random.default_rng(channels + 10 * stride + padding)
    x = rng.standard_normal((2, channels, 7, 6)).astype(np.float32)
    x[0, 0, 0, :3] = 0.0                                     # sign(0) = +1
    w = signs(rng, (5, channels, 3, 3))
    s = np.where(x >= 0, 1, -1)
    cols = im2col(s, 3, 3, (stride, stride), (padding, padding))      # zero padding
    ho = (7 + 2 * padding - 3) // stride + 1
    expected = np.matmul(w.reshape(5, -1), cols).reshape(2, 5, ho, -1)
    conv = BinaryConvWeights(w.astype(np.int8), w.shape, (stride, stride), (padding, padding))
    np.testing.assert_array_equal(conv(x), expected)
    np.testing.assert_array_equal(conv(x, gemm=xnor_gemm_reference), expected)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 600), levels=st.sampled_from([(1, 1), (3, 3), (7, 15), (127, 255)]),
       seed=st.integers(0, 2**16))
def test_integer_gemm_equals_the_int64_product_bit_for_bit(k, levels, seed):
    rng = np.random.default_rng(seed)
    qw, qx = levels
    w = rng.integers(-qw, qw + 1, size=(5, k))
    cols = rng.integers(0, qx + 1, size=(2, k, 3))
    expected = np.matmul(w.astype(np.int64), cols.astype(np.int64))
    np.testing.assert_array_equal(integer_gemm_reference(w, cols), expected)
    got = integer_gemm(w, cols)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)


def test_integer_gemm_falls_back_to_integer_arithmetic_beyond_float32s_exact_range():
    k = 600
    w = np.full((1, k), 127)
    cols = np.full((1, k, 1), 255)
    cols[0, 0, 0] = 254                                     # 127·255·600 > 2^24: not exact in float32
    expected = int(127 * 255 * (k - 1) + 127 * 254)
    assert integer_gemm(w, cols)[0, 0, 0] == expected
