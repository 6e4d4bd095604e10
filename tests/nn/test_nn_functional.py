"""The one dtype policy of the real-valued ops under ``nn.functional``: integer and bool
inputs are refused with a TypeError naming the op, the argument and the dtype, never
computed in integers (which truncates) -- generated over dtypes and shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn import functional as F

W2 = tq.Tensor(np.ones((3, 4), np.float32))
W4 = tq.Tensor(np.ones((2, 4, 1, 1), np.float32))
W3 = tq.Tensor(np.ones((2, 4, 1), np.float32))

# op name -> (function of one input Tensor, number of input dimensions)
OPS = {
    "cross_entropy": (lambda x: F.cross_entropy(x, np.zeros(x.shape[0], np.int64)), 2),
    "softmax": (lambda x: F.softmax(x, dim=1), 2),
    "log_softmax": (lambda x: F.log_softmax(x, dim=1), 2),
    "linear": (lambda x: F.linear(x, W2), 2),
    "batch_norm": (lambda x: F.batch_norm(x, None, None, training=True), 2),
    "dropout": (lambda x: F.dropout(x, 0.5, rng=0), 2),
    "conv2d": (lambda x: F.conv2d(x, W4), 4),
    "conv1d": (lambda x: F.conv1d(x, W3), 3),
    "max_pool2d": (lambda x: F.max_pool2d(x, 1), 4),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 1), 3),
}

integer_dtypes = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.bool_])


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=10, deadline=None)
@given(dtype=integer_dtypes, batch=st.integers(2, 4))
def test_real_valued_ops_refuse_integer_input_naming_the_dtype(name, dtype, batch):
    fn, ndim = OPS[name]
    x = tq.Tensor(np.ones((batch, 4) + (2,) * (ndim - 2), dtype=dtype))
    with pytest.raises(TypeError, match=f"must be floating-point .*got dtype {np.dtype(dtype)}"):
        fn(x)


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_same_ops_accept_the_float_cast_the_error_message_suggests(name):
    fn, ndim = OPS[name]
    x = tq.Tensor(np.arange(2 * 4 * 2 ** (ndim - 2)).reshape((2, 4) + (2,) * (ndim - 2)))
    assert np.all(np.isfinite(fn(x.astype(np.float32)).data))
