"""Gradient checks of every op, generated over shapes and values (a test factory).

Each case is a function of Tensors and a recipe for its inputs; hypothesis draws the
shapes (including broadcasting pairs such as (1,) with (3, 1)) and the values, and
``gradcheck`` compares the backward with central differences in float64. Inputs are
kept off kinks and out of invalid domains (log of a positive number, |x| away from 0).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyquant as tq

FLOATS = st.floats(-3, 3, allow_nan=False, width=64)
SETTINGS = settings(max_examples=25, deadline=None)


def arrays(shape, elements=FLOATS):
    return hnp.arrays(np.float64, shape, elements=elements)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast together, e.g. (1,) and (3, 1)."""
    a, b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)).input_shapes
    return draw(arrays(a)), draw(arrays(b))


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "where": lambda a, b: tq.where(checkerboard(np.broadcast_shapes(a.shape, b.shape)), a, b),
}


def checkerboard(shape):
    """A value-independent condition (comparing values would put kinks in the test)."""
    return np.indices(shape).sum(axis=0) % 2 == 0 if shape else np.array(True)


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(pair=broadcast_pair())
def test_binary_op_gradient_matches_finite_differences_under_broadcasting(name, pair):
    a, b = pair
    tq.gradcheck(BINARY[name], a, b)


UNARY = {
    "neg": (lambda x: -x, FLOATS),
    "exp": (lambda x: x.exp(), FLOATS),
    "log": (lambda x: x.log(), st.floats(0.1, 5, width=64)),
    "sqrt": (lambda x: x.sqrt(), st.floats(0.1, 5, width=64)),
    "abs": (lambda x: x.abs(), st.floats(0.1, 3, width=64)),
    "pow_scalar": (lambda x: x**3, FLOATS),
    "pow_tensor": (lambda x: x ** (x * 0.5), st.floats(0.2, 3, width=64)),
    "rpow": (lambda x: 2.0**x, FLOATS),
    "tanh": (lambda x: x.tanh(), FLOATS),
    "sigmoid": (lambda x: x.sigmoid(), FLOATS),
    "relu": (lambda x: x.relu(), st.floats(0.05, 3, width=64) | st.floats(-3, -0.05, width=64)),
    "clip": (lambda x: x.clip(-1.0, 1.0), st.floats(-0.95, 0.95, width=64)
             | st.floats(1.05, 3, width=64)),
    "sum_all": (lambda x: x.sum(), FLOATS),
    "mean_all": (lambda x: x.mean(), FLOATS),
    "sum_last_keepdims": (lambda x: x.sum(axis=-1, keepdims=True), FLOATS),
    "mean_first": (lambda x: x.mean(axis=0), FLOATS),
    "max_all": (lambda x: x.max(), FLOATS),
    "max_first_keepdims": (lambda x: x.max(axis=0, keepdims=True), FLOATS),
    "reshape": (lambda x: x.reshape(-1) * 1.5, FLOATS),
    "transpose": (lambda x: x.transpose() * 2.0, FLOATS),
    "slice": (lambda x: x[..., ::2] * 3.0, FLOATS),
    "fancy_index_repeated": (lambda x: x.reshape(-1)[[0, 0, -1]] * 2.0, FLOATS),
    "concatenate": (lambda x: tq.concatenate([x, x * 2.0], axis=0), FLOATS),
    "log_softmax": (lambda x: tq.log_softmax(x, axis=-1), FLOATS),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_op_gradient_matches_finite_differences(name, data):
    fn, elements = UNARY[name]
    shape = data.draw(shapes)
    x = data.draw(arrays(shape, elements))
    if name.startswith("max"):  # unique maxima: the gradient is undefined at ties
        x = x + np.arange(x.size).reshape(x.shape) * 1e-2
    tq.gradcheck(fn, x)


@SETTINGS
@given(data=st.data())
def test_matmul_gradient_matches_finite_differences_for_batched_and_vector_operands(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(st.sampled_from([(), (2,), (1, 3)]))
    form = data.draw(st.sampled_from(["mm", "bmm", "vec_mat", "mat_vec", "dot"]))
    shapes_by_form = {"mm": ((n, k), (k, m)), "bmm": (batch + (n, k), (k, m)),
                      "vec_mat": ((k,), batch + (k, m)), "mat_vec": (batch + (n, k), (k,)),
                      "dot": ((k,), (k,))}
    sa, sb = shapes_by_form[form]
    tq.gradcheck(lambda a, b: a @ b, data.draw(arrays(sa)), data.draw(arrays(sb)))


@SETTINGS
@given(data=st.data())
def test_cross_entropy_gradient_matches_finite_differences(data):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 6))
    logits = data.draw(arrays((n, c)))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    tq.gradcheck(lambda z: tq.cross_entropy(z, labels), logits)


