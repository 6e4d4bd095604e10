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
# # 10 · The geometry of straight-through estimators, and AB-STE
#
# A binary network computes with $\mathrm{sign}(w)$, whose derivative is 0 almost everywhere. A
# **straight-through estimator** keeps the exact forward and, in the backward pass only, replaces
# $\mathrm{sign}'$ by the derivative $F'$ of a *soft forward* $F \approx \mathrm{sign}$. Seed 000 compares eleven such
# estimators. Seed 004 proposes two new ones, AB-Tanh and AB-ArcTan, which blend the identity with a
# sigmoid-like curve by a factor $f$ that grows during training. It also states two lemmas about them.
# This notebook looks at the shape of these functions and checks the lemmas numerically.
#
# **Learning goals.** After this notebook you can
#
# 1. say exactly what an STE changes in backprop, and verify it on tinyquant's `binary_connect`;
# 2. read any estimator as a pair $(F, F')$ and compare estimators by their geometry: peak, mass, width;
# 3. draw seed 004's Fig. 3 for AB-Tanh and AB-ArcTan, $f \in \{0, 0.2, \dots, 1\}$;
# 4. turn a sign estimator into one for a multi-level staircase (the staircase rule);
# 5. test Lemma 1 (the variance of $F'$) and Lemma 2 (the Lipschitz constant of $F'$) numerically, find what
#    the paper got wrong, and derive the correct statements;
# 6. watch $f$ follow its schedule $0.2 \to 0.8$ in a real training run.
#
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
import math
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import integrate, stats

import tinyquant as tq
from tinyquant.quant import STES, get_quantizer, get_ste, staircase_derivative
from toy_problems import ste_analysis

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm outside Jupyter widgets
notebook_start = time.perf_counter()
print("numpy", np.__version__, "| tinyquant", tq.__version__, "|", len(STES), "registered STEs:", ", ".join(STES))

# %% [markdown]
# ## 1. What an STE is
#
# Forward: $w_b = \mathrm{sign}(w)$ (tinyquant takes $\mathrm{sign}(0) = +1$; a binary weight is never 0).
# Backward: the exact derivative would be $\partial L/\partial w = \partial L/\partial w_b \cdot 0$. The STE
# replaces it by
#
# $$\frac{\partial L}{\partial w} \;\approx\; \frac{\partial L}{\partial w_b}\cdot F'(w).$$
#
# $F$ never enters the forward pass. It is only the curve whose slope we pretend `sign` has. The cell
# binarizes a ramp with tinyquant's `binary_connect` quantizer and three estimators. It then checks that
# the forward is `sign` in all three cases, and that the gradient reaching $w$ is exactly $F'(w)$ times the
# upstream gradient.

# %%
ramp = np.linspace(-2, 2, 801)
upstream = np.random.default_rng(0).uniform(0.5, 1.5, ramp.shape)      # some ∂L/∂w_b
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(ramp, np.where(ramp >= 0, 1, -1), "k", lw=2, label="forward: sign(w), for every STE")
for name in ("clipped", "tanh", "ab_tanh"):
    quantizer = get_quantizer("binary_connect", ste=name)
    w = tq.Tensor(ramp.copy(), requires_grad=True)
    w_b = quantizer(w)
    (w_b * tq.Tensor(upstream)).sum().backward()
    assert np.array_equal(w_b.data, np.where(ramp >= 0, 1.0, -1.0))
    np.testing.assert_allclose(w.grad, upstream * get_ste(name).dF(ramp), rtol=1e-12)
    axes[0].plot(ramp, get_ste(name).F(ramp), lw=1, label=f"F of {name} (never used forward)")
    axes[1].plot(ramp, w.grad / upstream, label=f"{name}: ∂L/∂w ÷ ∂L/∂w_b")
axes[0].legend(fontsize=7); axes[1].legend(fontsize=8); axes[1].set_xlabel("w"); axes[0].set_xlabel("w")
axes[0].set_ylabel("w_b = sign(w), F(w)"); axes[1].set_ylabel("gradient ratio = F′(w)")
plt.tight_layout(); plt.show()
print("the backward of binary_connect is upstream × F'(w) for each STE")

