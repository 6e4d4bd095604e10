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
# # 06 — Optimal step sizes and SQNR (seed 003, UniQ)
#
# Pham, Abraham and Chung (*UniQ*, seed 003 in [REFERENCES.md](../REFERENCES.md)) initialize every learnable step size Δ at the value
# that minimizes the mean squared quantization error for a **unit-variance** Gaussian input, and scale it by the input's standard
# deviation (eqs 7–10, Table 1). This notebook rebuilds Table 1 from the quantizer definitions, checks it by Monte Carlo, and puts
# it beside the non-uniform (Lloyd–Max) optimum, LSQ's initialization and the ternary threshold of TWN.
# Everything here runs in seconds; the full tables are in `toy_problems/reports/quantizer_theory.md`
# (`python -m toy_problems.ledger_quantizer_theory --report toy_problems/reports/quantizer_theory.md`).

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
from scipy import integrate, stats
from toy_problems.step_size import (TABLE1, optimal_step_size, quantization_mse, mse_derivative, sqnr_db,
                                    quantize_weight, quantize_activation, empirical_sqnr_db, lsq_init_step)
from toy_problems.lloyd_max import lloyd_max
from toy_problems.ternary_threshold import optimal_ternary_threshold, ternary_mse, compare_with_twn
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The two quantizers (eqs 3 and 5)
# With N levels and step Δ, the weight quantizer has levels (k − (N−1)/2)Δ — half-integers ±Δ/2, ±3Δ/2 … for even N, integers
# 0, ±Δ … for odd N — and clips beyond α = Δ(N − 1)/2. The activation quantizer has levels 0, Δ, …, (N − 1)Δ: zero is a level, so
# the zeros of a ReLU are reproduced exactly.

# %%
x = np.linspace(-3, 3, 1201)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
for n in (2, 3, 4):
    ax[0].plot(x, quantize_weight(x, 1.0, n), label=f'N = {n}')
    ax[1].plot(x, quantize_activation(np.maximum(x, 0), 0.75, n), label=f'N = {n}')
ax[0].set_title('Q_w, Δ = 1 (eq. 3)'); ax[1].set_title('Q_a(ReLU(x)), Δ = 0.75 (eq. 5)')
ax[0].set_xlabel('x (units of Δ)'); ax[0].set_ylabel('Q_w(x)'); ax[1].set_xlabel('x'); ax[1].set_ylabel('Q_a(ReLU(x))')
for a in ax: a.grid(alpha=.3); a.legend()
print('levels of Q_w, N = 4:', np.unique(quantize_weight(x, 1.0, 4)))

# %% [markdown]
# ## 2. The MSE as a function of Δ, and its minimum
# For a symmetric input the MSE is twice the integral over x ≥ 0, a sum over cells of ∫(x − ℓ)² p(x) dx. Small Δ clips too much
# (*overload* error); large Δ makes the cells coarse (*granular* error). The optimum balances the two. `quantization_mse` evaluates
# the cell integrals in closed form; below we also integrate the literal quantizer by quadrature to see that they agree.

# %%
steps = np.linspace(0.3, 2.5, 200)
fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
for n in (2, 4, 8, 16):
    ax[0].plot(steps, quantization_mse(steps, n), label=f'N = {n}')
    opt = optimal_step_size(n)
    ax[0].plot(opt, quantization_mse(opt, n), 'ko', ms=3)
    ax[1].plot(steps, sqnr_db(steps, n), label=f'N = {n}')
ax[0].set_yscale('log'); ax[0].set_xlabel('Δ (unit-variance Gaussian)'); ax[0].set_ylabel('MSE D_w(Δ)')
ax[1].set_xlabel('Δ'); ax[1].set_ylabel('SQNR (dB)')
for a in ax: a.grid(alpha=.3); a.legend()

