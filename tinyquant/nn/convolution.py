"""Convolution (cross-correlation, NCHW) as im2col and one GEMM, forward and backward.

With cols = im2col(x) (N, C·kh·kw, Ho·Wo) and Wm = W.reshape(O, C·kh·kw) (see
:mod:`tinyquant.nn.im2col`):

    forward   y[n]  = Wm · cols[n] + b                         (N, O, Ho·Wo) = NCHW
    backward  dW    = Σ_n  dy[n] · cols[n]ᵀ                      (O, C·kh·kw)
              db    = Σ_{n, ho, wo} dy[n, :, ho, wo]
              dx    = col2im(Wmᵀ · dy[n])                        (the adjoint of im2col)

For stride 1, dx is itself a convolution: the "full" correlation of dy with the kernel
flipped in space and with in/out channels swapped, W'[c, o, i, j] = W[o, c, kh−1−i, kw−1−j],
over dy padded by kh−1−ph (a negative pad crops). It reuses the forward path and is
faster than any scatter (PERF.md). For stride > 1, col2im's kh·kw shifted-slice additions.

``conv1d`` is ``conv2d`` on a height-1 image: x (N, C, L) → (N, C, 1, L), W (O, C, k) →
(O, C, 1, k).
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..ops import check_floating
from ..tensor import Tensor
from .im2col import col2im, im2col, output_size
from .kernel_rows import row_columns, rows_forward, rows_weight_grad, weight_from_rows, weight_rows
from .parallel import ConvRuntime, budget_blocks, default_runtime
from .winograd import WinogradConv2dFunction, applies as winograd_applies

# ------------------------------------------------------------------ checks


def as_pair(value, name: str, fn: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair; else TypeError/ValueError."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fn}: {name} must be {what}, got {value!r}")
    return int(pair[0]), int(pair[1])


def as_single(value, name: str, fn: str, minimum: int) -> int:
    """An int or a 1-tuple (PyTorch accepts ``stride=(2,)``), >= minimum, as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise TypeError(f"{fn}: {name} must be an int or a 1-tuple of ints, got {value!r}")
        value = value[0]
    return as_pair(value, name, fn, minimum)[0]


def _check_tensor(t, name: str, fn: str, ndim: int, layout: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: {name} must be a tinyquant.Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-D {layout}, got shape {t.shape}")


def _check_conv(fn, x, weight, bias, x_layout, w_layout) -> None:
    nd = x_layout.count(",") + 1
    _check_tensor(x, "input", fn, nd, x_layout)
    _check_tensor(weight, "weight", fn, nd, w_layout)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{fn}: input has {x.shape[1]} channels but weight expects {weight.shape[1]} "
            f"(weight shape {weight.shape})"
        )
    check_floating(fn, "input", x)
    check_floating(fn, "weight", weight)
    if x.dtype != weight.dtype:
        raise TypeError(f"{fn}: input dtype {x.dtype} differs from weight dtype {weight.dtype}")
    if min(weight.shape) < 1:
        raise ValueError(f"{fn}: weight shape {weight.shape} has an empty axis; expected at least "
                         f"one output channel, one input channel and a kernel of at least 1 "
                         f"(got kernel {weight.shape[2:]})")
    if x.shape[0] == 0 or min(x.shape[2:]) < 1:
        raise ValueError(f"{fn}: input of shape {x.shape} is empty; expected at least one sample "
                         f"and a non-empty spatial size")
    if bias is not None:
        _check_tensor(bias, "bias", fn, 1, "(O,)")
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"{fn}: bias shape {bias.shape} does not match weight shape {weight.shape}")


# ----------------------------------------------------------------- the plain version