# %% [markdown]
# ## 2. Every registered STE, and its geometry
#
# Each estimator is written for `sign`, so where it saturates $F$ runs from −1 to +1. Its derivative then
# has **mass** $\int F' = F(\infty) - F(-\infty) = 2$, the height of the step it imitates. Estimators differ in
# how they spend that mass. A tall narrow peak, like $\tanh(kx)$ with large $k$, is faithful to `sign` but
# gives most weights almost no gradient. A flat wide window gives every weight a gradient that says
# little about the step. The numbers below describe each shape:
#
# * $F'(0)$: the peak (for `sign`, $\infty$);
# * mass on $[-3, 3]$: $\int_{-3}^{3}F'(x)\,dx$ (for the identity it grows without bound);
# * $\mathbb E[F'(X)]$ and $P(F'(X) > 0.01)$ for $X\sim\mathcal N(0,1)$: the mean gradient gain, and the
#   fraction of standardized weights that receive any gradient.
#
# Scheduled estimators (`ab_tanh`, `ab_arctan`, `ede`, `reste`) are shown at their starting parameters.

# %%
x = np.linspace(-8, 8, 16_001)                  # a 0.001 grid; N(0, 1) has no mass beyond ±8
gauss, inner = stats.norm.pdf(x), np.abs(x) <= 3
names = list(STES)
fig, axes = plt.subplots(3, 5, figsize=(15, 7.5), sharex=True, sharey=True)
print(f"{'STE':<11} {'F′(0)':>7} {'∫F′ on [−3,3]':>14} {'E[F′(X)]':>9} {'P(F′(X) > 0.01)':>16}")
for ax, name in zip(axes.flat, names):
    ste = get_ste(name)
    dF = ste.dF(x)
    ax.plot(x[inner], np.where(x[inner] >= 0, 1, -1), color="0.8", lw=2)
    ax.plot(x[inner], ste.F(x[inner]), label="F")
    ax.plot(x[inner], dF[inner], label="F′")
    ax.set_ylim(-1.7, 5.3); ax.set_title(name, fontsize=10)   # one scale: swish's F′ peaks at β = 5
    mass = np.trapezoid(dF[inner], x[inner])
    print(f"{name:<11} {float(ste.dF(0.0)):7.3f} {mass:14.3f} {np.trapezoid(dF * gauss, x):9.3f} "
          f"{np.trapezoid((dF > 0.01) * gauss, x):16.3f}")
    if name in ("clipped", "polynomial", "tanh", "sigmoid", "swish"):   # saturating: mass = F(3) − F(−3) ≈ 2
        assert abs(mass - (ste.F(3.0) - ste.F(-3.0))) < 2e-3            # (trapezoid rule on a 0.001 grid)
for ax in axes.flat[len(names):]:
    ax.set_visible(False)
for ax in axes[:, 0]:
    ax.set_ylabel("F(x), F′(x)")
for j in range(axes.shape[1]):   # the lowest visible panel of each column carries the x label
    col = [ax for ax in axes[:, j] if ax.get_visible()]
    col[-1].set_xlabel("x (latent value)"); col[-1].xaxis.set_tick_params(labelbottom=True)
axes.flat[0].legend(fontsize=8)
fig.suptitle("soft forward F (blue) and surrogate derivative F′ (orange) of every registered STE; grey: sign")
plt.tight_layout(); plt.show()

# %% [markdown]
# Seed 000's poster finds no significant difference in *final* accuracy between such estimators
# (a 0.35 pp spread over eleven STEs, TTQ and XNOR on ResNet-20). It does find differences in how
# *stable* fine-tuning is: `polynomial` is smoothest for ternary weights and `sigmoid` for binary ones. The
# geometry above is what differs between them.
#
# ## 3. AB-Tanh and AB-ArcTan (seed 004, Fig. 3)
#
# $$\text{AB-Tanh:}\quad F(x) = (1-f)\,x + f\tanh(kx),\qquad F'(x) = (1-f) + f\,k\,\mathrm{sech}^2(kx)\qquad\text{(eqs. 3–4)}$$
#
# $$\text{AB-ArcTan:}\quad F(x) = \tfrac{1-f}{2}\,x + \tfrac{f}{\arctan 2k}\arctan(kx),\qquad
# F'(x) = \tfrac{1-f}{2} + \frac{f\,k}{\arctan(2k)\,(1+k^2x^2)}\qquad\text{(eqs. 5–6)}$$
#
# Both use $k = 10$. At $f = 0$, AB-Tanh is the identity STE. At $f = 1$ it is $\tanh(kx)$, whose
# derivative peaks at $F'(0) = k = 10$. The blend is a *floor* of $1-f$ under a peak of height $fk$.
# AB-ArcTan as printed is normalized so that $F(\pm 2) = \pm 1$ for every $f$; at $f = 0$ it is therefore
# $x/2$, not the identity. tinyquant keeps the paper's constants.

