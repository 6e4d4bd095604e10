"""The reverse-mode engine: functions with a saved context, and backpropagation.

Every differentiable operation in tinyquant -- an addition, a convolution, a quantizer
with its straight-through estimator -- is a :class:`Function` with two static methods
written side by side::

    class Square(Function):
        @staticmethod
        def forward(ctx, x):            # x is a plain ndarray
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):        # grad = dL/d(output), an ndarray
            (x,) = ctx.saved
            return 2 * x * grad         # dL/dx, one gradient per Tensor input

    y = Square.apply(x)                 # x is a Tensor; y is a Tensor on the graph

``forward`` and ``backward`` work on raw NumPy arrays; the graph bookkeeping lives here
and nowhere else. Positional arguments that are Tensors are the differentiable inputs;
any other argument (an axis, a stride, a Generator) is passed through unchanged and
gets ``None`` as its gradient.

Broadcasting is undone in exactly one place, :func:`unbroadcast`, applied by the
engine to every gradient a ``backward`` returns, so an op's backward may return a
gradient in the broadcast shape of its output.

:func:`backward` orders the graph by an *iterative* depth-first topological sort
(graphs deeper than Python's recursion limit work) and *accumulates* gradients, so a
node used twice receives the sum of both contributions.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

_GRAD_ENABLED = True


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return _GRAD_ENABLED


@contextlib.contextmanager
def no_grad():
    """Context manager: operations inside build no graph (evaluation, optimizer steps)."""
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


class Context:
    """What a Function's forward leaves for its backward.

    ``ctx.save_for_backward(a, b)`` stores arrays, read back as ``ctx.saved``; any other
    value can be kept as an attribute (``ctx.axis = 1``). ``ctx.needs_input_grad[i]``
    tells whether the i-th positional input needs a gradient, so a backward can skip
    work nobody asked for.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.saved: tuple = ()

    def save_for_backward(self, *values) -> None:
        self.saved = values


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    @staticmethod
    def forward(ctx: Context, *args, **kwargs) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray):  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = Context(needs)
        out = Tensor(cls.forward(ctx, *raw, **kwargs))
        if _GRAD_ENABLED and any(needs):
            out.requires_grad = True
            out._node = _Node(cls, ctx, tuple(args))
        return out


class _Node:
    """Where a non-leaf Tensor came from: its Function, the saved context, its inputs."""

    __slots__ = ("function", "ctx", "inputs")

    def __init__(self, function: type[Function], ctx: Context, inputs: tuple[Any, ...]):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs

    def parents(self):
        from .tensor import Tensor

        return [t for t in self.inputs if isinstance(t, Tensor) and t.requires_grad]


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, to get ``shape``.

    If y = x + b with x of shape (3, 1) and b of shape (1,), y has shape (3, 1) and
    dL/db = sum of dL/dy over every axis b was broadcast along.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def topological_order(root) -> list:
    """Tensors reachable from ``root`` that require grad, each after all its inputs.

    Iterative depth-first search: a node is appended once all of its parents have been.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, parents_done = stack.pop()
        if parents_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            stack.extend((p, False) for p in tensor._node.parents() if id(p) not in visited)
    return order


def backward(root, grad: np.ndarray | None = None) -> None:
    """Backpropagate from ``root``: accumulate dL/dleaf into each leaf's ``.grad``.

    ``grad`` defaults to 1 for a single-element root (a loss). Non-leaf tensors receive
    ``.grad`` only if ``retain_grad()`` was called on them.
    """
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph")
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: grad must be given for a non-scalar output (shape {root.shape})"
            )
        grad = np.ones_like(root.data)
    grad = np.asarray(grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, expected {root.shape}")

    grads = {id(root): grad}
    for tensor in reversed(topological_order(root)):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        node = tensor._node
        if node is None or tensor._retain_grad:
            tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
        if node is None:
            continue
        input_grads = node.function.backward(node.ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for inp, ig in zip(node.inputs, input_grads):
            if ig is None or not getattr(inp, "requires_grad", False):
                continue
            ig = unbroadcast(np.asarray(ig), inp.shape).astype(inp.dtype, copy=False)
            key = id(inp)
            grads[key] = ig if key not in grads else grads[key] + ig
