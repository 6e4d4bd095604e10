# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Convolution by im2col
#
# A convolution layer slides a small kernel over an image. Written as loops it is easy to
# read and very slow in Python; written as **im2col + one matrix product (GEMM)** it is a few
# lines of vectorized NumPy — and it is how tinyquant (and, in spirit, most libraries)
# computes it. For quantization the GEMM view matters twice: a binary convolution is a GEMM
# whose operands are $\pm1$ (XNOR + popcount on hardware), and the backward of im2col,
# **col2im**, is how gradients get back to the image.
#
# **Learning goals.** After this notebook you can
#
# 1. state the convolution (cross-correlation) of an NCHW batch and its output size;
# 2. write a loop convolution and check it against `tinyquant.nn.functional.conv2d`;
# 3. build the im2col matrix with fancy indexing and explain its shape and memory cost;
# 4. see a convolution as one GEMM, and time it against the loops;
# 5. explain why col2im is the **adjoint** of im2col and why it computes the input gradient;
# 6. check the convolution's gradients with `tinyquant.gradcheck`.
#
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import tinyquant as tq
import tinyquant.nn.functional as F
from tinyquant.nn.im2col import col2im, im2col


# %% [markdown]
# ## 1. The operation
#
# Layout **NCHW**: input $x$ of shape $(N, C, H, W)$, weight $W$ of shape $(O, C, k_h, k_w)$,
# bias $b$ of shape $(O,)$, stride $s$, zero padding $p$. Deep-learning "convolution" is a
# cross-correlation (the kernel is not flipped):
#
# $$y[n, o, h', w'] = b[o] + \sum_{c=0}^{C-1}\sum_{i=0}^{k_h-1}\sum_{j=0}^{k_w-1}
#   W[o, c, i, j]\; x_{\text{pad}}[n, c,\; h' s + i,\; w' s + j],$$
#
# $$H_o = \left\lfloor \frac{H + 2p - k_h}{s} \right\rfloor + 1, \qquad
#   W_o = \left\lfloor \frac{W + 2p - k_w}{s} \right\rfloor + 1 .$$
#
# ### Exercise 2.1 — the loop convolution
#
# Write `conv2d_naive(x, weight, bias, stride, padding)` on NumPy arrays with six loops —
# over $n, o, h', w', i, j$ — doing the channel sum as one dot product. Zero-pad with `np.pad`.

# %%
def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    o, c_w, kh, kw = weight.shape
    assert c == c_w, f"input has {c} channels but weight expects {c_w}"
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for b in range(n):
        for oc in range(o):
            for r in range(ho):
                for q in range(wo):
                    for i in range(kh):
                        for j in range(kw):
                            # Σ_c W[oc, c, i, j] · x_pad[b, c, r·s + i, q·s + j]
                            out[b, oc, r, q] += weight[oc, :, i, j] @ xp[b, :, r * stride + i, q * stride + j]
            if bias is not None:
                out[b, oc] += bias[oc]
    return out
    ### END SOLUTION


# %% [markdown]
# **Check** against tinyquant's `conv2d` (float32, tolerance $10^{-5}$) on square and
# non-square kernels, strides 1–3 and paddings 0–2, with and without bias.

# %%
# Check exercise 2.1
rng = np.random.default_rng(0)
cases = [  # (x shape, weight shape, stride, padding, with bias)
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0, True),
    ((1, 2, 8, 6), (3, 2, 3, 2), 2, 1, False),
    ((2, 1, 9, 9), (2, 1, 5, 5), 3, 2, True),
    ((1, 4, 5, 5), (6, 4, 1, 1), 1, 0, True),
]
for x_shape, w_shape, stride, padding, with_bias in cases:
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32) if with_bias else None
    ours = conv2d_naive(x, w, b, stride, padding)
    ref = F.conv2d(tq.Tensor(x), tq.Tensor(w), None if b is None else tq.Tensor(b), stride=stride, padding=padding)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref.data, rtol=1e-5, atol=1e-5)
    print(f"x {x_shape} * W {w_shape}, stride {stride}, padding {padding} -> {ours.shape}: agrees")