def mse_quad(step, n):   # E[(x − Q_w(x))²] by quadrature, cell by cell
    alpha = step * (n - 1) / 2
    edges = [-np.inf] + [(k + .5) * step - alpha for k in range(n - 1)] + [np.inf]
    return sum(integrate.quad(lambda x: (x - (k * step - alpha)) ** 2 * stats.norm.pdf(x), a, b)[0]
               for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])))
print('closed form', quantization_mse(0.8, 4), ' quadrature', mse_quad(0.8, 4))

# %% [markdown]
# ## 3. Table 1, and which SQNR it means
# The paper prints the optimal unit step and the "optimal SQNR". For weights SQNR = 10 log10(1/D_w). For activations the quantizer
# input is Y = ReLU(X) with X standard Gaussian; the definition that reproduces the printed numbers is
# **SQNR = 10 log10(Var(Y)/D_a)** with Var(Y) = ½ − 1/(2π) — zeros included in both the signal and the error.

# %%
print(' N |  Δ_w paper / ours | SQNR_w paper / ours | Δ_a paper / ours | SQNR_a paper / ours')
for n, (dw, sw, da, sa) in TABLE1.items():
    ours = (optimal_step_size(n), sqnr_db(None, n), optimal_step_size(n, signal='activation'), sqnr_db(None, n, signal='activation'))
    print(f'{n:2d} | {dw:6.3f} / {ours[0]:.4f} | {sw:5.1f} / {ours[1]:.3f} | {da:6.3f} / {ours[2]:.4f} | {sa:5.1f} / {ours[3]:.3f}')

# %% [markdown]
# ### Exercise 6.1
# ✏️ Using only the 2-level activation MSE `d = quantization_mse(optimal_step_size(2, signal='activation'), 2, signal='activation')`,
# compute the SQNR with three candidate signal powers: E[Y²] = ½, E[X²] = 1 and Var(Y) = ½ − 1/(2π). Which one gives Table 1's 5.5 dB?

# %%
def sqnr_by_signal_power():
    """Return {'E[Y^2]': dB, 'E[X^2]': dB, 'Var(Y)': dB} for the 2-level activation quantizer."""
    ### BEGIN SOLUTION
    d = quantization_mse(optimal_step_size(2, signal='activation'), 2, signal='activation')
    candidates = {'E[Y^2]': 0.5, 'E[X^2]': 1.0, 'Var(Y)': 0.5 - 1 / (2 * np.pi)}
    return {k: 10 * np.log10(p / d) for k, p in candidates.items()}
    ### END SOLUTION


# %%
# Check exercise 6.1
sqnr = sqnr_by_signal_power()
print({k: round(v, 2) for k, v in sqnr.items()})
assert round(sqnr['Var(Y)'], 1) == 5.5
assert round(sqnr['E[Y^2]'], 1) != 5.5 and round(sqnr['E[X^2]'], 1) != 5.5

# %% [markdown]
# ## 4. Checking by Monte Carlo, and eq. 9's scaling
# Quantize samples with the literal quantizer and compare the empirical SQNR with the closed form. Then scale the input by σ:
# the best step found by a brute-force search on the samples is σ·Δᵤ (eq. 9).

# %%
x = rng.standard_normal(300_000)
for n in (2, 4, 8):
    s = optimal_step_size(n)
    print(n, 'closed form', round(sqnr_db(s, n), 3), ' Monte Carlo', round(empirical_sqnr_db(x, quantize_weight(x, s, n)), 3))

# %% [markdown]
# ### Exercise 6.2
# ✏️ Draw 200,000 weights with standard deviation σ = 0.07. Search the step Δ on a grid (say 0.5·Δᵤσ … 1.5·Δᵤσ) for the
# smallest empirical MSE with `quantize_weight(w, Δ, 4)`. How close is your best Δ to `optimal_step_size(4) * w.std()`?

