"""The differentiable operations on Tensors, one Function each.

Each ``forward`` takes and returns NumPy arrays; each ``backward`` receives dL/d(out)
and returns dL/d(input) for every positional input (``None`` where no gradient
exists). Gradients may come back in the broadcast shape: the engine reduces them
(:func:`tinyquant.autograd.unbroadcast`).
"""

from __future__ import annotations

import numpy as np

from .autograd import Function
from .tensor import Tensor, _check_dim

# ---------------------------------------------------------------- arithmetic


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # d(a+b)/da = d(a+b)/db = 1


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        da = grad * b if ctx.needs_input_grad[0] else None
        db = grad * a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        da = grad / b if ctx.needs_input_grad[0] else None
        db = -grad * a / (b * b) if ctx.needs_input_grad[1] else None  # d(a/b)/db = -a/b²
        return da, db


class Pow(Function):
    """a ** b; d/da = b·a^(b-1), d/db = a^b·log a (only where a > 0)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved
        da = grad * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        db = None
        if ctx.needs_input_grad[1]:
            positive = a > 0
            db = grad * out * np.log(np.where(positive, a, 1)) * positive
        return da, db


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class MatMul(Function):
    """a @ b with NumPy's rules (batched, 1-D operands promoted and squeezed back)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        if a.ndim == 1 and b.ndim == 1:  # inner product
            return grad * b, grad * a
        a2 = a[None, :] if a.ndim == 1 else a  # promote 1-D as NumPy does
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = g @ np.swapaxes(b2, -1, -2)  # dL/da = dL/dc · bᵀ
            if a.ndim == 1:
                da = da.reshape(-1, a.shape[0]).sum(axis=0)
        if ctx.needs_input_grad[1]:
            db = np.swapaxes(a2, -1, -2) @ g  # dL/db = aᵀ · dL/dc
            if b.ndim == 1:
                db = db.reshape(-1, b.shape[0]).sum(axis=0)
        return da, db


# --------------------------------------------------------------- elementwise


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad / a