# %%
xs = np.linspace(-1.5, 1.5, 3001)
blend = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5))
for row, name in enumerate(("ab_tanh", "ab_arctan")):
    for f in blend:
        ste = get_ste(name, f=f, k=10.0)
        axes[row, 0].plot(xs, ste.F(xs), label=f"f = {f:.1f}")
        axes[row, 1].plot(xs, ste.dF(xs), label=f"f = {f:.1f}")
    axes[row, 0].plot(xs, np.where(xs >= 0, 1, -1), color="0.7", lw=1, ls="--")
    axes[row, 0].set_title(f"{name}: F(x), k = 10"); axes[row, 1].set_title(f"{name}: F′(x)")
    axes[row, 1].set_yscale("log"); axes[row, 0].legend(fontsize=7)
    axes[row, 0].set_ylabel("F(x)"); axes[row, 1].set_ylabel("F′(x), log scale")
    for ax in axes[row]:
        ax.set_xlabel("x (latent value)")
fig.suptitle("seed 004, Fig. 3 (and its AB-ArcTan counterpart)")
plt.tight_layout(); plt.show()


# %% [markdown]
# **Move f and k yourself.** With the `[notebooks]` extra in a live Jupyter session, the sliders
# below redraw F and F′ of the chosen estimator (tinyquant's own, `get_ste(name, f=f, k=k)`). Watch
# the floor $1 - f$ and the peak $f k$ of AB-Tanh's F′ trade places; run headless (as in the tests
# and the docs) it is one static figure at the defaults.

# %%
from tinyquant.interactive import interactive_figure


def draw_ste(name, f, k):
    ste = get_ste(name, f=f, k=k)
    x = np.linspace(-2, 2, 2001)
    fig, (ax_f, ax_df) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax_f.plot(x, ste.F(x), label=f"F, f = {f:.2f}, k = {k:.1f}")
    ax_f.plot(x, np.where(x >= 0, 1, -1), color="0.6", lw=1, ls="--", label="sign(x), the forward")
    ax_f.set_xlabel("x (latent weight)"); ax_f.set_ylabel("F(x)"); ax_f.set_ylim(-1.3, 1.3)
    ax_df.plot(x, ste.dF(x), color="tab:red", label="F′ (what the backward passes)")
    ax_df.axhline(1 - f, color="0.5", lw=0.8, ls=":", label="1 − f")
    ax_df.set_xlabel("x (latent weight)"); ax_df.set_ylabel("F′(x)")
    for ax in (ax_f, ax_df):
        ax.legend(fontsize=8, loc="upper left"); ax.grid(alpha=0.3)
    fig.suptitle(f"{name}: F and F′")
    plt.tight_layout(); plt.show()


interactive_figure(draw_ste, name=["ab_tanh", "ab_arctan"], f=(0.0, 1.0, 0.05, 0.5), k=(0.5, 20.0, 0.5, 10.0));


# %% [markdown]
# ### Exercise 10.1: AB-Tanh's backward
#
# Write `ab_tanh_grad(x, f, k)` $= F'(x)$ for AB-Tanh. It must work on arrays and must not overflow for
# large $|x|$: $\cosh(kx)$ overflows float64 once $|kx| > 710$, while $\mathrm{sech}^2(kx) = 1 - \tanh^2(kx)$
# does not. The check compares it with tinyquant's estimator and with a central difference of
# tinyquant's $F$.

# %%
def ab_tanh_grad(x, f, k=10.0):
    ### BEGIN SOLUTION
    t = np.tanh(k * np.asarray(x, dtype=float))
    return (1 - f) + f * k * (1 - t * t)            # sech² = 1 − tanh²
    ### END SOLUTION