# %% [markdown]
# ## 2. im2col: every patch becomes a column
#
# Look again at the formula: for one output position $(h', w')$, the numbers
# $x_{\text{pad}}[n, c, h's + i, w's + j]$ over all $(c, i, j)$ form a **patch** of
# $C k_h k_w$ values, and the output is a dot product of that patch with each filter.
# im2col copies every patch into a column of a matrix:
#
# $$\text{cols}[n,\ \underbrace{(c, i, j)}_{\text{row } r},\ \underbrace{(h', w')}_{\text{column } q}]
#  = x_{\text{pad}}[n, c, h's + i, w's + j],
#  \qquad \text{shape } (N,\ C k_h k_w,\ H_o W_o).$$
#
# Below: a $5\times5$ single-channel image holding $0, 1, \dots, 24$ and a $3\times3$ kernel.
# There are $3\times3 = 9$ output positions, so 9 columns of 9 values. The highlighted patch
# (output position $(1, 2)$) is column $q = 1\cdot 3 + 2 = 5$. Pixels in the middle of the
# image appear in many columns — im2col duplicates data.

# %%
image = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
cols = im2col(image, 3, 3, (1, 1), (0, 0))[0]  # (9, 9): rows (i, j), columns (h', w')
out_pos = (1, 2)
q = out_pos[0] * 3 + out_pos[1]

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [5, 9]})
axes[0].imshow(image[0, 0], cmap="Blues", vmin=-10, vmax=30)
for (r, c_), v in np.ndenumerate(image[0, 0]):
    axes[0].text(c_, r, f"{v:.0f}", ha="center", va="center")
axes[0].add_patch(plt.Rectangle((out_pos[1] - 0.5, out_pos[0] - 0.5), 3, 3, fill=False, ec="tab:red", lw=3))
axes[0].set_title(f"x (1, 1, 5, 5): the patch of output {out_pos}")
axes[0].set_xlabel("column w of the image"); axes[0].set_ylabel("row h of the image")
axes[1].imshow(cols, cmap="Blues", vmin=-10, vmax=30)
for (r, c_), v in np.ndenumerate(cols):
    axes[1].text(c_, r, f"{v:.0f}", ha="center", va="center", fontsize=8)
axes[1].add_patch(plt.Rectangle((q - 0.5, -0.5), 1, 9, fill=False, ec="tab:red", lw=3))
axes[1].set_xlabel("column q = (h', w')"); axes[1].set_ylabel("row r = (i, j)")
axes[1].set_title(f"im2col(x)[0]: shape {cols.shape}, column {q} is that patch")
for ax in axes:
    ax.set_xticks([]); ax.set_yticks([])
plt.tight_layout(); plt.show()

np.testing.assert_array_equal(cols[:, q], image[0, 0, 1:4, 2:5].ravel())


# %% [markdown]
# ### Exercise 2.2 — im2col by hand, with fancy indexing
#
# Build index arrays of shape $(C k_h k_w,\ H_o W_o)$ — one for the channel, one for the
# padded row $h's + i$, one for the padded column $w's + j$ — and gather everything in one
# fancy-indexing expression `xp[:, chan, rows, cols]`. No Python loop over pixels.
#
# Hints: `np.meshgrid(..., indexing="ij")` or broadcasting with `[:, None]` / `[None, :]`;
# row $r$ enumerates $(c, i, j)$ with $j$ fastest, column $q$ enumerates $(h', w')$ with $w'$
# fastest. We keep the index builder separate: Exercise 2.3 reuses it.

# %%
def im2col_indices(c, h, w, kh, kw, stride=1, padding=0):
    ### BEGIN SOLUTION
    # (chan, rows, cols) index arrays of shape (C·kh·kw, Ho·Wo) into the padded image
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    ch, i, j = np.meshgrid(np.arange(c), np.arange(kh), np.arange(kw), indexing="ij")  # each (C, kh, kw)
    oh, ow = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")                   # each (Ho, Wo)
    chan = ch.reshape(-1, 1)                                    # (C·kh·kw, 1): the same along q
    rows = i.reshape(-1, 1) + stride * oh.reshape(1, -1)       # h'·s + i
    cols = j.reshape(-1, 1) + stride * ow.reshape(1, -1)       # w'·s + j
    return chan, rows, cols
    ### END SOLUTION


