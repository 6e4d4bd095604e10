"""The engine: accumulation, reused nodes, deep graphs, no_grad, custom Functions."""

import sys

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import Function, Tensor
from tinyquant.autograd import unbroadcast


def test_reused_node_accumulates_both_paths():
    a = Tensor([2.0, -1.0], requires_grad=True)
    b = a + a
    c = b * b  # c = 4a², dc/da = 8a
    c.sum().backward()
    np.testing.assert_array_equal(a.grad, 8 * a.data)


def test_backward_twice_accumulates_into_leaf_grad():
    a = Tensor([3.0], requires_grad=True)
    (a * 2).sum().backward()
    (a * 2).sum().backward()
    np.testing.assert_array_equal(a.grad, [4.0])


def test_chain_deeper_than_the_recursion_limit():
    depth = 5000
    assert depth > sys.getrecursionlimit() // 2
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(depth):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**depth], rtol=1e-5)


def test_no_grad_builds_no_graph():
    x = Tensor([1.0], requires_grad=True)
    with tq.no_grad():
        y = x * 3
    assert not y.requires_grad and y.is_leaf
    assert tq.is_grad_enabled()


def test_unbroadcast_sums_over_broadcast_axes():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (1, 4)).shape == (1, 4)
    np.testing.assert_array_equal(unbroadcast(g, (1, 4)), np.full((1, 4), 6.0))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)


def test_custom_function_sees_its_saved_context_and_skips_unneeded_grads():
    calls = {}

    class Cube(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x**3

        @staticmethod
        def backward(ctx, grad):
            calls["needs"] = ctx.needs_input_grad
            (x,) = ctx.saved
            return grad * 3 * ctx.scale * x**2, None

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    Cube.apply(x, 0.5).sum().backward()
    np.testing.assert_allclose(x.grad, 1.5 * x.data**2)
    assert calls["needs"] == (True, False)
    tq.gradcheck(lambda t: Cube.apply(t, 2.0), np.array([0.3, -1.2]))


def test_wrong_number_of_gradients_is_reported():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradients for 2 inputs"):
        Bad.apply(a, b).sum().backward()


def test_backward_on_non_scalar_needs_a_gradient():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="non-scalar"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_numpy_array_on_the_left_defers_to_tensor():
    x = Tensor(np.ones(2), requires_grad=True)
    y = np.array([2.0, 3.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_graph_frees_an_intermediate_array_that_no_backward_saved():
    """The graph keeps its nodes, not their outputs: y = x + 1 is read by no backward, so its
    array goes as soon as the caller drops y, and the gradient still reaches x."""
    import gc
    import weakref

    x = Tensor(np.arange(3.0), requires_grad=True)
    y = x + 1.0
    z = (y * 1.0).sum()           # Mul saves its inputs' arrays; here only the constant's matters
    data = weakref.ref(y.data)
    del y
    gc.collect()
    z.backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))
    w = x + 2.0
    loss = w.sum()
    ref = weakref.ref(w.data)
    del w
    gc.collect()
    assert ref() is None          # Add and Sum save nothing of w
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * np.ones(3))
    assert data() is not None     # Mul(y, 1.0) saved y's array for its backward


def test_retain_grad_called_after_the_tensor_was_used_still_works():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    z = (y * y).sum()
    y.retain_grad()
    z.backward()
    np.testing.assert_allclose(y.grad, 2 * y.data)
