"""``Tensor``: an ndarray that remembers how it was computed.

A Tensor holds ``data`` (a NumPy array), ``grad`` (a NumPy array of the same shape, or
``None`` until a backward pass reaches it) and ``requires_grad``. Arithmetic on Tensors
builds a graph of :class:`~tinyquant.autograd.Function` nodes; ``loss.backward()``
walks it in reverse. The operations themselves live in :mod:`tinyquant.ops`, one
Function each, forward and backward side by side.

dtype policy: lists and Python scalars become float32 (training precision); an
ndarray keeps its dtype, so float64 inputs give float64 graphs (gradient checks).
A Python scalar combined with a Tensor takes the Tensor's dtype.
"""

from __future__ import annotations

import numpy as np

from . import autograd


def _as_array(value, dtype=None) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic)):  # arrays and NumPy scalars keep their dtype
        value = np.asarray(value)
        return value if dtype is None else value.astype(dtype, copy=False)
    arr = np.asarray(value, dtype=dtype)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


class Tensor:
    """A node of the computation graph (see the module docstring)."""

    __array_ufunc__ = None  # make ``ndarray * Tensor`` defer to Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {self.data.dtype}"
            )
        self._node = None  # set by Function.apply on results of differentiable ops

    # ----------------------------------------------------------------- basics
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> "_Size":
        """NumPy's element count (``x.size``, an int) that is also PyTorch's ``x.size()``
        (the shape) and ``x.size(dim)`` (one axis's length) when called."""
        return _Size(self.data.size, self.shape)

    def numel(self) -> int:
        """The number of elements (NumPy's ``.size``)."""
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{grad})"

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype) -> "Tensor":
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> "Tensor":
        """float32 (PyTorch's ``.float()``); the gradient flows back in the old dtype."""
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def clone(self) -> "Tensor":
        """A copy on the graph (the gradient passes through unchanged)."""
        return ops.Cast.apply(self, dtype=self.dtype)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Turn gradient tracking on (or off) for this leaf tensor, in place; returns it."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: requires_grad must be a bool, got {requires_grad!r}")
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only a leaf tensor's flag can be changed; "
                               "call .detach() first for a non-leaf one")
        if requires_grad and not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, "
                            f"got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self._node is not None:
            self._node.retain_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see autograd.backward)."""
        autograd.backward(self, grad)

    def _lift(self, other) -> "Tensor":
        """A constant operand as a Tensor of this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        return Tensor(np.asarray(other, dtype=self.dtype))

    # ------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return ops.Add.apply(self, self._lift(other))

    def __radd__(self, other):
        return ops.Add.apply(self._lift(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, self._lift(other))

    def __rsub__(self, other):
        return ops.Sub.apply(self._lift(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, self._lift(other))

    def __rmul__(self, other):
        return ops.Mul.apply(self._lift(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, self._lift(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(self._lift(other), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, self._lift(exponent))

    def __rpow__(self, base):
        return ops.Pow.apply(self._lift(base), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(self._lift(other), self)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=index)

    # comparisons give plain boolean arrays (no gradient flows through them)
    def __lt__(self, other):
        return self.data < _as_array(other)

    def __le__(self, other):
        return self.data <= _as_array(other)

    def __gt__(self, other):
        return self.data > _as_array(other)

    def __ge__(self, other):
        return self.data >= _as_array(other)

    # ------------------------------------------------------------ elementwise
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def clip(self, low=None, high=None):
        return ops.Clip.apply(self, low=low, high=high)

    def clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        return self.clip(min, max)

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return self @ other

    def softmax(self, dim: int = -1):
        return ops.softmax(self, dim=dim)

    def log_softmax(self, dim: int = -1):
        return ops.log_softmax(self, dim=dim)

    # ------------------------------------------------------------- reductions
    # ``axis=``/``keepdims=`` (NumPy) or ``dim=``/``keepdim=`` (PyTorch), not both
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduction_args("sum", self.ndim, axis, keepdims, dim, keepdim)
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _reduction_args("mean", self.ndim, axis, keepdims, dim, keepdim)
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The maximum values (PyTorch's ``max(dim=)`` also returns indices; use argmax)."""
        axis, keepdims = _reduction_args("max", self.ndim, axis, keepdims, dim, keepdim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The minimum values, as −max(−x) (the gradient shared among tied minima)."""
        return -((-self).max(axis, keepdims, dim=dim, keepdim=keepdim))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> "Tensor":
        """Indices of the minima (int64, no gradient); over all elements if no axis."""
        return self._arg("argmin", np.argmin, axis, keepdims, dim, keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> "Tensor":
        """Indices of the maxima (int64, no gradient); over all elements if no axis."""
        return self._arg("argmax", np.argmax, axis, keepdims, dim, keepdim)

    def _arg(self, fn, np_fn, axis, keepdims, dim, keepdim) -> "Tensor":
        axis, keepdims = _reduction_args(fn, self.ndim, axis, keepdims, dim, keepdim)
        if isinstance(axis, tuple):
            raise TypeError(f"{fn}: dim must be one int, got {axis!r}")
        return Tensor(np_fn(self.data, axis=axis, keepdims=keepdims))

    # ----------------------------------------------------------------- shapes
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def view(self, *shape):
        """``reshape`` (a NumPy reshape: a view when the layout allows, else a copy)."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0):
        return self.reshape(self.shape[:start_dim] + (-1,))

    def unsqueeze(self, dim: int):
        """Insert an axis of length 1 at ``dim`` (in [-ndim - 1, ndim])."""
        dim = _check_dim("unsqueeze", dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim: int | None = None):
        """Remove axes of length 1 (all of them, or only ``dim`` if it has length 1)."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = _check_dim("squeeze", dim, self.ndim)
        return self if self.shape[dim] != 1 else self.reshape(self.shape[:dim] + self.shape[dim + 1:])

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    def permute(self, *dims):
        """Reorder the axes: ``x.permute(0, 2, 1)``; ``dims`` is a permutation of range(ndim)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if (len(dims) != self.ndim or not all(isinstance(d, (int, np.integer)) for d in dims)
                or sorted(d % self.ndim for d in dims) != list(range(self.ndim))):
            raise ValueError(f"permute: dims must be a permutation of range({self.ndim}) for "
                             f"shape {self.shape}, got {dims!r}")
        return ops.Transpose.apply(self, axes=tuple(int(d) % self.ndim for d in dims))

    @property
    def T(self):
        return self.transpose()


class _Size(int):
    """An int (the element count) that, called, gives the shape or one axis length."""

    def __new__(cls, count: int, shape: tuple[int, ...]):
        out = super().__new__(cls, count)
        out.shape = shape
        return out

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[_check_dim("size", dim, len(self.shape))]


def _check_dim(fn: str, dim, ndim: int) -> int:
    """``dim`` as an axis in [0, ndim), accepting negative axes; else a clear error."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {dim!r}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"{fn}: dim {dim} is out of range for {ndim} axes "
                         f"(expected {-ndim} <= dim < {ndim})")
    return int(dim) % ndim


def _reduction_args(fn: str, ndim: int, axis, keepdims, dim, keepdim):
    """Merge NumPy's ``axis=``/``keepdims=`` with PyTorch's ``dim=``/``keepdim=``."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{fn}: got both axis={axis!r} and dim={dim!r}; pass one of them")
        axis = dim
    if keepdim is not None:
        if keepdims is not False:
            raise TypeError(f"{fn}: got both keepdims={keepdims!r} and keepdim={keepdim!r}; "
                            f"pass one of them")
        keepdims = keepdim
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{fn}: keepdim must be a bool, got {keepdims!r}")
    if isinstance(axis, list):
        axis = tuple(axis)
    for a in (axis if isinstance(axis, tuple) else () if axis is None else (axis,)):
        _check_dim(fn, a, ndim)
    return axis, bool(keepdims)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Shorthand for ``Tensor(data, requires_grad, dtype)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


from . import ops  # noqa: E402  (ops needs Tensor defined)
