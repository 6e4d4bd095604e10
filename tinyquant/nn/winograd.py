"""Winograd F(2×2, 3×3): a stride-1 3×3 convolution with 16 multiplications per 2×2 output tile.

im2col (:mod:`tinyquant.nn.im2col`) spends 9 multiplications per output pixel and input
channel; Winograd's minimal filtering algorithm (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", CVPR 2016, eq. 8; REFERENCES.md) computes a 2×2 output tile
from a 4×4 input tile d and the 3×3 kernel g as

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A                        (4×4 ⊙, 2×2 result)

    Bᵀ = [[1, 0, −1, 0],     G = [[1,    0,   0  ],     Aᵀ = [[1, 1,  1,  0],
          [0, 1,  1, 0],          [1/2,  1/2, 1/2],           [0, 1, −1, −1]]
          [0, −1, 1, 0],          [1/2, −1/2, 1/2],
          [0, 1,  0, −1]]         [0,    0,   1  ]]

that is 16 multiplications per tile instead of 36: 2.25× fewer. Over channels the ⊙ becomes
16 independent GEMMs, one per position (ξ, ν) of the 4×4 transformed tile:

    U[ξν] = (G g Gᵀ)[ξν]        (O, C)          the kernel, transformed once
    V[ξν] = (Bᵀ d B)[ξν]        (C, N·T)        every input tile, T = tiles per image
    M[ξν] = U[ξν] · V[ξν]       (O, N·T)        16 GEMMs
    Y     = Aᵀ M A              per tile, reassembled into (N, O, Ho, Wo)

The tiles of the input overlap (4×4 windows with stride 2); an odd output size is handled by
padding the input with zeros to a whole number of tiles and cropping the result.

The backward is the adjoint of each linear step, read right to left (so it is exact, not
another approximation): with dM[ξν] = (A dY Aᵀ)[ξν] per tile,

    dU[ξν] = dM[ξν] · V[ξν]ᵀ,    dW = Gᵀ dU G          (the kernel gradient, 16 GEMMs)
    dV[ξν] = U[ξν]ᵀ · dM[ξν],    dd = B dV Bᵀ           (per tile; overlapping tiles add up)

All transforms are a few vectorized additions over whole arrays (the matrices hold only 0,
±1 and ±1/2). Float error: the transforms add and subtract up to 4 values twice, so rounding
is a few ulps of the largest intermediate; tests/nn/test_winograd.py bounds the float32
difference from im2col relative to the output's scale and checks float64 to 1e-10.

The readable reference is :func:`winograd_conv2d_reference` — one tile at a time with the
matrices above, as in the paper — and the fast functions are tested against it and
against im2col.
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function, is_grad_enabled
from .parallel import default_runtime

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


# ------------------------------------------------------------ the reference (one tile at a time)


def winograd_conv2d_reference(x: np.ndarray, w: np.ndarray, padding: int = 1) -> np.ndarray:
    """y = conv2d(x, w), stride 1, 3×3, by the tile formula Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, looping
    over tiles, images and channels: slow, for reading and for testing the fast path."""
    n, c, h, wd = x.shape
    o = w.shape[0]
    ho, wo = h + 2 * padding - 2, wd + 2 * padding - 2
    th, tw = -(-ho // 2), -(-wo // 2)
    xp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=np.float64)
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    y = np.zeros((n, o, 2 * th, 2 * tw))
    for b in range(n):
        for k in range(o):
            for i in range(th):
                for j in range(tw):
                    acc = np.zeros((4, 4))
                    for ch in range(c):
                        d = xp[b, ch, 2 * i:2 * i + 4, 2 * j:2 * j + 4]
                        acc += (G @ w[k, ch] @ G.T) * (BT @ d @ BT.T)
                    y[b, k, 2 * i:2 * i + 2, 2 * j:2 * j + 2] = AT @ acc @ AT.T
    return y[:, :, :ho, :wo].astype(x.dtype)


# ------------------------------------------------------------ transforms (vectorized adds)


def kernel_transform(w: np.ndarray) -> np.ndarray:
    """U[ξ, ν] = (G g Gᵀ)[ξ, ν] for every (o, c): (O, C, 3, 3) → (4, 4, O, C)."""
    return np.ascontiguousarray(np.einsum("ai,ocij,bj->aboc", G.astype(w.dtype), w, G.astype(w.dtype)))


def kernel_transform_adjoint(du: np.ndarray) -> np.ndarray:
    """dW = Gᵀ dU G: (4, 4, O, C) → (O, C, 3, 3), the adjoint of :func:`kernel_transform`."""
    g = G.astype(du.dtype)
    return np.einsum("ai,aboc,bj->ocij", g, du, g)


def _bt(d0, d1, d2, d3, out):
    """Bᵀ along one axis, into out[0..3]: (d0 − d2, d1 + d2, d2 − d1, d1 − d3)."""
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def _b_adjoint(v, out, axis_slices):
    """The adjoint of :func:`_bt` along one axis: out[k-th tap] += (B v)_k, where tap k of tile j
    sits at position 2j + k. ``axis_slices(k)`` selects those positions in ``out``."""
    out[axis_slices(0)] += v[0]
    out[axis_slices(1)] += v[1] - v[2] + v[3]
    out[axis_slices(2)] += v[1] + v[2] - v[0]
    out[axis_slices(3)] -= v[3]


def input_transform(xp: np.ndarray) -> np.ndarray:
    """V = Bᵀ d B for every 4×4 tile d of xp (C, N, 2·th + 2, 2·tw + 2), tiles at stride 2
    → (4, 4, C, N·th·tw). Tap k of tile j sits at row (or column) 2j + k, so Bᵀ along rows is
    four subtractions of strided row slices, then the same along columns."""
    c, n, hp, wp = xp.shape
    th, tw = (hp - 2) // 2, (wp - 2) // 2
    rows = np.empty((4, c, n, th, wp), dtype=xp.dtype)                  # Bᵀ d, every column
    _bt(*(xp[:, :, k:k + 2 * th:2] for k in range(4)), out=rows)
    v = np.empty((4, 4, c, n, th, tw), dtype=xp.dtype)
    for a in range(4):                                                   # (Bᵀ d) B
        _bt(*(rows[a, ..., k:k + 2 * tw:2] for k in range(4)), out=v[a])
    return v.reshape(4, 4, c, n * th * tw)


def input_transform_adjoint(dv: np.ndarray, xp_shape) -> np.ndarray:
    """The adjoint of :func:`input_transform`: dd = B dV Bᵀ per tile, overlapping tiles summed
    into an array of shape xp_shape (C, N, Hp, Wp)."""
    c, n, hp, wp = xp_shape
    th, tw = (hp - 2) // 2, (wp - 2) // 2
    dv = dv.reshape(4, 4, c, n, th, tw)
    drows = np.zeros((4, c, n, th, wp), dtype=dv.dtype)
    for a in range(4):
        _b_adjoint(dv[a], drows[a], lambda k: (Ellipsis, slice(k, k + 2 * tw, 2)))
    dxp = np.zeros(xp_shape, dtype=dv.dtype)
    _b_adjoint(drows, dxp, lambda k: (slice(None), slice(None), slice(k, k + 2 * th, 2)))
    return dxp


def output_transform(m: np.ndarray, n: int, th: int, tw: int) -> np.ndarray:
    """Y = Aᵀ M A per tile: M (4, 4, O, N·th·tw) → y (N, O, 2·th, 2·tw).
    Aᵀ along one axis is (m0 + m1 + m2, m1 − m2 − m3)."""
    o = m.shape[2]
    m = m.reshape(4, 4, o, n, th, tw)
    r = np.empty((2, 4, o, n, th, tw), dtype=m.dtype)                     # Aᵀ M
    np.add(m[0], m[1], out=r[0]); r[0] += m[2]
    np.subtract(m[1], m[2], out=r[1]); r[1] -= m[3]
    y = np.empty((o, n, th, 2, tw, 2), dtype=m.dtype)                    # (Aᵀ M) A
    for i in range(2):
        np.add(r[i, 0], r[i, 1], out=y[:, :, :, i, :, 0]); y[:, :, :, i, :, 0] += r[i, 2]
        np.subtract(r[i, 1], r[i, 2], out=y[:, :, :, i, :, 1]); y[:, :, :, i, :, 1] -= r[i, 3]
    return y.reshape(o, n, 2 * th, 2 * tw).transpose(1, 0, 2, 3)


def output_transform_adjoint(dy: np.ndarray, th: int, tw: int) -> np.ndarray:
    """The adjoint of :func:`output_transform`: dM = A dY Aᵀ per tile, dy (N, O, Ho, Wo) with
    Ho ≤ 2·th, Wo ≤ 2·tw (zero beyond) → (4, 4, O, N·th·tw).
    A along one axis maps (y0, y1) to (y0, y0 + y1, y0 − y1, −y1)."""
    n, o, ho, wo = dy.shape
    full = np.zeros((o, n, 2 * th, 2 * tw), dtype=dy.dtype)
    full[:, :, :ho, :wo] = dy.transpose(1, 0, 2, 3)
    y0, y1 = full[:, :, 0::2], full[:, :, 1::2]                        # (O, N, th, 2·tw) each
    rows = np.empty((4, o, n, th, 2 * tw), dtype=dy.dtype)
    rows[0] = y0; np.add(y0, y1, out=rows[1]); np.subtract(y0, y1, out=rows[2]); np.negative(y1, out=rows[3])
    dm = np.empty((4, 4, o, n, th, tw), dtype=dy.dtype)
    for a in range(4):
        c0, c1 = rows[a, ..., 0::2], rows[a, ..., 1::2]
        dm[a, 0] = c0; np.add(c0, c1, out=dm[a, 1]); np.subtract(c0, c1, out=dm[a, 2]); np.negative(c1, out=dm[a, 3])
    return dm.reshape(4, 4, o, n * th * tw)


# ------------------------------------------------------------ the convolution and its gradients


def _pair(padding) -> tuple[int, int]:
    return (padding, padding) if np.isscalar(padding) else tuple(padding)


def tiles(h: int, w: int, padding) -> tuple[int, int, int, int]:
    """(Ho, Wo, th, tw): output size of a stride-1 3×3 convolution and its 2×2 tile counts."""
    ph, pw = _pair(padding)
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    return ho, wo, -(-ho // 2), -(-wo // 2)


def padded_channels_first(x: np.ndarray, padding, th: int, tw: int) -> np.ndarray:
    """x (N, C, H, W) → (C, N, 2·th + 2, 2·tw + 2), zero padding around (and beyond, to whole tiles)."""
    (ph, pw), (n, c, h, w) = _pair(padding), x.shape
    xp = np.zeros((c, n, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    return xp


def winograd_forward(x: np.ndarray, w: np.ndarray, padding, u: np.ndarray | None = None):
    """y = conv2d(x, w) for stride 1 and a 3×3 kernel; returns (y, U, V), which the backward needs.
    V holds 16 numbers per 2×2 tile and channel, 4·C·N·H·W in all, where im2col's columns hold
    9·C·N·H·W."""
    n, _, h, wd = x.shape
    ho, wo, th, tw = tiles(h, wd, padding)
    u = kernel_transform(w) if u is None else u               # (4, 4, O, C)
    v = input_transform(padded_channels_first(x, padding, th, tw))   # (4, 4, C, N·T)
    m = np.matmul(u, v)                                       # 16 GEMMs (O, C)·(C, N·T)
    y = output_transform(m, n, th, tw)
    return np.ascontiguousarray(y[:, :, :ho, :wo]), u, v


def winograd_backward(dy: np.ndarray, u: np.ndarray, v: np.ndarray, x_shape, padding,
                      need_dx: bool = True, need_dw: bool = True):
    """(dx, dW) of :func:`winograd_forward` by the adjoints (module docstring)."""
    (n, c, h, wd), (ph, pw) = x_shape, _pair(padding)
    _, _, th, tw = tiles(h, wd, padding)
    dm = output_transform_adjoint(dy, th, tw)                 # (4, 4, O, N·T)
    dw = kernel_transform_adjoint(np.matmul(dm, v.transpose(0, 1, 3, 2))) if need_dw else None
    dx = None
    if need_dx:
        dv = np.matmul(u.transpose(0, 1, 3, 2), dm)           # (4, 4, C, N·T)
        dxp = input_transform_adjoint(dv, (c, n, 2 * th + 2, 2 * tw + 2))
        dx = np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3))
    return dx, dw


# ------------------------------------------------------------ the autograd Function


def applies(weight_shape, stride) -> bool:
    """Winograd F(2×2, 3×3) computes exactly the stride-1 3×3 convolutions."""
    return tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)


def use_winograd(algorithm: str, x_shape, weight_shape, stride) -> bool:
    """Whether conv2d takes the Winograd path: where it applies and is asked for, or, for
    ``"auto"``, where benchmarks/bench_conv.py measured it faster than im2col (none yet: the
    auto rule stays on im2col until an idle-machine run says otherwise)."""
    if not applies(weight_shape, stride):
        return False
    return algorithm == "winograd"


class WinogradConv2dFunction(Function):
    """y = conv2d(x, W) + b for stride 1 and 3×3 kernels by Winograd F(2×2, 3×3).

    The batch runs in contiguous chunks on the runtime's threads, as the im2col path does
    (:meth:`tinyquant.nn.parallel.ConvRuntime.over_batch`); the backward re-derives the same
    chunks from the batch size, so chunk k's V is used for chunk k's gradients and dW adds the
    chunks' partial sums in order (deterministic for a given thread count).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, padding=(1, 1), runtime=None):
        runtime = default_runtime() if runtime is None else runtime
        n, o = x.shape[0], weight.shape[0]
        ho, wo, _, _ = tiles(*x.shape[2:], padding)
        u = kernel_transform(weight)
        y = np.empty((n, o, ho, wo), dtype=x.dtype)
        work = 4 * x.size

        def chunk(lo, hi):
            y[lo:hi], _, v = winograd_forward(x[lo:hi], weight, padding, u)
            return v

        vs = dict(zip(runtime.chunk_bounds(n, work), runtime.over_batch(chunk, n, work)))
        if bias is not None:
            y += bias[:, None, None]
        keep = is_grad_enabled() and ctx.needs_input_grad[1]
        ctx.save_for_backward(u, vs if keep else {}, x if keep else None)
        ctx.x_shape, ctx.padding, ctx.runtime, ctx.work = x.shape, padding, runtime, work
        return y

    @staticmethod
    def backward(ctx, grad):
        u, vs, x = ctx.saved
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        n = grad.shape[0]
        dx = np.empty(ctx.x_shape, dtype=grad.dtype) if need_dx else None

        def chunk(lo, hi):
            v = vs.get((lo, hi))                  # the forward's V; rebuilt if the chunks differ
            if v is None and need_dw:
                ho, wo, th, tw = tiles(*ctx.x_shape[2:], ctx.padding)
                v = input_transform(padded_channels_first(x[lo:hi], ctx.padding, th, tw))
            d, dw = winograd_backward(grad[lo:hi], u, v, (hi - lo, *ctx.x_shape[1:]), ctx.padding,
                                      need_dx=need_dx, need_dw=need_dw)
            if need_dx:
                dx[lo:hi] = d
            return dw

        partial = ctx.runtime.over_batch(chunk, n, ctx.work)
        dw = functools.reduce(np.add, partial).astype(grad.dtype, copy=False) if need_dw else None
        db = grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        return dx, dw, db
