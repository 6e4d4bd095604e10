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
# # 07 · The quantizer and STE zoo
#
# A quantizer $Q$ is a staircase: its derivative is 0 almost everywhere, so backpropagation
# stops at it. A **straight-through estimator** keeps the exact forward $Q(x)$ and uses, in the
# backward pass, the derivative $F'(x)$ of a *soft forward* $F \approx Q$.
#
# After this notebook you can
# 1. read every STE of `tinyquant.quant.STES` as a pair $(F, F')$ and plot it;
# 2. reproduce seed 004's Fig. 3 (AB-Tanh-STE for several blending factors $f$);
# 3. apply the **staircase rule** that lets an STE written for `sign` serve a multi-level quantizer;
# 4. plot every quantizer's forward and the gradient it passes back.
#
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
import math
import numpy as np
import matplotlib.pyplot as plt
from tinyquant import Tensor
from tinyquant.quant import STES, QUANTIZERS, get_ste, get_quantizer, staircase_derivative, ste_table

print(ste_table())

# %% [markdown]
# ## Every STE: soft forward $F$ (top) and its derivative $F'$ (bottom)
#
# Each is written for `sign` ($F$ goes from −1 to +1 where it saturates). Scheduled estimators
# (`ab_tanh`, `ab_arctan`, `ede`, `reste`) are shown at their starting parameters.

# %%
def panel_grid(n, title, xlabel, ylabel, ncols=5):
    """n panels on a grid (ncols wide) sharing both axes; the unused panels are hidden."""
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols, 2.1 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for j in range(ncols):   # the lowest visible panel of each column carries the x label
        col = [ax for ax in axes[:, j] if ax.get_visible()]
        col[-1].set_xlabel(xlabel); col[-1].xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(title)
    return fig, axes.flat[:n]


x = np.linspace(-2.5, 2.5, 1001)
names = list(STES)
fig, axes = panel_grid(len(names), "every STE: soft forward F (blue), its derivative F′ (orange), sign(x) (grey)",
                       "x (latent value)", "F(x), F′(x)")
for ax, name in zip(axes, names):
    ste = get_ste(name)
    ax.plot(x, np.where(x >= 0, 1, -1), color="0.75", label="sign(x), the forward")
    ax.plot(x, ste.F(x), label="F(x), the soft forward")
    ax.plot(x, ste.dF(x), color="C1", label="F′(x), what the backward passes")
    ax.axhline(0, color="0.9", lw=0.6, zorder=0)
    ax.set_title(name, fontsize=9)
axes[0].set_ylim(-2.7, 5.3)   # one scale for every panel: swish's F′ peaks at β = 5
axes[0].legend(fontsize=6, loc="upper left")
fig.tight_layout()

# %% [markdown]
# ## Seed 004, Fig. 3: AB-Tanh-STE for several $f$
#
# $F(x) = (1-f)\,x + f\tanh(kx)$, $F'(x) = (1-f) + f\,k\,\mathrm{sech}^2(kx)$, $k = 10$ (eqs. 3–4).
# $f = 0$ is the identity STE, $f = 1$ is $\tanh(kx)$. Training moves $f$ linearly from 0.2 to 0.8
# (`tinyquant.quant.schedules`).

# %%
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
for f in (0.0, 0.2, 0.5, 0.8, 1.0):
    ste = get_ste("ab_tanh", f=f, k=10.0)
    a.plot(x, ste.F(x), label=f"f = {f}")
    b.plot(x, ste.dF(x))
a.set_title("F(x)"); b.set_title("F′(x), log scale"); b.set_yscale("log"); a.legend(fontsize=8)
a.set_xlabel("x (latent value)"); a.set_ylabel("F(x)"); b.set_xlabel("x (latent value)"); b.set_ylabel("F′(x)")
fig.tight_layout()


# %% [markdown]
# ### Exercise 7.1 — derive an STE
#
# Bi-Real Net's ApproxSign is $F(x) = 2x - x|x|$ on $|x| \le 1$ and $\mathrm{sign}(x)$ outside.
# Write its derivative `approx_sign_grad(x)`; the check compares it with a central difference of $F$
# and with the registry's `polynomial` estimator.

# %%
def approx_sign_grad(x):
    ### BEGIN SOLUTION
    return np.where(np.abs(x) <= 1, 2 - 2 * np.abs(x), 0.0)
    ### END SOLUTION


# %%
# Check exercise 7.1
xs = np.linspace(-1.9, 1.9, 381)
xs = xs[np.min(np.abs(xs[:, None] - np.array([-1, 0, 1])), axis=1) > 1e-3]
F = get_ste("polynomial").F
numeric = (F(xs + 1e-6) - F(xs - 1e-6)) / 2e-6
assert np.allclose(approx_sign_grad(xs), numeric, atol=1e-5)
assert np.allclose(approx_sign_grad(xs), get_ste("polynomial").dF(xs))
print("exercise 7.1: correct")

