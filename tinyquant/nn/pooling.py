"""Max, average and global average pooling (NCHW / NCL), forward and backward.

Pooling is im2col with one channel per image: every (n, c) plane is cut into windows,
cols[(n, c), (i, j), (ho, wo)] = x_pad[n, c, ho·sh + i, wo·sw + j], and reduced over the
window axis (see :mod:`tinyquant.nn.im2col`). The backward puts the gradient of each
window back into its positions with col2im, the adjoint of im2col, which also sums the
contributions of overlapping windows:

    max:  y = max_(i,j) window,      dwindow = dy · onehot(argmax)    (the first maximum on ties)
    avg:  y = Σ_(i,j) window / (kh·kw),  dwindow = dy / (kh·kw)

Conventions (PyTorch's defaults): ``stride`` defaults to ``kernel_size``; output sizes
round down; max pooling pads with −∞ and padding must be at most half the kernel;
average pooling pads with zeros and counts them (count_include_pad=True).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..ops import check_floating
from ..tensor import Tensor
from .convolution import as_pair, as_single
from .im2col import col2im, im2col, pad2d


class _Pool2d(Function):
    """Shared forward/backward of max and average pooling on (N, C, H, W) arrays."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, mode):
        (n, c, h, w), (kh, kw), (ph, pw) = x.shape, kernel, padding
        fill = -np.inf if mode == "max" else 0.0
        xp = pad2d(x, ph, pw, fill).reshape(n * c, 1, h + 2 * ph, w + 2 * pw)
        cols = im2col(xp, kh, kw, stride)                        # (N·C, kh·kw, Ho·Wo)
        ho = (h + 2 * ph - kh) // stride[0] + 1
        ctx.shapes = (x.shape, xp.shape, (n, c, ho, -1))
        ctx.kernel, ctx.stride, ctx.padding, ctx.mode = kernel, stride, padding, mode
        if mode == "max":
            idx = cols.argmax(axis=1)                            # (N·C, Ho·Wo)
            ctx.save_for_backward(idx)
            y = np.take_along_axis(cols, idx[:, None], axis=1)[:, 0]
        else:
            y = cols.mean(axis=1)
        return y.reshape(n, c, ho, -1)

    @staticmethod
    def backward(ctx, grad):
        x_shape, xp_shape, _ = ctx.shapes
        (kh, kw), (ph, pw) = ctx.kernel, ctx.padding
        g = grad.reshape(xp_shape[0], 1, -1)                     # (N·C, 1, Ho·Wo)
        if ctx.mode == "max":
            (idx,) = ctx.saved
            window = np.arange(kh * kw)[None, :, None]
            dcols = (window == idx[:, None]) * g                 # dy to the argmax of each window
        else:
            dcols = np.broadcast_to(g / (kh * kw), (g.shape[0], kh * kw, g.shape[2]))
        dxp = col2im(dcols.astype(grad.dtype, copy=False), xp_shape, kh, kw, ctx.stride)
        n, c, h, w = x_shape
        return dxp.reshape(n, c, h + 2 * ph, w + 2 * pw)[:, :, ph : ph + h, pw : pw + w]


def _check_input(fn, x, ndim, layout):
    check_floating(fn, "input", x)      # an int array cannot hold max pooling's −∞ padding
    if x.ndim != ndim:
        raise ValueError(f"{fn}: input must be {ndim}-D {layout}, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{fn}: input of shape {x.shape} is empty; expected at least one sample")


def _pool2d(fn, x, kernel_size, stride, padding, mode):
    _check_input(fn, x, 4, "(N, C, H, W)")
    kernel = as_pair(kernel_size, "kernel_size", fn, 1)
    stride = kernel if stride is None else as_pair(stride, "stride", fn, 1)
    padding = as_pair(padding, "padding", fn, 0)
    _check_window(fn, x.shape[2:], kernel, padding, ("height", "width"))
    return _Pool2d.apply(x, kernel=kernel, stride=stride, padding=padding, mode=mode)


def _check_window(fn, sizes, kernel, padding, axes):
    for axis, size, k, p in zip(axes, sizes, kernel, padding):
        if 2 * p > k:
            raise ValueError(f"{fn}: padding {p} must be at most half the kernel size {k}")
        if k > size + 2 * p:
            raise ValueError(f"{fn}: kernel {axis} {k} is larger than the padded input {axis} {size + 2 * p}")


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """y[n, c, ho, wo] = max_(i,j) x_pad[n, c, ho·sh + i, wo·sw + j] (−∞ padding); (N, C, H, W) → (N, C, Ho, Wo)."""
    return _pool2d("max_pool2d", x, kernel_size, stride, padding, "max")


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """y[n, c, ho, wo] = mean_(i,j) x_pad[n, c, ho·sh + i, wo·sw + j] (zero padding, counted)."""
    return _pool2d("avg_pool2d", x, kernel_size, stride, padding, "avg")


def _pool1d(fn, x, kernel_size, stride, padding, mode):
    _check_input(fn, x, 3, "(N, C, L)")
    k = as_single(kernel_size, "kernel_size", fn, 1)
    s = k if stride is None else as_single(stride, "stride", fn, 1)
    p = as_single(padding, "padding", fn, 0)
    _check_window(fn, x.shape[2:], (k,), (p,), ("length",))
    n, c, length = x.shape
    y = _Pool2d.apply(x.reshape(n, c, 1, length), kernel=(1, k), stride=(1, s), padding=(0, p), mode=mode)
    return y.reshape(n, c, y.shape[3])


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """y[n, c, l] = max_i x_pad[n, c, l·s + i] (−∞ padding); (N, C, L) → (N, C, Lo)."""
    return _pool1d("max_pool1d", x, kernel_size, stride, padding, "max")


def avg_pool1d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """y[n, c, l] = mean_i x_pad[n, c, l·s + i] (zero padding, counted); (N, C, L) → (N, C, Lo)."""
    return _pool1d("avg_pool1d", x, kernel_size, stride, padding, "avg")


def global_avg_pool2d(x: Tensor) -> Tensor:
    """y[n, c] = mean over h, w of x[n, c, h, w]; (N, C, H, W) → (N, C). dx = dy / (H·W) everywhere."""
    _check_input("global_avg_pool2d", x, 4, "(N, C, H, W)")
    return x.mean(axis=(2, 3))


def global_avg_pool1d(x: Tensor) -> Tensor:
    """y[n, c] = mean over l of x[n, c, l]; (N, C, L) → (N, C). dx = dy / L everywhere."""
    _check_input("global_avg_pool1d", x, 3, "(N, C, L)")
    return x.mean(axis=2)