# %%
# Check exercise 10.1
grid = np.concatenate([np.linspace(-3, 3, 1201), [-1e3, -80.0, 80.0, 1e3]])
for f in (0.0, 0.2, 0.5, 0.8, 1.0):
    for k in (1.0, 10.0, 30.0):
        ste = get_ste("ab_tanh", f=f, k=k)
        ours = ab_tanh_grad(grid, f, k)
        assert np.all(np.isfinite(ours)), "overflow for large |x|"
        with np.errstate(over="ignore"):   # tinyquant squares cosh(700) = inf; 1/inf = 0 is still right
            reference = ste.dF(grid)
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
        h = 1e-6
        numeric = (ste.F(grid + h) - ste.F(grid - h)) / (2 * h)
        np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-6)
print("exercise 10.1: correct for 15 (f, k) pairs, tails included")

# %% [markdown]
# ## 4. The staircase rule: one STE for every quantizer
#
# A $b$-bit quantizer is a staircase $Q(x) = c + \sum_k h_k H(x - t_k)$, with thresholds $t_k$, step heights
# $h_k$ and $H$ the Heaviside step. Since $\mathrm{sign}(x) = -1 + 2H(x)$ is a single step of height 2, each step
# is $(h_k/2)\,\mathrm{sign}(x - t_k)$ plus a constant. Each step therefore gets the sign estimator, centred
# on its threshold, scaled by its height and stretched to a width $s$:
#
# $$\tilde Q(x) = c' + \sum_k \frac{h_k}{2}\,F\!\Big(\frac{x - t_k}{s}\Big),\qquad
# \tilde Q'(x) = \sum_k \frac{h_k}{2s}\,F'\!\Big(\frac{x - t_k}{s}\Big).$$
#
# Below is a 2-bit staircase with levels $\{-1.5, -0.5, 0.5, 1.5\}\cdot\Delta$ and thresholds
# $\{-\Delta, 0, \Delta\}$, with the AB-Tanh kernel at width $s = \Delta/2$ for several $f$. The check confirms
# that tinyquant's `staircase_derivative` is the derivative of the soft staircase $\tilde Q$ built from
# $F$. (Notebook 07 shows the same rule with the clipped kernel, which reproduces UniQ's STE.)

# %%
step = 0.5
thresholds, heights, width = np.array([-step, 0.0, step]), np.full(3, step), step / 2
xq = np.linspace(-1.5, 1.5, 30_001)
staircase = -1.5 * step + step * np.sum(xq[:, None] >= thresholds, axis=1)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(xq, staircase, "k", lw=2, label="2-bit staircase Q")
for f in (0.2, 0.5, 0.8, 1.0):
    kernel = get_ste("ab_tanh", f=f, k=10.0)
    soft = np.sum(heights / 2 * kernel.F((xq[:, None] - thresholds) / width), axis=1)   # c' = 0 here
    soft_grad = staircase_derivative(kernel, xq, thresholds, heights, width)
    axes[0].plot(xq, soft, lw=1, label=f"Q̃, f = {f}")
    axes[1].plot(xq, soft_grad, lw=1, label=f"Q̃′, f = {f}")
    numeric = np.gradient(soft, xq)
    np.testing.assert_allclose(soft_grad[1:-1], numeric[1:-1], rtol=1e-4, atol=1e-4)
axes[0].legend(fontsize=7); axes[1].legend(fontsize=7)
axes[0].set_xlabel("x"); axes[0].set_ylabel("Q(x), Q̃(x)"); axes[1].set_xlabel("x"); axes[1].set_ylabel("Q̃′(x)")
axes[0].set_title("forward staircase and the soft staircase the STE imitates")
axes[1].set_title("staircase rule with the AB-Tanh kernel (s = Δ/2)")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 5. Lemma 1: does the variance of $F'$ shrink as $f$ grows?
#
# Seed 004, §3.2, **Lemma 1 (as printed)**: *"The variance of the gradient $F'(x)$ decreases as the blending
# factor $f$ increases from 0 to 1, resulting in a smoother gradient update."* Its proof begins: *"When
# $f = 0$, $F'(x) = 1$, which results in no variance."*
#
# Test it before reading on. Take inputs $X \sim \mathcal N(0, \sigma^2)$. Use $\sigma = 1$ for standardized
# weights and $\sigma = 0.05$ for latent weights of a typical layer. Compute $\mathrm{Var}[F'(X)]$ by quadrature
# (`toy_problems.ste_analysis.gaussian_variance_of_derivative`) and by Monte Carlo, for
# $f = 0, 0.1, \dots, 1$.

