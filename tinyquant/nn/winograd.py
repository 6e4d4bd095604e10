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
    V[ξν] = (Bᵀ d B)[ξν]        (T·N, C)        every input tile, T = tiles per image
    M[ξν] = V[ξν] · U[ξν]ᵀ      (T·N, O)        16 GEMMs
    Y     = Aᵀ M A              per tile, reassembled into (N, O, Ho, Wo)

The tiles of the input overlap (4×4 windows with stride 2); an odd output size is handled by
padding the input with zeros to a whole number of tiles and cropping the result.

The backward is the adjoint of each linear step, read right to left (so it is exact, not
another approximation): with dM[ξν] = (A dY Aᵀ)[ξν] per tile,

    dU[ξν] = dM[ξν]ᵀ · V[ξν],    dW = Gᵀ dU G          (the kernel gradient, 16 GEMMs)
    dV[ξν] = dM[ξν] · U[ξν],     dd = B dV Bᵀ           (per tile; overlapping tiles add up)

How it is fast in NumPy: the batch is cut into blocks of a few samples (``v_bytes``), and
each block is copied into a spatial-major layout (below) where every transform is a handful of
additions over long contiguous runs; the scratch arrays of a block come from the thread's
:class:`~tinyquant.nn.im2col.Workspace`, so block after block the same memory is reused while
it is in cache. V is not kept for the backward (it is 4× the input): the backward rebuilds
it from the input, block by block.

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

from ..autograd import Function
from .parallel import budget_blocks, default_runtime

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
#
# Layout. The fast path works on a *spatial-major* copy of each block of the batch, with the
# padded width split by parity:
#
#     P[h, s, q, n, c] = x_pad[n, c, h, 2q + s]          shape (2·th + 2, 2, tw + 1, N, C)
#
# Tap k of tile j along the width sits at column 2j + k, that is at parity k % 2 and q = j + k // 2,
# so each tap of every tile is a *contiguous* slab P[:, k % 2, k//2 : k//2 + tw] (and along the
# height a slice of the outermost axis). Every addition below therefore runs over long contiguous
# runs of tw·N·C numbers whatever the image size (an 8×8 NCHW image gives runs of 4), and each of
# the 16 GEMMs is one (T·N, C) · (C, O) product with the tiles of the whole block as its rows.
#
# Scratch arrays come from a :class:`~tinyquant.nn.im2col.Workspace` (``ws``), the same memory
# block after block, so they stay in the core's cache; without one they are allocated afresh.


def kernel_transform(w: np.ndarray) -> np.ndarray:
    """U[ξ, ν] = (G g Gᵀ)[ξ, ν] for every (o, c): (O, C, 3, 3) → (4, 4, O, C).
    Computed as two GEMMs with G over all O·C kernels at once (an einsum over three operands
    took a millisecond for 64×64 channels)."""
    o, c = w.shape[:2]
    g = G.astype(w.dtype)
    t = w.reshape(-1, 3) @ g.T                                  # g Gᵀ: (O·C·3, 4), [o, c, i, ν]
    t = t.reshape(o, c, 3, 4).transpose(0, 1, 3, 2).reshape(-1, 3) @ g.T   # [o, c, ν, ξ]
    return np.ascontiguousarray(t.reshape(o, c, 4, 4).transpose(3, 2, 0, 1))


def kernel_transform_adjoint(du: np.ndarray) -> np.ndarray:
    """dW = Gᵀ dU G: (4, 4, O, C) → (O, C, 3, 3), the adjoint of :func:`kernel_transform`."""
    _, _, o, c = du.shape
    g = G.astype(du.dtype)
    t = du.transpose(2, 3, 1, 0).reshape(-1, 4) @ g             # [o, c, ν, i] = Σ_ξ dU[ξν] G[ξ, i]
    t = t.reshape(o, c, 4, 3).transpose(0, 1, 3, 2).reshape(-1, 4) @ g   # [o, c, i, j]
    return t.reshape(o, c, 3, 3)