class Conv2dReference(Function):
    """conv2d as a student writes it first: one im2col, one GEMM, and their adjoints.

    :class:`Conv2dFunction` below computes exactly this, faster (blocks of the batch in cache,
    on threads, columns rebuilt instead of kept, a convolution for dx at stride 1), and
    the tests hold the two equal. Read this one first.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        o, _, kh, kw = weight.shape
        ho, wo = (output_size(s, k, st, p) for s, k, st, p in zip(x.shape[2:], (kh, kw), stride, padding))
        cols = im2col(x, kh, kw, stride, padding)                # (N, C·kh·kw, Ho·Wo)
        y = weight.reshape(o, -1) @ cols                          # y[n] = Wm · cols[n]
        if bias is not None:
            y += bias[:, None]
        ctx.save_for_backward(cols, weight)
        ctx.x_shape, ctx.stride, ctx.padding = x.shape, stride, padding
        return y.reshape(x.shape[0], o, ho, wo)

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved
        o, _, kh, kw = weight.shape
        g = grad.reshape(grad.shape[0], o, -1)                    # (N, O, Ho·Wo)
        dw = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)   # Σ_n dy[n]·cols[n]ᵀ
        dcols = weight.reshape(o, -1).T @ g                        # Wmᵀ · dy[n]
        dx = col2im(dcols, ctx.x_shape, kh, kw, ctx.stride, ctx.padding)        # im2col's adjoint
        return dx, dw, grad.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------- the op


class Conv2dFunction(Function):
    """y = conv2d(x, W) + b, fast: blocks of the batch on threads, kernel-row GEMMs at stride 1.

    Stride 1 (every 3×3 layer of ResNet but the downsampling ones) goes through
    :mod:`tinyquant.nn.kernel_rows`: kh GEMMs over shifted views of one matrix holding kw copies
    of the input, instead of im2col's kh·kw copies; other strides through im2col and one batched
    GEMM (the module docstring). Both compute the same sums as :class:`Conv2dReference`.

    The batch is cut into fixed blocks of a few samples (:func:`~tinyquant.nn.parallel.budget_blocks`, sized by
    ``ConvRuntime.block_bytes``); each block is the whole computation on its slice of the
    batch, its column matrix built in the thread's :class:`~tinyquant.nn.im2col.Workspace` and
    used at once. Why blocks: the same few megabytes are reused block after block and stay in
    the core's cache, where a column matrix of the whole batch (75 MB for ResNet-20's
    16-channel layer at batch 128) streams through memory twice. The runtime's threads take
    contiguous runs of blocks (:meth:`tinyquant.nn.parallel.ConvRuntime.over_batch`), and dW
    adds the blocks' partial sums in block order, so results do not depend on the thread count.

    dW needs the columns again. By default the backward rebuilds them from the saved input,
    block by block, rather than keeping them from the forward: keeping every layer's columns
    made a ResNet-20 training step at batch 128 hold 4.2× PyTorch's working memory
    (benchmarks/bench_memory.py). ``ConvRuntime(save_columns=True)`` keeps them instead.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0), runtime=None, rows=None):
        runtime = default_runtime() if runtime is None else runtime
        o, c, kh, kw = weight.shape
        n, ho, wo = x.shape[0], *map(output_size, x.shape[2:], (kh, kw), stride, padding)
        y = np.empty((n, o, ho * wo), dtype=x.dtype)
        keep = is_grad_enabled() and ctx.needs_input_grad[1] and runtime.save_columns
        rows = stride == (1, 1) if rows is None else bool(rows) and stride == (1, 1)
        shape = _columns_shape(x.shape, weight.shape, stride, padding, rows)   # one sample's columns
        spans = budget_blocks(n, int(np.prod(shape)) * x.itemsize, runtime.block_bytes)
        w_rows = weight_rows(weight) if rows else weight.reshape(o, -1)
        kept = {}

        def run(lo, hi):
            ws = runtime.workspace()
            for i in range(lo, hi):
                b0, b1 = spans[i]
                cols = np.empty((b1 - b0, *shape), x.dtype) if keep else ws.get("cols", (b1 - b0, *shape), x.dtype)
                _build_columns(x[b0:b1], kh, kw, stride, padding, rows, ws, out=cols)
                if rows:                                                # y[n] = Σ_i W_i · R_i[n]
                    rows_forward(cols, w_rows, ho, out=y[b0:b1], tmp=ws.get("y", (b1 - b0, o, ho * wo), x.dtype))
                else:                                                   # y[n] = Wm · cols[n]
                    np.matmul(w_rows, cols, out=y[b0:b1])
                if keep:
                    kept[i] = cols

        work = n * int(np.prod(shape))                                  # the columns' size
        runtime.over_batch(run, len(spans), work)
        if bias is not None:
            y += bias[:, None]
        # dW needs the columns: kept (runtime.save_columns) or rebuilt from x in the backward
        ctx.save_for_backward(weight, kept, x if ctx.needs_input_grad[1] else None)
        ctx.x_shape, ctx.stride, ctx.padding, ctx.runtime = x.shape, stride, padding, runtime
        ctx.spans, ctx.work, ctx.shape, ctx.rows = spans, work, shape, rows
        return y.reshape(n, o, ho, wo)

    @staticmethod
    def backward(ctx, grad):
        if ctx.stride is None:
            raise RuntimeError("conv2d: backward through the same graph twice; its columns were released")
        weight, kept, x = ctx.saved
        runtime, spans, shape = ctx.runtime, ctx.spans, ctx.shape
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        n, (o, c, kh, kw) = grad.shape[0], weight.shape
        rows = ctx.rows
        g = grad.reshape(n, o, -1)                               # (N, O, Ho·Wo)
        ho = grad.shape[2]
        dx = np.empty(ctx.x_shape, dtype=grad.dtype) if need_dx else None
        flipped = _flipped(weight) if need_dx and ctx.stride == (1, 1) else None
        flipped = weight_rows(flipped) if rows and flipped is not None else flipped

        def run(lo, hi):
            ws, parts = runtime.workspace(), []
            for i in range(lo, hi):
                b0, b1 = spans[i]
                if need_dx:
                    _conv2d_input_grad(grad[b0:b1], weight, flipped, ctx.stride, ctx.padding, ws,
                                       out=dx[b0:b1], rows=rows)
                if not need_dw:
                    continue
                cols = kept.pop(i, None)                         # kept by the forward, or rebuilt
                if cols is None:
                    cols = _build_columns(x[b0:b1], kh, kw, ctx.stride, ctx.padding, rows, ws,
                                          out=ws.get("cols", (b1 - b0, *shape), grad.dtype))
                if rows:                                         # Σ_n R_i[n]·dy[n]ᵀ per kernel row
                    parts.append(rows_weight_grad(cols, g[b0:b1], kh, ho,
                                                  tmp=ws.get("dw", (b1 - b0, c * kw, o), grad.dtype)))
                else:
                    # dW[n]ᵀ = cols[n]·dy[n]ᵀ: (C·kh·kw, Ho·Wo)·(Ho·Wo, O), the orientation
                    # OpenBLAS runs 1.5× faster than dy[n]·cols[n]ᵀ at 16–32 channels
                    per_sample = np.matmul(cols, g[b0:b1].transpose(0, 2, 1),
                                           out=ws.get("dw", (b1 - b0, c * kh * kw, o), grad.dtype))
                    parts.append(per_sample.sum(axis=0))
            return parts

        partial = [p for parts in runtime.over_batch(run, len(spans), ctx.work) for p in parts]
        dw = db = None
        if need_dw:
            total = functools.reduce(np.add, partial)            # Σ_n, in block order
            dw = weight_from_rows(total, weight.shape) if rows else total.T.reshape(weight.shape)
            dw = np.ascontiguousarray(dw)
            ctx.saved, ctx.stride = (), None                     # the columns are reused from now on
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))                        # Σ over batch and pixels
        return dx, dw, db