def im2col_by_hand(x, kh, kw, stride=1, padding=0):
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    chan, rows, cols = im2col_indices(c, h, w, kh, kw, stride, padding)
    return xp[:, chan, rows, cols]                              # (N, C·kh·kw, Ho·Wo)
    ### END SOLUTION


# %% [markdown]
# **Check.** tinyquant builds its columns a different way (a strided *view* with
# `sliding_window_view`, then one reshape); both are copies of the same numbers, so they must
# be **exactly** equal.

# %%
# Check exercise 2.2
rng = np.random.default_rng(1)
for x_shape, (kh, kw), stride, padding in [((2, 3, 7, 6), (3, 3), 1, 0), ((1, 2, 8, 9), (3, 2), 2, 1),
                                          ((3, 1, 5, 5), (1, 1), 1, 0), ((1, 4, 11, 10), (5, 5), 3, 2)]:
    x = rng.standard_normal(x_shape)
    ours = im2col_by_hand(x, kh, kw, stride, padding)
    ref = im2col(x, kh, kw, (stride, stride), (padding, padding))
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_array_equal(ours, ref)
    print(f"x {x_shape}, kernel {kh}x{kw}, stride {stride}, padding {padding}: cols {ours.shape} identical")

# %% [markdown]
# ## 3. The GEMM view
#
# With the columns in hand, every filter meets every patch in one matrix product. Reshape the
# weight to $W_m$ of shape $(O,\ C k_h k_w)$:
#
# $$y[n] = W_m\, \text{cols}[n] + b \quad\in \mathbb R^{O \times H_o W_o}, $$
#
# and since the columns are ordered $(h', w')$, reshaping $y$ to $(N, O, H_o, W_o)$ is already
# NCHW. `@` broadcasts over the batch axis, so this is one line.
#
# The price is memory: each input value is copied into up to $k_h k_w$ columns.

# %%
rng = np.random.default_rng(2)
x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(16).astype(np.float32)

cols = im2col(x, 3, 3, (1, 1), (1, 1))                 # (N, C·kh·kw, Ho·Wo); tinyquant's, same as yours
w_matrix = w.reshape(16, -1)                           # (O, C·kh·kw)
y = (w_matrix @ cols + b[:, None]).reshape(2, 16, 32, 32)

print("x", x.shape, "-> cols", cols.shape, "; W as a matrix", w_matrix.shape, "; y", y.shape)
print(f"memory: x {x.nbytes / 1024:.0f} KiB, cols {cols.nbytes / 1024:.0f} KiB ({cols.nbytes / x.nbytes:.1f}x)")
print(f"multiply-adds: {w_matrix.shape[0] * cols.shape[1] * cols.shape[2] * cols.shape[0]:,}")
ref = F.conv2d(tq.Tensor(x), tq.Tensor(w), tq.Tensor(b), padding=1)
np.testing.assert_allclose(y, ref.data, rtol=1e-5, atol=1e-5)

# %% [markdown]
# ### How much faster?
#
# Same input for both: the loop version does one tiny dot product per Python iteration; the
# GEMM version does all the arithmetic inside BLAS. (Timings vary from machine to machine;
# we print them and assert nothing about them.)

# %%
# Check exercise 2.1
rng = np.random.default_rng(3)
x = rng.standard_normal((4, 3, 16, 16)).astype(np.float32)
w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