# %%
fs = np.round(np.linspace(0, 1, 11), 2)
sample = np.random.default_rng(1).standard_normal(400_000)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
variance = {}
for ax, name in zip(axes, ("ab_tanh", "ab_arctan")):
    for sigma in (1.0, 0.3, 0.05):
        quad = [ste_analysis.gaussian_variance_of_derivative(name, f, k=10.0, sigma=sigma) for f in fs]
        mc = [np.var(get_ste(name, f=f, k=10.0).dF(sigma * sample)) for f in fs]
        variance[name, sigma] = np.array(quad)
        ax.plot(fs, quad, marker="o", label=f"quadrature, σ = {sigma}")
        ax.plot(fs, mc, "k+", ms=8)
    ax.set_xlabel("blending factor f"); ax.set_ylabel("Var[F′(X)],  X ~ N(0, σ²)")
    ax.set_title(f"{name} (k = 10);  +: Monte Carlo"); ax.legend(fontsize=8); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()

for sigma in (1.0, 0.3, 0.05):
    v = variance["ab_tanh", sigma]
    print(f"AB-Tanh, σ = {sigma:<4}: Var[F′] at f = 0, 0.5, 1: {v[0]:.3g}, {v[5]:.4g}, {v[10]:.4g};"
          f"  Var(f)/Var(1) ÷ f² = {np.round(v[1:] / v[10] / fs[1:] ** 2, 6)}")


# %% [markdown]
# The variance is 0 at $f = 0$, as the lemma's own proof says, and it **grows** with $f$. The last printed
# ratio is 1 at every $f$, so it grows exactly like $f^2$. The reason is one line. The constant part $1-f$
# of $F'$ has no variance, and a constant factor comes out of a variance squared:
#
# $$\mathrm{Var}[F'(X)] = \mathrm{Var}\big[(1-f) + f\,k\,\mathrm{sech}^2(kX)\big] = f^2\,k^2\;\mathrm{Var}\big[\mathrm{sech}^2(kX)\big].$$
#
# For AB-ArcTan, likewise, $\mathrm{Var}[F'] = f^2k^2/\arctan^2(2k)\cdot\mathrm{Var}[1/(1+k^2X^2)]$. This holds for
# *any* input law, and so for trained weights too. The statement of Lemma 1 is backwards. What does hold
# is the opposite trade-off: a small $f$ gives uniform, low-variance gradients (the identity STE), and a
# large $f$ gives gradients that are faithful to `sign` near 0 and therefore vary a lot across weights. The
# schedule $f: 0.2 \to 0.8$ starts stable and ends faithful.
#
# ### Exercise 10.2: the variance by Monte Carlo, against the closed form
#
# Write `monte_carlo_variance(f, k, n, seed)`. It draws $n$ samples $X\sim\mathcal N(0,1)$ from
# `np.random.default_rng(seed)` and returns the sample variance of AB-Tanh's $F'(X)$ (tinyquant's `dF`, or
# your exercise 10.1 function). The check computes the closed form $f^2k^2\,\mathrm{Var}[\mathrm{sech}^2(kX)]$ by
# quadrature. It allows five standard errors of the sample variance, $\sqrt{(\mu_4 - v^2)/n}$ with $\mu_4$ the
# fourth central moment, also from quadrature.

# %%
def monte_carlo_variance(f, k=10.0, n=200_000, seed=0):
    ### BEGIN SOLUTION
    x = np.random.default_rng(seed).standard_normal(n)
    return float(np.var(get_ste("ab_tanh", f=f, k=k).dF(x)))
    ### END SOLUTION


