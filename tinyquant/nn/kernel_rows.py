"""A stride-1 convolution as kh GEMMs over shifted views of one row-column matrix.

im2col (:mod:`tinyquant.nn.im2col`) copies every input pixel kh·kw times. For stride 1 the
height needs no copies at all: the columns that kernel row i reads are those of kernel row 0
moved down by i rows. So build, once, the columns of a single kernel row over *all* padded rows,

    R[n, (c, j), h, w] = x_pad[n, c, h, w + j]          (N, C·kw, Hp, Wo),  Hp = H + 2·ph,

which is kw copies of the input instead of kh·kw, and read kernel row i's columns as the view
R[:, :, i : i + Ho] — with (h, w) contiguous in it, that view is a plain strided matrix of
shape (C·kw, Ho·Wo) per sample that BLAS takes as it is. Then, with W_i = W[:, :, i, :] as an
(O, C·kw) matrix,

    y[n]   = Σ_i  W_i · R_i[n]                                   kh GEMMs, each K = C·kw
    dW_iᵀ  = Σ_n  R_i[n] · dy[n]ᵀ            (C·kw, O)            kh GEMMs (this orientation
                                                                  runs faster in OpenBLAS)

and dx, the full correlation of dy with the flipped kernel (:mod:`tinyquant.nn.convolution`),
is again a stride-1 convolution computed the same way. The sums over i are the same sums as
im2col's over (i, j), regrouped: the result equals im2col's to rounding (tested in float64).

Measured on ResNet-20's 16-channel layer at batch 128, one thread, forward: im2col and one GEMM
14.3 ms, this 7.4 ms (benchmarks/README.md): a third of the copying, and GEMM operands a third
the size, which stay in cache.
"""

from __future__ import annotations

import numpy as np


def row_columns(x: np.ndarray, kw: int, padding, out: np.ndarray, xp: np.ndarray) -> np.ndarray:
    """R[n, c, j, h, w] = x_pad[n, c, h, w + j] into ``out`` (N, C, kw, H + 2·ph, Wo), through
    ``xp`` (N, C, H + 2·ph, W + 2·pw), a scratch array for the zero-padded input."""
    (ph, pw), (h, w) = padding, x.shape[2:]
    wo = out.shape[-1]
    if ph or pw:
        xp[:, :, :ph] = 0
        xp[:, :, ph + h:] = 0
        xp[:, :, ph:ph + h, :pw] = 0
        xp[:, :, ph:ph + h, pw + w:] = 0
        xp[:, :, ph:ph + h, pw:pw + w] = x
    else:
        xp = x
    for j in range(kw):                                   # a loop over kernel columns only
        out[:, :, j] = xp[..., j:j + wo]
    return out


def row_view(r: np.ndarray, i: int, ho: int) -> np.ndarray:
    """Kernel row i's columns, R[:, :, :, i : i + Ho] as (N, C·kw, Ho·Wo): a view, no copy."""
    n, c, kw, _, wo = r.shape
    return r[:, :, :, i:i + ho].reshape(n, c * kw, ho * wo)


def weight_rows(weight: np.ndarray) -> np.ndarray:
    """W_i = W[:, :, i, :] as (O, C·kw) matrices, stacked: (kh, O, C·kw)."""
    o, c, kh, kw = weight.shape
    return np.ascontiguousarray(weight.transpose(2, 0, 1, 3)).reshape(kh, o, c * kw)


def rows_forward(r: np.ndarray, w_rows: np.ndarray, ho: int, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """y[n] = Σ_i W_i · R_i[n] into ``out`` (N, O, Ho·Wo); ``tmp`` a scratch array of that shape."""
    np.matmul(w_rows[0], row_view(r, 0, ho), out=out)
    for i in range(1, len(w_rows)):
        np.matmul(w_rows[i], row_view(r, i, ho), out=tmp)
        out += tmp
    return out


def rows_weight_grad(r: np.ndarray, g: np.ndarray, kh: int, ho: int, tmp: np.ndarray) -> np.ndarray:
    """Σ_n R_i[n] · dy[n]ᵀ for each kernel row i: (kh, C·kw, O), dy as g (N, O, Ho·Wo);
    ``tmp`` a scratch array (N, C·kw, O). :func:`weight_from_rows` turns it into dW."""
    gt = g.transpose(0, 2, 1)
    return np.stack([np.matmul(row_view(r, i, ho), gt, out=tmp).sum(axis=0) for i in range(kh)])


def weight_from_rows(parts: np.ndarray, weight_shape) -> np.ndarray:
    """dW[o, c, i, j] = parts[i, (c, j), o]: (kh, C·kw, O) → (O, C, kh, kw)."""
    o, c, kh, kw = weight_shape
    return parts.reshape(kh, c, kw, o).transpose(3, 1, 0, 2)
