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
import weakref
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
            out._node = _Node(cls, ctx, tuple(_edge(a) if n else None for a, n in zip(args, needs)), out)
        return out


def _edge(tensor):
    """What the graph keeps of an input that needs a gradient: a leaf Tensor itself (its
    ``.grad`` is filled in), else only the _Node that made it — not its data, so an
    intermediate array that no backward saved is freed as soon as the forward drops it."""
    return tensor if tensor._node is None else tensor._node


class _Node:
    """Where a non-leaf Tensor came from: its Function, the saved context, and its inputs'
    graph entries (leaf Tensors or _Nodes, ``None`` for inputs that need no gradient).

    It remembers its output's shape and dtype (to undo broadcasting) and the output itself
    only weakly (for ``retain_grad`` and for reading the graph, :attr:`output`)."""

    __slots__ = ("function", "ctx", "inputs", "shape", "dtype", "retain_grad", "_output")

    def __init__(self, function: type[Function], ctx: Context, inputs: tuple[Any, ...], output):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.shape, self.dtype = output.shape, output.dtype
        self.retain_grad = False
        self._output = weakref.ref(output)

    @property
    def output(self):
        """The Tensor this node made, or None once nothing else holds it."""
        return self._output()

    def parents(self):
        return [e for e in self.inputs if e is not None]


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
    """The graph behind ``root``, each entry after all its inputs: leaf Tensors that require
    grad and the _Nodes of the operations (a node's ``.function`` and ``.output``).

    Iterative depth-first search: an entry is appended once all of its parents have been.
    """
    start = root._node if root._node is not None else root
    order, visited = [], set()
    stack = [(start, False)]
    while stack:
        entry, parents_done = stack.pop()
        if parents_done:
            order.append(entry)
            continue
        if id(entry) in visited:
            continue
        visited.add(id(entry))
        stack.append((entry, True))
        if isinstance(entry, _Node):
            stack.extend((p, False) for p in entry.parents() if id(p) not in visited)
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

    order = topological_order(root)
    grads = {id(order[-1]): grad}
    for entry in reversed(order):
        g = grads.pop(id(entry), None)
        if g is None:
            continue
        if not isinstance(entry, _Node):                  # a leaf: accumulate into .grad
            entry.grad = g.copy() if entry.grad is None else entry.grad + g
            continue
        node = entry
        if node.retain_grad and (kept := node.output) is not None:
            kept.grad = g.copy() if kept.grad is None else kept.grad + g
        input_grads = node.function.backward(node.ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for inp, ig in zip(node.inputs, input_grads):
            if ig is None or inp is None:
                continue
            ig = unbroadcast(np.asarray(ig), inp.shape).astype(inp.dtype, copy=False)
            key = id(inp)
            grads[key] = ig if key not in grads else grads[key] + ig