# %%
# Check exercise 10.2
def gaussian_moment(g, power=1):
    # E[g(X)^power] for X ~ N(0, 1), split at the kernel's scale so quad sees the peak
    edges = [-12, -1, -0.1, 0, 0.1, 1, 12]
    return sum(integrate.quad(lambda t: g(t) ** power * stats.norm.pdf(t), a, b, limit=200)[0]
               for a, b in zip(edges, edges[1:]))


for k in (3.0, 10.0):
    sech2 = lambda t: 1 / math.cosh(k * t) ** 2
    m1, m2 = gaussian_moment(sech2), gaussian_moment(sech2, 2)
    var_sech2 = m2 - m1 ** 2
    centred = lambda t: sech2(t) - m1
    mu4_sech2 = gaussian_moment(centred, 4)
    for f in (0.2, 0.5, 0.8, 1.0):
        closed = f ** 2 * k ** 2 * var_sech2
        se = f ** 2 * k ** 2 * math.sqrt((mu4_sech2 - var_sech2 ** 2) / 200_000)
        got = monte_carlo_variance(f, k, n=200_000, seed=3)
        assert abs(got - closed) < 5 * se, (f, k, got, closed, se)
        assert math.isclose(closed, ste_analysis.gaussian_variance_of_derivative("ab_tanh", f, k), rel_tol=1e-6)
    assert monte_carlo_variance(0.0, k) < 1e-20                       # f = 0: the identity, no variance
print("exercise 10.2: Monte Carlo agrees with f²k²·Var[sech²(kX)] within 5 standard errors")


# %% [markdown]
# ## 6. Lemma 2: how sharply can $F'$ change?
#
# **Lemma 2 (as printed)**: $F'$ is Lipschitz with $L \le f k^2$, and the proof gives
# $F''(x) = f\,k^2\,\mathrm{sech}^2(kx)\tanh(kx)$. Differentiate eq. 4 yourself, using
# $\frac{d}{du}\mathrm{sech}^2 u = -2\,\mathrm{sech}^2u\,\tanh u$:
#
# $$F''(x) = -2\,f\,k^2\,\mathrm{sech}^2(kx)\,\tanh(kx).$$
#
# The printed formula misses the factor $-2$. Is the bound still right? Put $u = \tanh(kx) \in (-1, 1)$, so
# that $|F''| = 2fk^2\,|u|(1-u^2)$. The maximum is at $u^2 = 1/3$:
#
# $$L = \max_x |F''(x)| = 2fk^2\cdot\frac{1}{\sqrt3}\cdot\frac23 = \frac{4}{3\sqrt3}\,f\,k^2 \approx 0.770\,f\,k^2 \;\le\; f\,k^2 .$$
#
# The bound survives, but only because $\mathrm{sech}^2\cdot\tanh$ never reaches 1. Taken literally, the printed
# $F''$ would give $L = 0.385\,fk^2$, which is too small by a factor of 2. For AB-ArcTan,
# $F'' = -2fk^3x/(\arctan(2k)(1+k^2x^2)^2)$, maximal at $kx = 1/\sqrt3$:
# $L = \frac{3\sqrt3}{8}\,fk^2/\arctan(2k) \approx 0.427\,fk^2$ at $k = 10$.
#
# ### Exercise 10.3: $F''$ and its maximum
#
# Write `ab_tanh_second_derivative(x, f, k)`. The check compares it with a central difference of tinyquant's
# $F'$. It then checks that its maximum modulus on a fine grid is $\frac{4}{3\sqrt3}fk^2$, and that this is
# what `toy_problems.ste_analysis` measures independently.

# %%
def ab_tanh_second_derivative(x, f, k=10.0):
    ### BEGIN SOLUTION
    t = np.tanh(k * np.asarray(x, dtype=float))
    return -2 * f * k ** 2 * (1 - t * t) * t
    ### END SOLUTION