def test_cross_entropy_equals_negative_log_softmax_of_the_label():
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(4), y]))
    assert tq.cross_entropy(tq.Tensor(z), y).item() == pytest.approx(expected, rel=1e-12)


def test_relu_is_max_with_zero_at_the_edges_and_its_gradient_is_zero_at_and_below_zero():
    values = np.array([-np.inf, -2.0, -0.0, 0.0, 1e-30, 3.0, np.inf, np.nan], dtype=np.float32)
    x = tq.Tensor(values, requires_grad=True)
    y = x.relu()
    np.testing.assert_array_equal(y.data, np.array([0, 0, 0, 0, 1e-30, 3, np.inf, np.nan], np.float32))
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 0, 0, 1, 1, 1, 0])


def test_relu_without_a_gradient_to_compute_keeps_no_mask():
    ctx = tq.autograd.Context((False,))  # inference: the input needs no gradient
    np.testing.assert_array_equal(tq.ops.ReLU.forward(ctx, np.array([-1.0, 2.0])), [0.0, 2.0])
    assert ctx.saved == ()


def test_log_softmax_is_finite_for_huge_logits():
    z = tq.Tensor(np.array([[1e4, 0.0, -1e4]]), requires_grad=True)
    out = tq.log_softmax(z)
    assert np.all(np.isfinite(out.data[:, :2]))
    tq.cross_entropy(z, np.array([1])).backward()
    assert np.all(np.isfinite(z.grad))


def test_gradients_flow_through_non_contiguous_inputs():
    base = np.random.default_rng(1).standard_normal((4, 6))
    x = base.T[::2]  # a strided, non-contiguous view
    assert not x.flags["C_CONTIGUOUS"]
    tq.gradcheck(lambda t: (t * t).sum(axis=0).tanh(), x)
    tq.gradcheck(lambda a, b: a @ b, x, base[:, :4])


def test_float32_stays_float32_and_float64_stays_float64():
    for dtype in (np.float32, np.float64):
        x = tq.Tensor(np.ones((2, 3), dtype=dtype), requires_grad=True)
        y = (x * 2 + 1.5).exp().sum()
        y.backward()
        assert y.dtype == dtype and x.grad.dtype == dtype


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: tq.cross_entropy(tq.Tensor(np.zeros((2, 3))), np.array([0, 3])), "label 3"),
        (lambda: tq.cross_entropy(tq.Tensor(np.zeros((2, 3))), np.array([0])), "shape"),
        (lambda: tq.cross_entropy(tq.Tensor(np.zeros(3)), np.array([0])), "(N, C)"),
        (lambda: tq.cross_entropy(tq.Tensor(np.zeros((1, 3))), np.array([0.5])), "integers"),
        (lambda: tq.concatenate([]), "at least one"),
        (lambda: tq.cross_entropy(tq.Tensor(np.zeros((0, 3))), np.zeros(0, np.int64)), "empty"),
    ],
)
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_logits_are_refused_rather_than_truncated(dtype):
    """Integer logits once gave a cross-entropy of 1 instead of 1.4076 (truncated to int)."""
    logits = tq.Tensor(np.array([[1, 2, 0], [0, 1, 1]]).astype(dtype))
    with pytest.raises(TypeError, match=f"cross_entropy: logits must be floating-point .*got dtype "
                                        f"{np.dtype(dtype)}"):
        tq.cross_entropy(logits, np.array([0, 2]))
    z = logits.data.astype(np.float64)                  # cast explicitly: the documented remedy
    as_float = tq.cross_entropy(tq.Tensor(z), np.array([0, 2])).item()
    lse = np.log(np.exp(z).sum(axis=1))
    assert as_float == pytest.approx(((lse[0] - z[0, 0]) + (lse[1] - z[1, 2])) / 2, rel=1e-12)
