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
# Exercises end in `# solution — try it yourself first`: delete the body, write your own, run the check.

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
x = np.linspace(-2.5, 2.5, 1001)
names = list(STES)
fig, axes = plt.subplots(2, len(names), figsize=(2.1 * len(names), 4), sharex=True)
for j, name in enumerate(names):
    ste = get_ste(name)
    axes[0, j].plot(x, np.where(x >= 0, 1, -1), color="0.8")
    axes[0, j].plot(x, ste.F(x))
    axes[1, j].plot(x, ste.dF(x), color="C1")
    axes[0, j].set_title(name, fontsize=9)
axes[0, 0].set_ylabel("F(x)"); axes[1, 0].set_ylabel("F'(x)")
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
a.set_title("F(x)"); b.set_title("F'(x)"); b.set_yscale("log"); a.legend(fontsize=8)
fig.tight_layout()


# %% [markdown]
# ### Exercise 1 — derive an STE
#
# Bi-Real Net's ApproxSign is $F(x) = 2x - x|x|$ on $|x| \le 1$ and $\mathrm{sign}(x)$ outside.
# Write its derivative `approx_sign_grad(x)`; the check compares it with a central difference of $F$
# and with the registry's `polynomial` estimator.

# %%
def approx_sign_grad(x):
    # solution — try it yourself first
    return np.where(np.abs(x) <= 1, 2 - 2 * np.abs(x), 0.0)


# %%
xs = np.linspace(-1.9, 1.9, 381)
xs = xs[np.min(np.abs(xs[:, None] - np.array([-1, 0, 1])), axis=1) > 1e-3]
F = get_ste("polynomial").F
numeric = (F(xs + 1e-6) - F(xs - 1e-6)) / 2e-6
assert np.allclose(approx_sign_grad(xs), numeric, atol=1e-5)
assert np.allclose(approx_sign_grad(xs), get_ste("polynomial").dF(xs))
print("exercise 1: correct")

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
fig.tight_layout()


# %% [markdown]
# ### Exercise 2 — the surrogate integrates to the staircase's total rise
#
# For an estimator whose $F$ goes from −1 to +1, each step's surrogate $(h_k/2)F((x - t_k)/s)$ rises by
# $h_k$, so $\int \tilde Q'(x)\,dx = \sum_k h_k$. Compute the integral numerically for the 2-bit staircase
# above with the `polynomial` kernel.

# %%
def surrogate_integral(ste_name):
    # solution — try it yourself first
    grid = np.linspace(-5, 5, 200_001)
    return np.trapezoid(staircase_derivative(get_ste(ste_name), grid, t, np.full(n - 1, delta), delta / 2), grid)


# %%
assert abs(surrogate_integral("polynomial") - (n - 1) * delta) < 1e-6
print("exercise 2: correct; total rise =", (n - 1) * delta)

# %% [markdown]
# ## Every quantizer: forward (top) and the gradient it passes back (bottom)
#
# Each quantizer is applied to a ramp of 401 values (one "filter", so per-filter scales are one
# number); the bottom row is $\partial(\sum_i Q(x_i))/\partial x_i$ from its backward.

# %%
ramp = np.linspace(-2, 2, 401)
fig, axes = plt.subplots(2, len(QUANTIZERS), figsize=(1.9 * len(QUANTIZERS), 4), sharex=True)
for j, name in enumerate(QUANTIZERS):
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
    axes[0, j].plot(ramp, out.data.ravel(), lw=1)
    axes[1, j].plot(ramp, x_t.grad.ravel(), color="C1", lw=1)
    axes[0, j].set_title(name.replace("_", "\n"), fontsize=7)
fig.tight_layout()


# %% [markdown]
# ### Exercise 3 — stochastic rounding is unbiased
#
# Seed 002, eq. 5: $Q_s(w)$ rounds up with probability $w/\Delta - \lfloor w/\Delta\rfloor$, so
# $E[Q_s(w)] = w$ and $\mathrm{Var}[Q_s(w)] = \Delta^2 q(1-q)$. Estimate $E[Q_s(0.3)]$ on $\Delta = 0.25$ from
# 50,000 draws with the `stochastic_round` quantizer (seeded), and return the mean.

# %%
def mean_of_stochastic_rounding(w=0.3, delta=0.25, n=50_000, seed=0):
    # solution — try it yourself first
    qs = get_quantizer("stochastic_round", delta=delta, rng=seed)
    return qs.quantize(np.full(n, w)).mean()


# %%
qfrac = 0.3 / 0.25 - math.floor(0.3 / 0.25)
sd_of_mean = 0.25 * math.sqrt(qfrac * (1 - qfrac) / 50_000)
assert abs(mean_of_stochastic_rounding() - 0.3) < 5 * sd_of_mean
print("exercise 3: correct; 5 sd of the mean =", 5 * sd_of_mean)