class Abs(Function):
    """|a|; the derivative at 0 is taken as 0 (sign(0) = 0 here, a subgradient)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad * np.sign(a)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad / (2 * out)


class ReLU(Function):
    """relu(a) = max(a, 0); d relu/da = 1 where a > 0, else 0 (0 at a = 0, PyTorch's choice).

    One pass forward (``np.maximum``; ``a * (a > 0)`` took twice as long and gave NaN at
    a = −inf); the mask is kept only when a gradient will be asked for."""

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out > 0)
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved
        return grad * mask  # faster than np.where


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        # σ(a) = ½(1 + tanh(a/2)): no overflow for large |a|
        out = 0.5 * (1 + np.tanh(0.5 * a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out * (1 - out)


class Clip(Function):
    """clip(a, low, high); gradient 1 inside [low, high], 0 outside (boundaries count inside)."""

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype_in = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype_in)


class Where(Function):
    """where(condition, a, b): the gradient goes to a where condition holds, else to b."""

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved
        return grad * condition, grad * ~condition, None


# ---------------------------------------------------------------- reductions


def _expand(grad, shape, axis, keepdims):
    """Re-insert reduced axes so that ``grad`` broadcasts against the input."""
    if axis is None or keepdims:
        return grad if keepdims or axis is not None else np.reshape(grad, (1,) * len(shape))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    axes = tuple(a % len(shape) for a in axes)
    return np.expand_dims(grad, axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        g = _expand(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        out = np.mean(a, axis=axis, keepdims=keepdims)
        ctx.count = a.size // max(np.size(out), 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        g = _expand(grad, ctx.shape, ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(g, ctx.shape)


class Max(Function):
    """max over axes; the gradient is shared equally among tied maxima."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        out = np.max(a, axis=axis, keepdims=True)
        mask = a == out
        ctx.save_for_backward(mask / mask.sum(axis=axis, keepdims=True))
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return out if keepdims else np.max(a, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved
        return _expand(grad, ctx.shape, ctx.axis, ctx.keepdims) * share


# -------------------------------------------------------------------- shapes


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return np.reshape(grad, ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes=None):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = None if ctx.axes is None else np.argsort(ctx.axes)
        return np.transpose(grad, inverse)


def _is_basic_index(index) -> bool:
    """Slices, integers, None and Ellipsis only: each element is selected at most once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, np.integer, type(None), type(Ellipsis))) for i in items)


class GetItem(Function):
    """a[index]. Basic indexing scatters by assignment; fancy indexing accumulates
    with ``np.add.at`` so that repeated indices sum their gradients."""

    @staticmethod
    def forward(ctx, a, index):
        if isinstance(index, Tensor):
            index = index.data
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        full = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic_index(ctx.index):
            full[ctx.index] = grad
        else:
            np.add.at(full, ctx.index, grad)
        return full


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.splits, axis=ctx.axis))


# ------------------------------------------------------------------- losses


class LogSoftmax(Function):
    """log softmax(a)_i = a_i − max(a) − log Σ_j exp(a_j − max(a)) (stable for large logits).

    Backward: dL/da = g − softmax(a) · Σ_i g_i.
    """

    @staticmethod
    def forward(ctx, a, axis=-1):
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


class Softmax(Function):
    """softmax(a)_i = exp(a_i − max a) / Σ_j exp(a_j − max a)  (stable for large logits).

    Backward, with y = softmax(a) and g = dL/dy:  dL/da = y · (g − Σ_j g_j y_j).
    """

    @staticmethod
    def forward(ctx, a, axis=-1):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return y * (grad - (grad * y).sum(axis=ctx.axis, keepdims=True))


class CrossEntropy(Function):
    """Mean negative log-likelihood of integer labels under softmax(logits), fused.

    L = −(1/N) Σ_n log softmax(z_n)[y_n];   dL/dz_n = (softmax(z_n) − onehot(y_n)) / N.
    """

    @staticmethod
    def forward(ctx, logits, labels):
        n = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        ctx.save_for_backward(log_probs, labels)
        return np.asarray(-log_probs[np.arange(n), labels].mean(), dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        log_probs, labels = ctx.saved
        n = log_probs.shape[0]
        dz = np.exp(log_probs)
        dz[np.arange(n), labels] -= 1
        return dz * (grad / n), None


# ----------------------------------------------------- functions on tensors


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def check_floating(fn: str, name: str, x) -> None:
    """Refuse a non-floating-point input to an op whose result is real-valued.

    The policy (one for every such op: cross_entropy, log_softmax, softmax, linear,
    batch_norm, dropout, the convolutions and the poolings): integer and boolean inputs are *refused*, never
    cast, as PyTorch refuses them; computed in an integer dtype they truncate (a
    cross-entropy of 1 instead of 1.4076, a batch norm of zeros). Cast explicitly.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a tinyquant.Tensor, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{fn}: {name} must be floating-point (float32 or float64), got dtype "
                        f"{x.dtype}; cast it first, e.g. x.astype(np.float32)")


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``np.concatenate``)."""
    if len(tensors) == 0:
        raise ValueError("concatenate: expected at least one tensor, got none")
    return Concatenate.apply(*[_tensor(t) for t in tensors], axis=axis)


def where(condition, a, b) -> Tensor:
    """Elementwise ``a`` where ``condition`` holds, else ``b`` (``np.where``)."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    a = _tensor(a)
    return Where.apply(a, a._lift(b), cond)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log softmax along ``axis`` (or PyTorch's ``dim``); see :class:`LogSoftmax`."""
    check_floating("log_softmax", "input", x)
    return LogSoftmax.apply(x, axis=_check_dim("log_softmax", _one_axis("log_softmax", axis, dim), x.ndim))


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax along ``axis`` (or PyTorch's ``dim``); see :class:`Softmax`."""
    check_floating("softmax", "input", x)
    return Softmax.apply(x, axis=_check_dim("softmax", _one_axis("softmax", axis, dim), x.ndim))


def _one_axis(fn, axis, dim):
    if dim is None:
        return axis
    if axis != -1:
        raise TypeError(f"{fn}: got both axis={axis!r} and dim={dim!r}; pass one of them")
    return dim


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean cross-entropy of integer ``labels`` (shape (N,)) under ``logits`` (shape (N, C))."""
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    check_floating("cross_entropy", "logits", logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    if logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} are empty; expected at "
                         f"least one sample and one class (an empty batch has no mean loss)")
    if labels.shape != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy: labels must have shape ({logits.shape[0]},), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    num_classes = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(
            f"cross_entropy: label {bad} is out of range for {num_classes} classes "
            f"(expected 0 <= label < {num_classes})"
        )
    return CrossEntropy.apply(logits, labels)