def _columns_shape(x_shape, weight_shape, stride, padding, rows: bool) -> tuple[int, ...]:
    """One sample's column matrix: (C, kw, H + 2·ph, Wo) for the kernel-row path (stride 1),
    (C·kh·kw, Ho·Wo) for im2col."""
    (_, c, h, w), (_, _, kh, kw), (ph, pw) = x_shape, weight_shape, padding
    wo = output_size(w, kw, stride[1], pw)
    if rows:
        return c, kw, h + 2 * ph, wo
    return c * kh * kw, output_size(h, kh, stride[0], ph) * wo


def _build_columns(x, kh, kw, stride, padding, rows: bool, ws, out):
    """A block's columns into ``out`` (:func:`_columns_shape`): the kernel rows' R or im2col's."""
    if rows:
        return row_columns(x, kw, padding, out=out, xp=_padded_scratch(ws, x, padding))
    return im2col(x, kh, kw, stride, padding, out=out)


def _padded_scratch(ws, x, padding):
    """A Workspace array for x zero-padded by ``padding`` (its border is rewritten by
    :func:`~tinyquant.nn.kernel_rows.row_columns`)."""
    (ph, pw), (n, c, h, w) = padding, x.shape
    return ws.get("xpad", (n, c, h + 2 * ph, w + 2 * pw), x.dtype)


