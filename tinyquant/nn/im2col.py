"""im2col and col2im: a convolution as one matrix product, on raw NumPy arrays.

A 2-D convolution (cross-correlation, as in every deep-learning library) of x (N, C, H, W)
with a kernel of size kh × kw, stride (sh, sw) and zero padding (ph, pw) reads, for
output position (ho, wo), the patch

    x_pad[n, c, ho·sh + i, wo·sw + j]        i < kh, j < kw,

with output size Ho = (H + 2ph − kh) // sh + 1 (likewise Wo). ``im2col`` lays every patch
out as a column:

    cols[n, (c, i, j), (ho, wo)] = x_pad[n, c, ho·sh + i, wo·sw + j]      shape (N, C·kh·kw, Ho·Wo)

so that a convolution with weight W (O, C, kh, kw) is one batched GEMM,
W.reshape(O, C·kh·kw) @ cols → (N, O, Ho·Wo), which is already NCHW. The output
positions are innermost because that layout is what makes the GEMM produce NCHW
directly and is the fastest to build (PERF.md).

The columns are a strided *view* of the padded input (``sliding_window_view``: no
copy, no index arrays); the final reshape makes the one copy. Its cost is memory:
kh·kw times the input (needle's warning).

``col2im`` is the adjoint (transpose) of ``im2col``: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩.
Each input pixel receives the sum of every column entry that copied it, so col2im adds
the kh·kw slices of the columns back into a padded buffer (one shifted-slice addition
per kernel offset, vectorized over batch, channels and pixels) and crops the padding.
It is the backward of im2col, and hence of the convolution with respect to x.

A :class:`Workspace` (one per thread, on the convolution's
:class:`~tinyquant.nn.parallel.ConvRuntime`; the packed deploy runtime takes its columns from
the same) keeps column matrices and other scratch for reuse. Why: the column matrix of a ResNet layer is
tens of megabytes, and the kernel zeroes every fresh page on first touch -- for the
16-channel ResNet-20 layer at batch 128 (75 MB) that made building the columns 2.3×
slower than copying into an existing array (12.3 vs 5.3 ms, benchmarks/README.md).
"""


from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size: int, k: int, stride: int, padding: int) -> int:
    """Number of window positions along one axis: (size + 2·padding − k) // stride + 1."""
    return (size + 2 * padding - k) // stride + 1


def pad2d(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of x by ph rows and pw columns on each side with ``value``."""
    if ph == 0 and pw == 0:
        return x
    *lead, h, w = x.shape
    out = np.full((*lead, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[..., ph : ph + h, pw : pw + w] = x
    return out


class Workspace:
    """Scratch arrays by name and shape, handed out again on the next request for the same
    (name, shape, dtype): a loop over blocks of a batch then reuses the same memory each time,
    which stays in the core's cache, rather than asking malloc (and the kernel, which zeroes
    fresh pages) anew. Not thread-safe: one per thread (``ConvRuntime.workspace()``). At most
    ``limit`` arrays are kept; past that the workspace starts over."""

    def __init__(self, limit: int = 96):
        self.limit, self._arrays = limit, {}

    def get(self, name: str, shape, dtype) -> np.ndarray:
        """An array of that shape and dtype, with whatever the last user left in it."""
        key = (name, tuple(shape), np.dtype(dtype))
        array = self._arrays.get(key)
        if array is None:
            if len(self._arrays) >= self.limit:
                self._arrays.clear()
            array = self._arrays[key] = np.empty(shape, dtype)
        return array

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def clear(self) -> None:
        self._arrays.clear()


def im2col(x: np.ndarray, kh: int, kw: int, stride=(1, 1), padding=(0, 0), out=None) -> np.ndarray:
    """cols[n, (c, i, j), (ho, wo)] = x_pad[n, c, ho·sh + i, wo·sw + j], shape (N, C·kh·kw, Ho·Wo).

    ``out``: an array of that shape to write into (e.g. from a :class:`Workspace`).
    """
    (sh, sw), (ph, pw) = stride, padding
    n, c = x.shape[:2]
    xp = pad2d(x, ph, pw)
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    ho, wo = windows.shape[2:4]
    if out is None:
        return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    np.copyto(out.reshape(n, c, kh, kw, ho, wo), windows.transpose(0, 1, 4, 5, 2, 3))
    return out


def col2im(cols: np.ndarray, x_shape, kh: int, kw: int, stride=(1, 1), padding=(0, 0), out=None) -> np.ndarray:
    """The adjoint of im2col: x[n, c, h, w] = Σ of the column entries that copied x_pad[n, c, h, w].
    ``out``: an array of shape x_shape to write the result into."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, w = x_shape
    ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    blocks = cols.reshape(n, c, kh, kw, ho, wo)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):  # a loop over kernel offsets only
        for j in range(kw):
            xp[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] += blocks[:, :, i, j]
    x = xp if ph == 0 and pw == 0 else xp[:, :, ph : ph + h, pw : pw + w]
    if out is None:
        return np.ascontiguousarray(x)
    out[...] = x
    return out