t_naive, y_naive = best_time(lambda: conv2d_naive(x, w, padding=1), repeats=1)
t_gemm, y_gemm = best_time(lambda: (w.reshape(8, -1) @ im2col(x, 3, 3, (1, 1), (1, 1))).reshape(4, 8, 16, 16), 20)
t_tq, y_tq = best_time(lambda: F.conv2d(tq.Tensor(x), tq.Tensor(w), padding=1).data, 20)
np.testing.assert_allclose(y_naive, y_gemm, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(y_tq, y_gemm, rtol=1e-5, atol=1e-5)

print(f"{'six loops':<22}{t_naive * 1e3:9.2f} ms")
print(f"{'im2col by hand + GEMM':<22}{t_gemm * 1e3:9.2f} ms   ({t_naive / t_gemm:,.0f}x faster)")
print(f"{'tinyquant conv2d':<22}{t_tq * 1e3:9.2f} ms   ({t_naive / t_tq:,.0f}x faster)")

# %% [markdown]
# ## 4. col2im is the adjoint of im2col
#
# im2col is a **linear** map $A: x \mapsto \text{cols}$ (it only copies entries). Its adjoint
# (transpose) $A^\top$ is defined by
#
# $$\langle A x,\ Y\rangle = \langle x,\ A^\top Y\rangle \qquad \text{for all } x, Y .$$
#
# Since $A$ copies pixel $x[n, c, h, w]$ into every column entry that reads it, $A^\top$ must
# **add** all those column entries back into that pixel. That is col2im. It is *not* the
# inverse of im2col: a pixel copied into 9 columns gets 9 contributions back.
#
# Why we care: if $\text{cols} = A x$ and the loss has gradient $\bar{\text{cols}}$, the chain
# rule gives $\bar x = A^\top \bar{\text{cols}} = \text{col2im}(\bar{\text{cols}})$. The backward of
# im2col is col2im, and with $\bar{\text{cols}}[n] = W_m^\top\, \bar y[n]$ that is the input
# gradient of the convolution.

# %%
rng = np.random.default_rng(4)
x_shape, (kh, kw), stride, padding = (2, 3, 7, 8), (3, 3), (2, 2), (1, 1)
x = rng.standard_normal(x_shape)
y = rng.standard_normal(im2col(x, kh, kw, stride, padding).shape)

lhs = np.sum(im2col(x, kh, kw, stride, padding) * y)   # ⟨im2col(x), y⟩
rhs = np.sum(x * col2im(y, x_shape, kh, kw, stride, padding))  # ⟨x, col2im(y)⟩
print(f"<im2col(x), y> = {lhs:.12f}\n<x, col2im(y)> = {rhs:.12f}")
np.testing.assert_allclose(lhs, rhs, rtol=1e-12)

# %% [markdown]
# Feeding col2im a matrix of ones counts, for each pixel, **how many columns copied it** —
# how many windows cover it. With stride 1 and padding 1 the corners are covered 4 times and
# the interior 9 times; with stride 2 the coverage is a checkerboard (some pixels are read by
# one window, others by four), which is also how unevenly gradient flows back to them.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
for ax, s in zip(axes, (1, 2)):
    shape = (1, 1, 7, 7)
    ones = np.ones(im2col(np.zeros(shape), 3, 3, (s, s), (1, 1)).shape)
    coverage = col2im(ones, shape, 3, 3, (s, s), (1, 1))[0, 0]
    im = ax.imshow(coverage, cmap="viridis", vmin=0, vmax=9)
    for (r, c_), v in np.ndenumerate(coverage):
        ax.text(c_, r, f"{v:.0f}", ha="center", va="center", color="k" if v > 6 else "w")
    ax.set_title(f"col2im(ones)\n3x3 kernel, stride {s}, padding 1")
    ax.set_xlabel("pixel column w"); ax.set_ylabel("pixel row h")
    ax.set_xticks([]); ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8, label="windows covering the pixel")
plt.show()


# %% [markdown]
# ### Exercise 2.3 — col2im by hand
#
# Write `col2im_by_hand(cols, x_shape, kh, kw, stride, padding)` with the index arrays of
# Exercise 2.2 and `np.add.at` (a plain `xp[:, chan, rows, cols] += ...` would **not** add
# repeated indices — only one of the duplicates would land). Add into a zero padded buffer,
# then crop the padding.

# %%
def col2im_by_hand(cols, x_shape, kh, kw, stride=1, padding=0):
    ### BEGIN SOLUTION
    n, c, h, w = x_shape
    chan, rows, cols_idx = im2col_indices(c, h, w, kh, kw, stride, padding)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    np.add.at(xp, (slice(None), chan, rows, cols_idx), cols)  # repeated indices accumulate
    return xp[:, :, padding : padding + h, padding : padding + w]
    ### END SOLUTION


# %% [markdown]
# **Check**: against tinyquant's `col2im` (a different algorithm: one shifted-slice addition
# per kernel offset), and the adjoint identity with tinyquant's im2col.