def _flipped(weight):
    """W'[c, o, i, j] = W[o, c, kh−1−i, kw−1−j]: the kernel of dx's convolution (stride 1)."""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def _conv2d_input_grad(grad, weight, flipped, stride, padding, ws, out, rows):
    """dL/dx of the convolution, written into ``out``: at stride 1 a convolution of dy with the
    flipped kernel (``flipped``: :func:`_flipped`, as kernel rows if ``rows``), by kernel rows or
    im2col; else col2im. Scratch from the Workspace ``ws``."""
    o, c, kh, kw = weight.shape
    (ph, pw), n, (h, w) = padding, grad.shape[0], out.shape[2:]
    if stride == (1, 1):
        # dx[n, c, h, w] = Σ_{o, i, j} dy_pad[n, o, h + i, w + j] · W[o, c, kh−1−i, kw−1−j],
        # dy padded by kh−1−ph (a negative amount crops)
        qh, qw = kh - 1 - ph, kw - 1 - pw
        g = grad[..., max(-qh, 0):grad.shape[2] - max(-qh, 0), max(-qw, 0):grad.shape[3] - max(-qw, 0)]
        pad = (max(qh, 0), max(qw, 0))
        if rows:
            r = row_columns(g, kw, pad, xp=_padded_scratch(ws, g, pad),
                            out=ws.get("dcols", (n, o, kw, g.shape[2] + 2 * pad[0], w), grad.dtype))
            rows_forward(r, flipped, h, out=out.reshape(n, c, h * w), tmp=ws.get("dx", (n, c, h * w), grad.dtype))
        else:
            dcols = im2col(g, kh, kw, padding=pad, out=ws.get("dcols", (n, o * kh * kw, h * w), grad.dtype))
            np.matmul(np.ascontiguousarray(flipped).reshape(c, -1), dcols, out=out.reshape(n, c, h * w))
        return out
    g = grad.reshape(n, o, -1)
    dcols = np.matmul(weight.reshape(o, -1).T, g,                # (N, C·kh·kw, Ho·Wo)
                      out=ws.get("dcols", (n, c * kh * kw, g.shape[2]), grad.dtype))
    return col2im(dcols, out.shape, kh, kw, stride, padding, out=out)


# ------------------------------------------------------------- which path


#: What ``"auto"`` takes at stride 1, from measurements of forward + backward on 2 threads
#: (benchmarks/README.md, Performance II; ms, im2col / rows / winograd):
#:
#: * Winograd for 3×3 kernels with at least ``WINOGRAD_MIN_CHANNELS`` input and output channels
#:   on images of at most ``WINOGRAD_MAX_PIXELS`` pixels: 64 ch 8×8, batch 128: 20.3 / 26.0 /
#:   14.6; 32→64 ch 4×4, batch 64: 4.0 / 3.1 / 2.0; 32 ch 8×8: 6.6 / 4.9 / 4.5.
#: * im2col when one kernel row's GEMM would be thin (C·kw < ``ROWS_MIN_DEPTH``): the 3-channel
#:   stem at 32×32, batch 128: 12.0 / 18.9 / 30.3.
#: * kernel rows otherwise: 16 ch 32×32: 39.4 / 25.0 / 44.0; 32 ch 16×16: 25.1 / 18.8 / 24.1;
#:   16 ch 8×8: 4.6 / 3.1 / 3.5.
WINOGRAD_MIN_CHANNELS, WINOGRAD_MAX_PIXELS, ROWS_MIN_DEPTH = 32, 64, 16