def _scratch(ws, name, shape, dtype):
    return np.empty(shape, dtype) if ws is None else ws.get(name, shape, dtype)


def _bt(d0, d1, d2, d3, out):
    """Bᵀ along one axis, into out[0..3], from the four taps of every tile:
    (d0 − d2, d1 + d2, d2 − d1, d1 − d3)."""
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def _b_adjoint(v, even, odd, tmp):
    """The adjoint of :func:`_bt`: B v per tile, added into the positions its taps came from.
    Tap k of tile j sits at 2j + k, so the even positions q get tap 0 of tile q and tap 2 of
    tile q − 1, the odd ones tap 1 of tile q and tap 3 of tile q − 1 (B v = (v0, v1 − v2 + v3,
    v1 + v2 − v0, −v3)). ``even``/``odd`` have one more entry (tile) along their first axis than v[k]."""
    t = len(v[0])
    even[:t] = v[0]                                     # tap 0
    even[t] = 0
    np.add(v[1], v[2], out=tmp)
    tmp -= v[0]
    even[1:] += tmp                                     # tap 2
    np.subtract(v[1], v[2], out=odd[:t])
    odd[:t] += v[3]                                     # tap 1
    odd[t] = 0
    odd[1:] -= v[3]                                     # tap 3


def _parity_columns(w: int, pw: int, s: int) -> tuple[int, int, int]:
    """The image columns with padded column 2q + s: (first image column, its q, how many)."""
    w0 = (s - pw) % 2
    return w0, (w0 + pw) // 2, max(0, -(-(w - w0) // 2))


def spatial_major(x: np.ndarray, padding, th: int, tw: int, ws=None) -> np.ndarray:
    """x (N, C, H, W) → P (2·th + 2, 2, tw + 1, N, C), P[h, s, q] = x_pad[:, :, h, 2q + s], zero
    padding around (and beyond, to whole tiles)."""
    (ph, pw), (n, c, h, w) = _pair(padding), x.shape
    p = _scratch(ws, "P", (2 * th + 2, 2, tw + 1, n, c), x.dtype)
    p.fill(0)
    xt = x.transpose(2, 3, 0, 1)                        # (H, W, N, C), a view
    for s in range(2):
        w0, q0, count = _parity_columns(w, pw, s)
        p[ph:ph + h, s, q0:q0 + count] = xt[:, w0::2]
    return p