# %%
# Check exercise 2.3
rng = np.random.default_rng(5)
for x_shape, (kh, kw), stride, padding in [((2, 3, 7, 6), (3, 3), 1, 0), ((1, 2, 8, 9), (3, 2), 2, 1),
                                          ((2, 2, 9, 9), (3, 3), 1, 1), ((1, 4, 11, 10), (5, 5), 3, 2)]:
    x = rng.standard_normal(x_shape)
    y = rng.standard_normal(im2col(x, kh, kw, (stride, stride), (padding, padding)).shape)
    ours = col2im_by_hand(y, x_shape, kh, kw, stride, padding)
    ref = col2im(y, x_shape, kh, kw, (stride, stride), (padding, padding))
    assert ours.shape == x_shape, ours.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sum(im2col(x, kh, kw, (stride, stride), (padding, padding)) * y), np.sum(x * ours), rtol=1e-12)
print("col2im_by_hand matches tinyquant's col2im and is the adjoint of im2col.")

# %% [markdown]
# ## 5. Gradients of the convolution
#
# With $\text{cols}[n] = A x[n]$, $y[n] = W_m\,\text{cols}[n] + b$ and $\bar y = \partial L/\partial y$
# (reshaped to $(N, O, H_o W_o)$):
#
# $$\bar W_m = \sum_n \bar y[n]\ \text{cols}[n]^\top, \qquad
#   \bar b = \sum_{n, h', w'} \bar y[n, :, h', w'], \qquad
#   \bar x[n] = \text{col2im}\big(W_m^\top\, \bar y[n]\big).$$
#
# First, `gradcheck` on tinyquant's conv2d (float64 central differences, every entry of small
# inputs) for several strides and paddings and a non-square kernel:

# %%
rng = np.random.default_rng(6)
x = rng.standard_normal((2, 3, 6, 5))
w = rng.standard_normal((4, 3, 3, 2))
b = rng.standard_normal(4)
for stride, padding in [(1, 0), (1, 1), (2, 1), ((2, 1), (0, 1))]:
    assert tq.gradcheck(lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride=stride, padding=padding), x, w, b)
    print(f"conv2d stride {stride}, padding {padding}: gradcheck passed for x, W and b")

# %% [markdown]
# Then the three formulas above, computed with *your* im2col and col2im, against the
# gradients tinyquant backpropagates for a random $\bar y$:

# %%
stride, padding = 2, 1
tx, tw, tb = (tq.Tensor(a.copy(), requires_grad=True) for a in (x, w, b))
ty = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
y_bar = rng.standard_normal(ty.shape)
ty.backward(y_bar)

n, o = y_bar.shape[:2]
cols = im2col(x, 3, 2, (stride, stride), (padding, padding))   # (N, C·kh·kw, Ho·Wo)
g = y_bar.reshape(n, o, -1)                               # (N, O, Ho·Wo)
w_bar = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
b_bar = y_bar.sum(axis=(0, 2, 3))
x_bar = col2im(w.reshape(o, -1).T @ g, x.shape, 3, 2, (stride, stride), (padding, padding))

np.testing.assert_allclose(w_bar, tw.grad, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(b_bar, tb.grad, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(x_bar, tx.grad, rtol=1e-10, atol=1e-12)
print("dW = Σ dy·colsᵀ, db = Σ dy and dx = col2im(Wᵀ·dy) reproduce tinyquant's gradients.")

# %% [markdown]
# ## Summary
#
# * A convolution is a GEMM between the filters, $(O, C k_h k_w)$, and the image's patches laid
#   out as columns, $(C k_h k_w, H_o W_o)$ — at the cost of $\approx k_h k_w\times$ the input's memory.
# * im2col is linear; its adjoint col2im *adds* the columns back, and is exactly the input
#   gradient of im2col. A check $\langle Ax, Y\rangle = \langle x, A^\top Y\rangle$ catches a wrong
#   adjoint in one line.
# * For a binary network the GEMM's operands become $\pm1$: the patch matrix of binarized
#   activations times the binarized filters. Nothing else in this notebook changes.
#
# **Next:** 03 — batch normalization, the layer that makes binary networks trainable.