# %%
# Check exercise 10.3
xs = np.linspace(-1.5, 1.5, 300_001)
for f in (0.2, 0.5, 1.0):
    for k in (1.0, 3.0, 10.0):
        ste = get_ste("ab_tanh", f=f, k=k)
        h = 1e-6 / k
        numeric = (ste.dF(xs + h) - ste.dF(xs - h)) / (2 * h)
        ours = ab_tanh_second_derivative(xs, f, k)
        np.testing.assert_allclose(ours, numeric, rtol=1e-5, atol=1e-5 * f * k ** 2)
        bound = 4 / (3 * math.sqrt(3)) * f * k ** 2
        grid = np.linspace(-3 / k, 3 / k, 300_001)        # fine enough to land within 1e-9 of the peak
        assert math.isclose(np.abs(ab_tanh_second_derivative(grid, f, k)).max(), bound, rel_tol=1e-8)
        assert math.isclose(bound, ste_analysis.lipschitz_closed_form("ab_tanh", f, k), rel_tol=1e-12)
        assert bound <= f * k ** 2                        # Lemma 2's bound holds
print("exercise 10.3: F'' = −2fk²·sech²·tanh and max|F''| = 4/(3√3)·f·k² ≈ 0.770·f·k²")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
xx = np.linspace(-0.4, 0.4, 2001)
for f in (0.2, 0.5, 1.0):
    # F″ by a central difference of tinyquant's F′ (your exercise 10.3 function gives the closed form)
    axes[0].plot(xx, np.gradient(get_ste("ab_tanh", f=f, k=10.0).dF(xx), xx) / 100, label=f"f = {f}: F″ / k²")
axes[0].plot(xx, np.tanh(10 * xx) / np.cosh(10 * xx) ** 2, "k:", label="printed F″ / k² (f = 1)")
axes[0].axhline(-4 / (3 * math.sqrt(3)), color="0.6", lw=0.8); axes[0].axhline(4 / (3 * math.sqrt(3)), color="0.6", lw=0.8)
axes[0].set_title("AB-Tanh, k = 10 (grey: ±4/(3√3))"); axes[0].legend(fontsize=7); axes[0].set_xlabel("x")
axes[0].set_ylabel("F″(x) / k²")

for name, marker in (("ab_tanh", "o"), ("ab_arctan", "s")):
    for k in (1.0, 3.0, 10.0):
        measured = [ste_analysis.lipschitz_constant(name, f, k, points=40_001) / (f * k * k) for f in (0.2, 0.6, 1.0)]
        axes[1].plot((0.2, 0.6, 1.0), measured, marker=marker, ls="-", label=f"{name}, k = {k:g}")
axes[1].axhline(1.0, color="k", ls="--", lw=1); axes[1].text(0.22, 0.94, "Lemma 2's bound f·k²", fontsize=8)
axes[1].set_ylim(0, 1.1); axes[1].set_xlabel("f"); axes[1].set_ylabel("measured L / (f·k²)")
axes[1].set_title("Lipschitz constant of F′, measured by finite differences"); axes[1].legend(fontsize=7)
plt.tight_layout(); plt.show()

# %% [markdown]
# The ratio $L/(fk^2)$ is flat in $f$: $L$ is exactly linear in $f$. For AB-Tanh it is $0.770$ for every $k$.
# For AB-ArcTan it is $\frac{3\sqrt3}{8}/\arctan(2k)$, which depends on $k$ through the normalization.
#
# ## 7. The scheduled $f$ over training
#
# Seed 004 raises $f$ linearly from 0.2 to 0.8 over training (§4.3). In tinyquant the `STEScheduler`
# callback sets $f = 0.2 + 0.6\,p$ after every optimizer step, where $p$ is the fraction of training done.
# `tinyquant train --quantizer xnor --ste ab_tanh` adds it automatically. Below, a binary MLP on the 8×8
# digits (both hidden layers binarized, seed 004's setting of binary weights and full-precision
# activations) trains for 3 epochs. After each step we record $f$ and, per layer, $\mathrm{Var}[F'(w)]$ over the
# layer's latent weights: Lemma 1 on real weights. `train_and_record` is exactly `tinyquant train` plus a
# recording callback.

# %%
from tinyquant import optim
from tinyquant.cli import train_namespace
from tinyquant.data import DataLoader, get_dataset
from tinyquant.nn.models import build_model
from tinyquant.quant.config import configure_quantization
from tinyquant.train import LambdaCallback, Trainer