# %%
def brute_force_step(w):
    """Return the step Δ with the smallest empirical MSE of quantize_weight(w, Δ, 4)."""
    ### BEGIN SOLUTION
    grid = np.linspace(0.5, 1.5, 101) * optimal_step_size(4) * w.std()
    emp = [np.mean((w - quantize_weight(w, s, 4)) ** 2) for s in grid]
    return grid[int(np.argmin(emp))]
    ### END SOLUTION


# %%
# Check exercise 6.2
w = 0.07 * rng.standard_normal(200_000)
best = brute_force_step(w)
print('brute force', best, '  Δᵤ·std(w)', optimal_step_size(4) * w.std())
assert abs(best / (optimal_step_size(4) * w.std()) - 1) < 0.03

# %% [markdown]
# ## 5. The derivative (eq. 8) and odd N
# Eq. 8 differentiates the MSE under the integral sign; the boundary terms cancel because the decision levels are the mid-points
# between levels, where the squared error is continuous. The printed form covers even N; `mse_derivative` handles every N.
# Note that for odd N = 2M + 1 the weight quantizer on x ≥ 0 is the activation quantizer with M + 1 levels, so the steps coincide.

# %%
s = 0.8
h = 1e-6
print('eq. 8 (closed form)', mse_derivative(s, 4), '  central difference', (quantization_mse(s + h, 4) - quantization_mse(s - h, 4)) / (2 * h))
print('Δ*(N=3, weight) =', optimal_step_size(3), '  Δ*(N=2, activation) =', optimal_step_size(2, signal='activation'))

# %% [markdown]
# ## 6. Beyond Table 1: laws, levels and the non-uniform optimum
# The same solver works for Laplace and uniform inputs and for N up to 256. For a uniform input the answer is the textbook
# Δ = 2√3/N with SQNR = 20 log10 N (≈ 6.02 dB per bit). Lloyd–Max places levels non-uniformly (mid-points and centroids) and is the
# floor that no N-level quantizer beats; the gap is what a uniform grid costs.

# %%
levels = [2, 3, 4, 8, 16, 32, 64, 128, 256]
fig, ax = plt.subplots(figsize=(7, 4))
for dist in ('gaussian', 'laplace', 'uniform'):
    u = [sqnr_db(None, n, dist) for n in levels]
    lm = [10 * np.log10(1 / lloyd_max(n, dist).mse) for n in levels]
    line, = ax.plot(levels, u, 'o-', label=f'{dist} uniform grid')
    ax.plot(levels, lm, 'x--', color=line.get_color(), label=f'{dist} Lloyd–Max')
ax.set_xscale('log', base=2); ax.set_xlabel('N'); ax.set_ylabel('optimal SQNR (dB), weights'); ax.grid(alpha=.3); ax.legend(fontsize=7)
print('uniform law, N = 8:', optimal_step_size(8, 'uniform'), 'vs 2√3/8 =', 2 * np.sqrt(3) / 8)

# %% [markdown]
# ### Exercise 6.3
# ✏️ How many dB does the best non-uniform 4-level quantizer gain over UniQ's uniform one for Gaussian weights?
# And for 256 levels? (Hint: `lloyd_max(n).mse` and `quantization_mse(optimal_step_size(n), n)`.)

# %%
def lloyd_max_gain_db(n):
    """Return the SQNR gain (dB) of the n-level Lloyd–Max quantizer over UniQ's uniform one, Gaussian weights."""
    ### BEGIN SOLUTION
    return 10 * np.log10(quantization_mse(optimal_step_size(n), n) / lloyd_max(n).mse)
    ### END SOLUTION


# %%
# Check exercise 6.3
gain = {n: lloyd_max_gain_db(n) for n in (4, 256)}
print({n: round(g, 3) for n, g in gain.items()})
assert 0 < gain[4] < 0.5          # a small gain at 2 bits …
assert gain[256] > gain[4]         # … that grows with N (the uniform grid wastes levels in the tails)