def conv_algorithm(algorithm: str, x_shape, weight_shape, stride) -> str:
    """The path conv2d takes: ``"winograd"`` (:mod:`tinyquant.nn.winograd`), ``"rows"``
    (:mod:`tinyquant.nn.kernel_rows`) or ``"im2col"``. A forced ``algorithm`` applies where it
    can (Winograd: stride-1 3×3; rows: stride 1) and im2col does the rest; ``"auto"`` follows
    the measurements above."""
    stride = tuple(stride)
    if algorithm == "im2col" or stride != (1, 1):
        return "im2col"
    wino = winograd_applies(weight_shape, stride)
    if algorithm == "winograd":
        return "winograd" if wino else "im2col"
    if algorithm == "rows":
        return "rows"
    (o, c, _, kw), pixels = weight_shape, x_shape[2] * x_shape[3]
    if wino and pixels <= WINOGRAD_MAX_PIXELS and min(o, c) >= WINOGRAD_MIN_CHANNELS:
        return "winograd"
    return "rows" if c * kw >= ROWS_MIN_DEPTH else "im2col"


# ------------------------------------------------------------- public API


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           runtime: ConvRuntime | None = None) -> Tensor:
    """2-D convolution: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) → (N, O, Ho, Wo).

    y[n, o, ho, wo] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, c, ho·sh + i, wo·sw + j],
    Ho = (H + 2ph − kh) // sh + 1. ``stride`` and ``padding`` are an int or a pair (PyTorch's
    conventions; zero padding). ``runtime``: the threads and buffers to use (default
    :func:`tinyquant.nn.parallel.default_runtime`).
    """
    _check_conv("conv2d", x, weight, bias, "(N, C, H, W)", "(O, C, kh, kw)")
    stride = as_pair(stride, "stride", "conv2d", 1)
    padding = as_pair(padding, "padding", "conv2d", 0)
    for axis, size, k, p in zip(("height", "width"), x.shape[2:], weight.shape[2:], padding):
        if k > size + 2 * p:
            raise ValueError(
                f"conv2d: kernel {axis} {k} is larger than the padded input {axis} {size + 2 * p} "
                f"(input shape {x.shape}, padding {padding})"
            )
    runtime = default_runtime() if runtime is None else runtime
    path = conv_algorithm(runtime.algorithm, x.shape, weight.shape, stride)
    if path == "winograd":
        return WinogradConv2dFunction.apply(x, weight, bias, padding=padding, runtime=runtime)
    return Conv2dFunction.apply(x, weight, bias, stride=stride, padding=padding, runtime=runtime,
                                rows=path == "rows")


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           runtime: ConvRuntime | None = None) -> Tensor:
    """1-D convolution: x (N, C, L), weight (O, C, k), bias (O,) → (N, O, Lo).

    y[n, o, l] = b[o] + Σ_{c, i} W[o, c, i] · x_pad[n, c, l·s + i],  Lo = (L + 2p − k) // s + 1;
    computed as conv2d on height-1 images.
    """
    _check_conv("conv1d", x, weight, bias, "(N, C, L)", "(O, C, k)")
    stride = as_single(stride, "stride", "conv1d", 1)
    padding = as_single(padding, "padding", "conv1d", 0)
    if weight.shape[2] > x.shape[2] + 2 * padding:
        raise ValueError(
            f"conv1d: kernel size {weight.shape[2]} is larger than the padded input length "
            f"{x.shape[2] + 2 * padding} (input shape {x.shape}, padding {padding})"
        )
    (n, c, length), (o, _, k) = x.shape, weight.shape
    y = Conv2dFunction.apply(x.reshape(n, c, 1, length), weight.reshape(o, c, 1, k), bias,
                             stride=(1, stride), padding=(0, padding), runtime=runtime)
    return y.reshape(n, o, y.shape[3])