def train_and_record(record, **options):
    # `tinyquant train` with `options` (as in train_namespace), calling record(model) after every step
    args = train_namespace(no_progress=True, **options)
    data = get_dataset(args.dataset)
    model = build_model(args.model, data.input_shape, data.num_classes, rng=args.seed)
    model, callbacks, regime, groups = configure_quantization(model, args)   # quantizers, regime
    train_loader = DataLoader(data.x_train, data.y_train, args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(data.x_test, data.y_test, 256)
    optimizer = optim.SGD(groups or model.parameters(), lr=0.05 if args.lr is None else args.lr,
                          momentum=args.momentum, weight_decay=args.weight_decay)
    scheduler = optim.LRScheduler(optimizer, optim.cosine(args.epochs * len(train_loader)))
    recorder = LambdaCallback(on_step_end=lambda trainer: record(trainer))
    trainer = Trainer(model, optimizer, train_loader, test_loader, epochs=args.epochs, scheduler=scheduler,
                      callbacks=callbacks + [recorder], regime=regime, seed=args.seed, show_progress=False)
    trainer.fit()
    return model, trainer.history


# %%
from tinyquant.nn.layers import quantizable_layers

log = {"step": [], "progress": [], "f": [], "var": []}


def record_blend(trainer):
    layers = [layer for layer in quantizable_layers(trainer.model) if layer.weight_quantizer is not None]
    ste = layers[0].weight_quantizer.ste
    log["step"].append(trainer.global_step)
    log["progress"].append(trainer.progress)
    log["f"].append(ste.f)
    log["var"].append([float(np.var(ste.dF(layer.weight.data))) for layer in layers])


start = time.perf_counter()
model, history = train_and_record(record_blend, model="mlp", quantizer="xnor", ste="ab_tanh",
                                  keep_first=False, epochs=3)
log = {key: np.array(value) for key, value in log.items()}
print(f"trained in {time.perf_counter() - start:.1f} s; test accuracy per epoch:",
      [round(h["test_accuracy"], 4) for h in history])
np.testing.assert_allclose(log["f"], 0.2 + 0.6 * log["progress"], rtol=1e-12)   # the schedule, step by step
assert math.isclose(log["f"][-1], 0.8)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(log["step"], log["f"], label="f recorded in the quantizer's STE")
axes[0].plot(log["step"], 0.2 + 0.6 * log["step"] / log["step"][-1], "k:", label="0.2 + 0.6·p")
axes[0].set_xlabel("optimizer step"); axes[0].set_ylabel("f"); axes[0].set_title("blending factor f"); axes[0].legend(fontsize=8)
for j in range(log["var"].shape[1]):
    axes[1].plot(log["f"], log["var"][:, j], label=f"binarized layer {j + 1}: Var[F′(w)]")
f_line = np.linspace(0.2, 0.8, 50)
axes[1].plot(f_line, log["var"][-1, 0] * (f_line / 0.8) ** 2, "k:", label="∝ f² through the last point")
axes[1].set_xlabel("f"); axes[1].set_ylabel("Var[F′(w)] over the layer's weights")
axes[1].set_title("Lemma 1 on the latent weights during training")
axes[1].legend(fontsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# On real weights too, the variance of the surrogate gradient rises with $f$, and it follows $f^2$ closely.
# By the identity of §5 it would be exactly $f^2$ at fixed weights. Only the (small) movement of the latent
# weights during the run can bend the curve.
#
# ## Summary
#
# * An STE changes only the backward pass: $\partial L/\partial w = \partial L/\partial w_b\cdot F'(w)$. The forward
#   stays `sign`.
# * A sign estimator's $F'$ carries mass 2. Estimators differ in how they spread it: a tall peak is faithful,
#   a wide floor is stable.
# * The staircase rule reuses any sign estimator for a multi-level quantizer: one scaled kernel per step.
# * **Lemma 1** as printed is backwards. $\mathrm{Var}[F'(X)] = f^2k^2\,\mathrm{Var}[\mathrm{sech}^2(kX)]$ grows like $f^2$.
# * **Lemma 2** holds, although the printed $F''$ lacks a factor $-2$. The exact constant is
#   $L = \frac{4}{3\sqrt3}fk^2 \approx 0.770\,fk^2$ (AB-Tanh).
# * Scheduling $f: 0.2\to0.8$ moves training from stable identity-like gradients toward sign-faithful ones.

# %%
print(f"notebook ran in {time.perf_counter() - notebook_start:.1f} s")