# %% [markdown]
# ## 7. Initializations compared (seed 003, Table 5)
# LSQ initializes Δ = 2E|X|/√Q_P (Q_P = 2^(b−1) − 1 for weights, 2^b − 1 for activations); fixed steps 0.1 and 0.2 ignore the input
# scale altogether. The MSE ratio to the optimum shows why the accuracy in Table 5 depends on the initialization.

# %%
for sig in ('weight', 'activation'):
    for n in (4, 8, 16):
        opt, lsq = optimal_step_size(n, signal=sig), lsq_init_step(n, signal=sig)
        print(f'{sig:10s} {int(np.log2(n))}-bit  Δ* = {opt:.3f}  LSQ = {lsq:.3f}  D(LSQ)/D* = '
              f'{quantization_mse(lsq, n, signal=sig) / quantization_mse(opt, n, signal=sig):.2f}')

# %% [markdown]
# ## 8. The ternary threshold and TWN's 0.7·E|w|
# A ternary quantizer a·sign(w)·1[|w| > t] with its best scale (the centroid of the kept weights — seed 001's S for μ = 0) is optimal
# when the centroid is 2t: the mid-point condition again, so it equals UniQ's optimal N = 3 quantizer. TWN's rule 0.7·E|w|
# approximates t* for Gaussian (t*/E|w| ≈ 0.767) and uniform (2/3) weights.

# %%
for r in compare_with_twn():
    print(f"{r['distribution']:9s} t* = {r['optimal_threshold']:.4f}  t*/E|w| = {r['ratio']:.3f}  "
          f"excess MSE at 0.7·E|w| = {100 * r['excess']:.2f}%   Δ*(N=3)/2 = {r['uniq_step_n3'] / 2:.4f}")
t = np.linspace(0.05, 1.5, 300)
plt.figure(figsize=(6, 3.5))
for dist in ('gaussian', 'laplace', 'uniform'):
    plt.plot(t, ternary_mse(t, dist), label=dist)
plt.xlabel('threshold t (unit variance)'); plt.ylabel('ternary MSE'); plt.grid(alpha=.3); plt.legend()

# %% [markdown]
# ### Exercise 6.4
# ✏️ For Laplace weights the optimum is t* = E|w| (derive it: for p ∝ e^{−x/s}, E[w | w > t] = t + s).
# Verify numerically that `optimal_ternary_threshold('laplace')` equals E|w| = s = 1/√2, and compute how much larger the MSE is at TWN's 0.7·E|w|.

# %%
def twn_excess_mse_laplace():
    """Return (t_star, excess): the optimal Laplace threshold and the relative excess MSE at 0.7·E|w|."""
    ### BEGIN SOLUTION
    s = 1 / np.sqrt(2)
    t_star = optimal_ternary_threshold('laplace')
    return t_star, ternary_mse(0.7 * s, 'laplace') / ternary_mse(t_star, 'laplace') - 1
    ### END SOLUTION


# %%
# Check exercise 6.4
s = 1 / np.sqrt(2)
t_star, excess = twn_excess_mse_laplace()
print(t_star, s, excess)
assert abs(t_star - s) < 1e-9
assert excess > 0.05     # TWN's rule is tuned for Gaussian/uniform weights, not heavy tails

# %% [markdown]
# ## Take-aways
# * Table 1 is reproduced to the printed digits with SQNR = 10 log10(Var(quantizer input)/MSE); for ReLU activations the signal
#   power is the variance of the ReLU output.
# * The optimal step is Δᵤ·std: the laws are scale families (eq. 9). For activations, √(2E[Y²]) equals the pre-activation std only
#   when the pre-activation is symmetric about zero (eq. 10).
# * Lloyd–Max is the non-uniform floor; the uniform grid costs little at 2 bits and more as N grows.
# * The optimal ternary quantizer is UniQ's N = 3 quantizer; TWN's 0.7·E|w| is within 1% of its MSE for Gaussian and uniform weights.