def input_transform(p: np.ndarray, ws=None) -> np.ndarray:
    """V = Bᵀ d B for every 4×4 tile d of P (:func:`spatial_major`) → (16, th·tw·N, C),
    row ξ·4 + ν holding V[ξν]. Bᵀ along the height on row slices, then along the width on the
    parity slabs."""
    hp, _, q, n, c = p.shape
    th, tw = (hp - 2) // 2, q - 1
    rows = _scratch(ws, "rows", (4, th, 2, q, n, c), p.dtype)          # Bᵀ d
    _bt(*(p[k:k + 2 * th:2] for k in range(4)), out=rows)
    v = _scratch(ws, "V", (4, 4, th, tw, n, c), p.dtype)               # (Bᵀ d) B
    for a in range(4):
        _bt(*(rows[a][:, k % 2, k // 2:k // 2 + tw] for k in range(4)), out=v[a])
    return v.reshape(16, th * tw * n, c)


def input_transform_adjoint(dv: np.ndarray, th: int, tw: int, ws=None) -> np.ndarray:
    """The adjoint of :func:`input_transform`: dd = B dV Bᵀ per tile, overlapping tiles summed;
    dv (16, th·tw·N, C) → dP (2·th + 2, 2, tw + 1, N, C)."""
    c = dv.shape[2]
    dv = dv.reshape(4, 4, th, tw, -1, c)
    n = dv.shape[4]
    drows = _scratch(ws, "drows", (4, th, 2, tw + 1, n, c), dv.dtype)
    tmp = _scratch(ws, "tmp_w", (4, th, tw, n, c), dv.dtype)
    # along the width (the tile axis j moved to the front), for all four row transforms a at once
    front = lambda a: np.moveaxis(a, 2, 0)            # noqa: E731
    _b_adjoint([front(dv[:, b]) for b in range(4)],
               front(drows[:, :, 0]), front(drows[:, :, 1]), front(tmp))
    dp = _scratch(ws, "dP", (th + 1, 2, 2, tw + 1, n, c), dv.dtype)   # row 2i + s at [i, s]
    tmp = _scratch(ws, "tmp_h", (th, 2, tw + 1, n, c), dv.dtype)
    _b_adjoint(drows, dp[:, 0], dp[:, 1], tmp)                         # along the height
    return dp.reshape(2 * th + 2, 2, tw + 1, n, c)


def output_transform(m: np.ndarray, th: int, tw: int, ws=None) -> np.ndarray:
    """Y = Aᵀ M A per tile: M (16, th·tw·N, O) → Y (th, 2, 2, tw, N, O), Y[i, α, β, j] the output
    pixel (2i + α, 2j + β). Aᵀ along one axis is (m0 + m1 + m2, m1 − m2 − m3)."""
    o = m.shape[2]
    m = m.reshape(4, 4, th, tw, -1, o)
    r = _scratch(ws, "r", (2, *m.shape[1:]), m.dtype)                   # Aᵀ M
    np.add(m[0], m[1], out=r[0]); r[0] += m[2]
    np.subtract(m[1], m[2], out=r[1]); r[1] -= m[3]
    y = _scratch(ws, "Y", (th, 2, 2, tw, *m.shape[4:]), m.dtype)        # (Aᵀ M) A
    for i in range(2):
        np.add(r[i, 0], r[i, 1], out=y[:, i, 0]); y[:, i, 0] += r[i, 2]
        np.subtract(r[i, 1], r[i, 2], out=y[:, i, 1]); y[:, i, 1] -= r[i, 3]
    return y


def output_transform_adjoint(dy: np.ndarray, ws=None) -> np.ndarray:
    """The adjoint of :func:`output_transform`: dM = A dY Aᵀ per tile, dY (th, 2, 2, tw, N, O)
    → (16, th·tw·N, O). A along one axis maps (y0, y1) to (y0, y0 + y1, y0 − y1, −y1)."""
    th, _, _, tw, n, o = dy.shape
    dr = _scratch(ws, "dr", (2, 4, th, tw, n, o), dy.dtype)            # along the width (β)
    for i in range(2):
        y0, y1 = dy[:, i, 0], dy[:, i, 1]
        dr[i, 0] = y0; np.add(y0, y1, out=dr[i, 1]); np.subtract(y0, y1, out=dr[i, 2]); np.negative(y1, out=dr[i, 3])
    dm = _scratch(ws, "dM", (4, 4, th, tw, n, o), dy.dtype)            # along the height (α)
    dm[0] = dr[0]; np.add(dr[0], dr[1], out=dm[1]); np.subtract(dr[0], dr[1], out=dm[2]); np.negative(dr[1], out=dm[3])
    return dm.reshape(16, th * tw * n, o)


# ------------------------------------------------------------ the convolution and its gradients


def _pair(padding) -> tuple[int, int]:
    return (padding, padding) if np.isscalar(padding) else tuple(padding)


def tiles(h: int, w: int, padding) -> tuple[int, int, int, int]:
    """(Ho, Wo, th, tw): output size of a stride-1 3×3 convolution and its 2×2 tile counts."""
    ph, pw = _pair(padding)
    ho, wo = h + 2 * ph - 2, w + 2 * pw - 2
    return ho, wo, -(-ho // 2), -(-wo // 2)


def gemm_kernel(w: np.ndarray) -> np.ndarray:
    """The transformed kernel as the GEMMs take it: Uᵀ (16, C, O), from w (O, C, 3, 3)."""
    o, c = w.shape[:2]
    return np.ascontiguousarray(kernel_transform(w).reshape(16, o, c).transpose(0, 2, 1))


def _pixel_parities(ho: int, wo: int):
    """For the four pixel parities (α, β): (α, β, rows, columns) of an Ho × Wo image with
    row ≡ α and column ≡ β (mod 2). Y[i, α, β, j] is the pixel (2i + α, 2j + β)."""
    for alpha in range(2):
        for beta in range(2):
            yield alpha, beta, (ho - alpha + 1) // 2, (wo - beta + 1) // 2


def winograd_forward(x: np.ndarray, w: np.ndarray, padding, ut: np.ndarray | None = None,
                     out: np.ndarray | None = None, ws=None) -> np.ndarray:
    """y = conv2d(x, w) (N, O, Ho, Wo) for stride 1 and a 3×3 kernel; ``ut`` is
    :func:`gemm_kernel` (w) if already computed, ``out`` an array to write y into, ``ws`` a
    Workspace for the scratch arrays."""
    n, _, h, wd = x.shape
    ho, wo, th, tw = tiles(h, wd, padding)
    ut = gemm_kernel(w) if ut is None else ut
    v = input_transform(spatial_major(x, padding, th, tw, ws), ws)      # (16, T·N, C)
    m = np.matmul(v, ut, out=_scratch(ws, "M", (16, v.shape[1], ut.shape[2]), v.dtype))
    y = output_transform(m, th, tw, ws)                                 # 16 GEMMs above
    out = np.empty((n, ut.shape[2], ho, wo), x.dtype) if out is None else out
    for alpha, beta, rows, cols in _pixel_parities(ho, wo):           # back to NCHW
        out[:, :, alpha::2, beta::2] = y[:rows, alpha, beta, :cols].transpose(2, 3, 0, 1)
    return out


def winograd_backward(dy: np.ndarray, x: np.ndarray | None, w: np.ndarray, padding,
                      ut: np.ndarray | None = None, need_dx: bool = True, need_dw: bool = True,
                      dx_out: np.ndarray | None = None, ws=None):
    """(dx, dU) of :func:`winograd_forward` by the adjoints (module docstring), V rebuilt from x.
    dU (4, 4, O, C) is the gradient of the transformed kernel: dW = kernel_transform_adjoint(dU)
    (summing the dU of several blocks first is the same and does the small transform once).
    ``x`` is read only for dU and may be None without it: its shape follows from dy's, as
    H = Ho + 2 − 2·ph at stride 1. ``dx_out``: an array to write dx into."""
    (ph, pw), (n, o, dh, dwd) = _pair(padding), dy.shape
    if x is None and need_dw:
        raise ValueError("winograd_backward: dW needs the input x, got x=None")
    n, c, h, wd = (n, w.shape[1], dh + 2 - 2 * ph, dwd + 2 - 2 * pw) if x is None else x.shape
    ho, wo, th, tw = tiles(h, wd, padding)
    full = _scratch(ws, "dY", (th, 2, 2, tw, n, o), dy.dtype)           # dY indexed as Y
    if (ho, wo) != (2 * th, 2 * tw):
        full.fill(0)                                    # odd sizes: zeros beyond the image
    for alpha, beta, rows, cols in _pixel_parities(ho, wo):
        full[:rows, alpha, beta, :cols] = dy[:, :, alpha::2, beta::2].transpose(2, 3, 0, 1)
    dm = output_transform_adjoint(full, ws)             # (16, T·N, O)
    du = dx = None
    if need_dw:
        v = input_transform(spatial_major(x, padding, th, tw, ws), ws)
        du = np.matmul(dm.transpose(0, 2, 1), v).reshape(4, 4, o, c)   # dU[ξν] = dM[ξν]ᵀ V[ξν]
    if need_dx:
        ut = gemm_kernel(w) if ut is None else ut
        dv = np.matmul(dm, ut.transpose(0, 2, 1),      # dV[ξν] = dM[ξν] U[ξν]
                       out=_scratch(ws, "dV", (16, dm.shape[1], c), dm.dtype))
        dp = input_transform_adjoint(dv, th, tw, ws)
        dx = np.empty((n, c, h, wd), dy.dtype) if dx_out is None else dx_out
        dxt = dx.transpose(2, 3, 0, 1)                  # (H, W, N, C), a view
        for s in range(2):
            w0, q0, count = _parity_columns(wd, pw, s)
            dxt[:, w0::2] = dp[ph:ph + h, s, q0:q0 + count]
    return dx, du


# ------------------------------------------------------------ the autograd Function


def applies(weight_shape, stride) -> bool:
    """Winograd F(2×2, 3×3) computes exactly the stride-1 3×3 convolutions."""
    return tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)


def v_bytes(h: int, w: int, channels: int, itemsize: int) -> int:
    """Bytes of one sample's V (16 numbers per tile and channel; ``channels`` the larger of the
    input and output counts), what the blocks are sized by: each block is transformed,
    multiplied and transformed back while its scratch arrays are still in the core's cache;
    fewer, larger blocks make fewer NumPy calls, which matters because every call takes the
    GIL that the batch threads share."""
    _, _, th, tw = tiles(h, w, 1)
    return 16 * th * tw * channels * itemsize


class WinogradConv2dFunction(Function):
    """y = conv2d(x, W) + b for stride 1 and 3×3 kernels by Winograd F(2×2, 3×3).

    The batch is cut into fixed blocks (:func:`v_bytes`, ``parallel.budget_blocks``); each block
    is one :func:`winograd_forward` / :func:`winograd_backward`, and the runtime's threads take
    contiguous runs of blocks (:meth:`tinyquant.nn.parallel.ConvRuntime.over_batch`). dW adds the
    blocks' dU in block order, so the result does not depend on the thread count. Nothing but
    the input is kept for the backward: V is rebuilt there, block by block, as im2col's
    columns are.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, padding=(1, 1), runtime=None):
        runtime = default_runtime() if runtime is None else runtime
        n, o = x.shape[0], weight.shape[0]
        ho, wo, _, _ = tiles(*x.shape[2:], padding)
        ut = gemm_kernel(weight)
        y = np.empty((n, o, ho, wo), dtype=x.dtype)
        spans = budget_blocks(n, v_bytes(*x.shape[2:], max(x.shape[1], o), x.itemsize), runtime.block_bytes)

        def run(lo, hi):
            ws = runtime.workspace()
            for b0, b1 in spans[lo:hi]:
                winograd_forward(x[b0:b1], weight, padding, ut, out=y[b0:b1], ws=ws)

        work = 4 * x.size
        runtime.over_batch(run, len(spans), work)
        if bias is not None:
            y += bias[:, None, None]
        ctx.save_for_backward(ut, weight, x if ctx.needs_input_grad[1] else None)
        ctx.x_shape, ctx.padding, ctx.runtime, ctx.work = x.shape, padding, runtime, work
        return y

    @staticmethod
    def backward(ctx, grad):
        ut, weight, x = ctx.saved
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dx = np.empty(ctx.x_shape, dtype=grad.dtype) if need_dx else None
        spans = budget_blocks(grad.shape[0], v_bytes(*ctx.x_shape[2:], max(weight.shape[:2]), grad.itemsize),
                              ctx.runtime.block_bytes)

        def run(lo, hi):
            dus, ws = [], ctx.runtime.workspace()
            for b0, b1 in spans[lo:hi]:
                _, du = winograd_backward(grad[b0:b1], x[b0:b1] if need_dw else None, weight, ctx.padding, ut,
                                          need_dx=need_dx, need_dw=need_dw,
                                          dx_out=dx[b0:b1] if need_dx else None, ws=ws)
                dus.append(du)
            return dus

        per_block = [du for dus in ctx.runtime.over_batch(run, len(spans), ctx.work)
                     for du in dus]
        dw = None
        if need_dw:
            dw = kernel_transform_adjoint(functools.reduce(np.add, per_block)).astype(grad.dtype, copy=False)
        db = grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        return dx, dw, db