# %% [markdown]
# ## The staircase rule
#
# A staircase with thresholds $t_k$ and step heights $h_k$ is $c + \sum_k h_k H(x - t_k)$, and
# $\mathrm{sign}(x) = -1 + 2H(x)$ is one step of height 2. So each step gets the sign surrogate
# centred on its threshold and scaled by its height; with a kernel width $s$:
# $$\tilde Q'(x) = \sum_k \frac{h_k}{2s}\, F'\!\left(\frac{x - t_k}{s}\right).$$
# For sign ($t = 0$, $h = 2$, $s = 1$) it is $F'(x)$. Below: a 2-bit UniQ staircase
# (levels $\pm\Delta/2, \pm 3\Delta/2$) with three estimators at width $\Delta/2$. The clipped
# kernel tiles $[-\alpha, \alpha]$ exactly: UniQ's own STE.

# %%
delta, n = 0.5, 4
alpha = delta * (n - 1) / 2
t = (np.arange(n - 1) + 0.5) * delta - alpha
xq = np.linspace(-1.5, 1.5, 1201)
q = get_quantizer("uniq", bits=2); q.step.data[...] = delta; q.initialized[...] = True
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
a.plot(xq, q.quantize(xq), color="k", label="Q_w")
for name in ("clipped", "polynomial", "tanh"):
    b.plot(xq, staircase_derivative(get_ste(name), xq, t, np.full(n - 1, delta), delta / 2), label=name)
a.set_title("2-bit UniQ forward"); b.set_title("staircase surrogates Q̃'(x)"); b.legend(fontsize=8)
a.set_xlabel("x (Δ = 0.5)"); a.set_ylabel("Q_w(x)"); b.set_xlabel("x (Δ = 0.5)"); b.set_ylabel("Q̃′(x)")
fig.tight_layout()


# %% [markdown]
# ### Exercise 7.2 — the surrogate integrates to the staircase's total rise
#
# For an estimator whose $F$ goes from −1 to +1, each step's surrogate $(h_k/2)F((x - t_k)/s)$ rises by
# $h_k$, so $\int \tilde Q'(x)\,dx = \sum_k h_k$. Compute the integral numerically for the 2-bit staircase
# above with the `polynomial` kernel.

# %%
def surrogate_integral(ste_name):
    ### BEGIN SOLUTION
    grid = np.linspace(-5, 5, 200_001)
    return np.trapezoid(staircase_derivative(get_ste(ste_name), grid, t, np.full(n - 1, delta), delta / 2), grid)
    ### END SOLUTION


# %%
# Check exercise 7.2
assert abs(surrogate_integral("polynomial") - (n - 1) * delta) < 1e-6
print("exercise 7.2: correct; total rise =", (n - 1) * delta)

# %% [markdown]
# ## Every quantizer: forward, and the gradient it passes back
#
# Each quantizer is applied to a ramp of 401 values (one "filter", so per-filter scales are one
# number); the second grid is $\partial(\sum_i Q(x_i))/\partial x_i$ from its backward.

# %%
ramp = np.linspace(-2, 2, 401)
forward, backward = {}, {}
for name in QUANTIZERS:
    kwargs = {"rng": 0} if name in ("stochastic_binary", "stochastic_round") else {}
    if name in ("deterministic_round", "stochastic_round"):
        kwargs["delta"] = 0.5
    qz = get_quantizer(name, **kwargs)
    if name.startswith("uniq"):       # fix the step (its data-driven init needs the step-size solver)
        qz.step.data[...] = 0.5; qz.initialized[...] = True
        if name == "uniq_activation": qz.seen_batches[...] = qz.init_batches
    x_t = Tensor(ramp.reshape(1, -1).copy(), requires_grad=True)
    out = qz(x_t)
    out.sum().backward()
    forward[name], backward[name] = out.data.ravel(), x_t.grad.ravel()

for values, what, ylabel, color in ((forward, "forward Q(x)", "Q(x)", "C0"),
                                    (backward, "gradient passed back ∂ΣQ/∂x", "∂ΣQ/∂x", "C1")):
    fig, axes = panel_grid(len(QUANTIZERS), f"every quantizer: {what}, on a ramp of 401 values",
                           "x (input value)", ylabel)
    for ax, name in zip(axes, QUANTIZERS):
        ax.plot(ramp, values[name], lw=1, color=color)
        ax.set_title(name, fontsize=8)
    fig.tight_layout()


# %% [markdown]
# ### Exercise 7.3 — stochastic rounding is unbiased
#
# Seed 002, eq. 5: $Q_s(w)$ rounds up with probability $w/\Delta - \lfloor w/\Delta\rfloor$, so
# $E[Q_s(w)] = w$ and $\mathrm{Var}[Q_s(w)] = \Delta^2 q(1-q)$. Estimate $E[Q_s(0.3)]$ on $\Delta = 0.25$ from
# 50,000 draws with the `stochastic_round` quantizer (seeded), and return the mean.

# %%
def mean_of_stochastic_rounding(w=0.3, delta=0.25, n=50_000, seed=0):
    ### BEGIN SOLUTION
    qs = get_quantizer("stochastic_round", delta=delta, rng=seed)
    return qs.quantize(np.full(n, w)).mean()
    ### END SOLUTION


# %%
# Check exercise 7.3
qfrac = 0.3 / 0.25 - math.floor(0.3 / 0.25)
sd_of_mean = 0.25 * math.sqrt(qfrac * (1 - qfrac) / 50_000)
assert abs(mean_of_stochastic_rounding() - 0.3) < 5 * sd_of_mean
print("exercise 7.3: correct; 5 sd of the mean =", 5 * sd_of_mean)
