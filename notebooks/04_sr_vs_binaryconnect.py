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
# # 04 — Stochastic rounding versus BinaryConnect (seed 002)
#
# Li et al., *Training Quantized Nets: A Deeper Understanding* (seed 002 in [REFERENCES.md](../REFERENCES.md)) argue that
# BinaryConnect (BC), which keeps a full-precision buffer, **anneals** onto good minima as the learning rate α shrinks, while
# stochastic rounding (SR), which keeps only quantized weights, does not: its stationary distribution stops changing and it only
# mixes more slowly. This notebook computes every step of that argument on small problems (fast settings; the full-size run is
# `python -m toy_problems.sr_vs_bc`, report in `toy_problems/reports/sr_vs_bc.md`).
#
# Methods (seed 002 eqs. 4, 6, 7): **R** w ← Qd(w − α g(w)); **SR** w ← Qs(w − α g(w)); **BC** w_r ← w_r − α g(Q(w_r)).
# **Exercises** are headed **Exercise N.M**. Each one's reference solution sits between
# `### BEGIN SOLUTION` and `### END SOLUTION` (the student edition has a stub there that raises
# `NotImplementedError`): write your own code in its place and run the cell that starts with
# `# Check exercise N.M`, which fails when your code is wrong.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
from toy_problems.sr_vs_bc import (loss, grad, simulate, sr_transition_matrix, stationary_distribution,
                                   limit_transition_matrix, mixing_time, tv_distance)
from toy_problems.toy_1d import grid_points, grid_histogram, cell_mass, simulate_histograms, MIN_CELL
from toy_problems.markov import limit_rate_matrix, three_state_example, up_move_probability
from tinyquant.quant.rounding import deterministic_round, stochastic_round
SIGMA = 2.0          # gradient noise: g(w) = f'(w) + SIGMA * xi, xi ~ N(0, 1)
grid = grid_points()  # multiples of 0.5 in [-2, 7]
print(grid)

# %% [markdown]
# ## 0. The two rounding functions
# Qd rounds to the nearest multiple of Δ (ties to even); Qs rounds up with probability equal to the fractional part, so E[Qs(x)] = x.

# %%
rng = np.random.default_rng(0)
x = np.full(100_000, 0.3)
print('Qd(0.3) =', deterministic_round(0.3, 0.5), '  mean of Qs(0.3) =', stochastic_round(x, 0.5, rng).mean())

# %% [markdown]
# ## 1. The toy problem (eq. 8, Figure 2)
# f has minima at 0 (f = 2), 2.5 (f = 0.75) and 4.75 (f = 0.19). With Δ = 0.5 the global minimizer falls between the grid points
# 4.5 and 5.0, the *minimum cell*. We start at w = 4.0 and run each method for every α side by side (the chains are vectorized).

# %%
alphas = [1.0, 0.1, 0.01, 0.001]
steps = 100_000   # the paper uses 10^6; see the report
hist = {}
for m in ('BC', 'SR', 'R'):
    c = simulate_histograms(m, alphas, steps, sigma=SIGMA, chains=2, seed=0)
    hist[m] = c.sum(1) / c.sum((1, 2))[:, None]
fig = plt.figure(figsize=(15, 5))
gs = fig.add_gridspec(2, 5)
ax = fig.add_subplot(gs[:, 0]); w = np.linspace(-2, 7, 500)
ax.plot(w, loss(w), 'k', label='f(w)'); ax.plot(grid, loss(grid), 'o', ms=3, label='grid points (Δ = 0.5)')
ax.set_title('f(w), eq. 8'); ax.set_xlabel('weight w'); ax.set_ylabel('loss f(w)'); ax.legend(fontsize=8)
for r, m in enumerate(('BC', 'SR')):
    for j, a in enumerate(alphas):
        axh = fig.add_subplot(gs[r, j + 1]); axh.bar(grid, hist[m][j], width=0.2); axh.set_ylim(0, 1)
        axh.set_title(f'{m}, alpha = {a:g}', fontsize=9)
        axh.set_xlabel('weight w (grid point)', fontsize=8); axh.set_ylabel('fraction of steps', fontsize=8)
plt.tight_layout()
for m in hist:
    print(m, 'mass on {4.5, 5.0}:', np.round(cell_mass(hist[m], grid), 4))

# %% [markdown]
# ### Exercise 4.1
# ✏️ Why does R never leave w = 4.0 for α = 0.01? Compute the smallest |g| that moves R away from 4.0 at α = 0.01,
# and how many standard deviations (σ = 2) away from f′(4.0) = −1.5 that is. Then store BC's and SR's minimum-cell masses at α = 0.001.

# %%
def r_escape_and_cell_masses():
    """Return (g_needed, z_sigmas, bc_mass, sr_mass)."""
    ### BEGIN SOLUTION
    g_needed = 0.25 / 0.01                      # |alpha g| must reach Delta/2
    z_sigmas = (g_needed - abs(grad(4.0))) / SIGMA  # reach g = -25 from the mean f'(4) = -1.5
    bc_mass = cell_mass(hist['BC'][-1], grid)
    sr_mass = cell_mass(hist['SR'][-1], grid)
    return g_needed, z_sigmas, bc_mass, sr_mass
    ### END SOLUTION


# %%
# Check exercise 4.1
g_needed, z_sigmas, bc_mass, sr_mass = r_escape_and_cell_masses()
print(g_needed, z_sigmas, bc_mass, sr_mass)
assert g_needed == 25 and z_sigmas > 10
assert hist['R'][2][grid == 4.0] == 1.0
assert bc_mass > 0.98 and sr_mass < 0.8, 'BC anneals onto the minimum cell, SR does not'

# %% [markdown]
# ## 2. SR as a Markov chain (§5.2, Theorems 5–6, Figure 3)
# On the grid, SR is a Markov chain with the exact transition matrix T_α (row-stochastic: `T[i, j] = P(i → j)`). For Gaussian noise
# each entry is a second difference of E[(u − a)⁺] = c·J((μ − a)/c), J(b) = bΦ(b) + φ(b). As α → 0,
# T_α = I + α(Ũ − diag(Ũ1)) + o(α) with **up**-rates Ũ[i, i+1] = E[(−g)⁺]/Δ (SGD moves *against* the gradient) and down-rates
# Ũ[i, i−1] = E[g⁺]/Δ — the limit chain T̃ of Theorem 5, derived in `toy_problems/markov.py`. Its stationary distribution π̃ does not depend on α.

# %%
pi_lim = stationary_distribution(limit_transition_matrix(sigma=SIGMA))
rows = []
for a in [1.0, 0.3, 0.1, 0.03, 0.01, 0.001]:
    T = sr_transition_matrix(a, sigma=SIGMA)
    pi = stationary_distribution(T)
    rows.append((a, tv_distance(pi, pi_lim), cell_mass(pi, grid), mixing_time(T, 0.25)))
    print(f'alpha={a:<6g} TV(pi_a, pi~)={rows[-1][1]:.2e}  pi_a(min cell)={rows[-1][2]:.4f}  0.25-mixing time={rows[-1][3]}')
a_, _, _, M = map(np.array, zip(*rows))
small = a_ <= 0.1
print('log-log slope of the mixing time:', np.polyfit(np.log(a_[small]), np.log(M[small]), 1)[0])
plt.figure(figsize=(5, 3)); plt.bar(grid, pi_lim, width=0.2); plt.title('limit distribution of SR (pi~)')
plt.xlabel('weight w (grid point, Δ = 0.5)'); plt.ylabel('stationary probability');

# %% [markdown]
# **Move α and σ yourself.** The sliders (a live Jupyter session with the `[notebooks]` extra) redraw SR's exact
# stationary law π_α next to the limit law π̃ for the chosen noise σ, both from `toy_problems.markov`. Shrinking α
# brings π_α onto π̃ and no further; raising σ spreads both. Run headless (the tests, the docs) it is one static figure.

# %%
from tinyquant.interactive import interactive_figure


def draw_stationary_laws(log10_alpha, sigma):
    a = 10.0 ** log10_alpha
    pi_a = stationary_distribution(sr_transition_matrix(a, sigma=sigma))
    pi_t = stationary_distribution(limit_transition_matrix(sigma=sigma))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(grid - 0.06, pi_a, width=0.12, label=f'π_α, α = {a:.3g}')
    ax.bar(grid + 0.06, pi_t, width=0.12, label='π̃ (the α → 0 limit)')
    ax.axvspan(MIN_CELL[0] - 0.25, MIN_CELL[1] + 0.25, color='0.9', zorder=0, label='minimum cell')
    ax.set_xlabel('weight w (grid point, Δ = 0.5)'); ax.set_ylabel('stationary probability')
    ax.set_title(f'SR on the toy problem, σ = {sigma:.2f}: TV(π_α, π̃) = {tv_distance(pi_a, pi_t):.2e}')
    ax.legend(fontsize=8); plt.tight_layout(); plt.show()


interactive_figure(draw_stationary_laws, log10_alpha=(-3.0, 0.0, 0.1, -1.0), sigma=(0.5, 4.0, 0.25, SIGMA));

# %% [markdown]
# ### Exercise 4.2
# ✏️ (a) With σ = 0 the limit rates are deterministic: at w = 4.0, f′(4) = −1.5, so the up-rate is (−f′)⁺/Δ. Compute it
# by hand and compare with `limit_rate_matrix(sigma=0.0)[12, 13]`. (b) Compare the simulated SR histogram at α = 0.1 (item 1) with π_α.
# (c) Build the 3-state chain of Figure 3 and its halved version (I + T)/2: same π, slower mixing.

# %%
def limit_rates_and_chains():
    """Return (up_rate_by_hand, up_rate, tv_hist, T3, T3_half)."""
    ### BEGIN SOLUTION
    up_rate_by_hand = 1.5 / 0.5
    up_rate = limit_rate_matrix(sigma=0.0)[12, 13]
    tv_hist = tv_distance(hist['SR'][1], stationary_distribution(sr_transition_matrix(0.1, sigma=SIGMA)))
    T3, T3_half = three_state_example()
    return up_rate_by_hand, up_rate, tv_hist, T3, T3_half
    ### END SOLUTION


# %%
# Check exercise 4.2
up_rate_by_hand, up_rate, tv_hist, T3, T3_half = limit_rates_and_chains()
print(up_rate_by_hand, up_rate, tv_hist, stationary_distribution(T3), stationary_distribution(T3_half),
      mixing_time(T3, 0.01), mixing_time(T3_half, 0.01))
assert up_rate == up_rate_by_hand
assert tv_hist < 0.03
assert np.allclose(stationary_distribution(T3), stationary_distribution(T3_half))
assert mixing_time(T3_half, 0.01) > mixing_time(T3, 0.01)
assert rows[-1][1] < 1e-8 and rows[-1][3] > 10 * rows[-2][3] * 0.9   # pi_a -> pi~, mixing time ~ 1/alpha

# %% [markdown]
# ## 3. Convex guarantees (§4)
# A strongly convex quadratic in d = 10 with noisy gradients and α_t = 1/(μ(t+1)). Theorem 1 bounds SR by
# (1 + log(T+1))G²/(2μT) + √dΔG/2: an error **floor** linear in Δ. Corollary 1 says BC reaches the optimum — we run BC with both
# deterministic (Qd) and stochastic (Qs) rounding in the forward pass and evaluate both the real-valued and the quantized average.

# %%
from toy_problems import convex
quad = convex.strongly_convex_quadratic(d=10, mu=1.0, L=2.0, sigma=1.0, seed=0)
T = 3000
sr = convex.run(quad, 'SR', ('strong', 1.0), T, deltas=(1.0, 0.5, 0.25, 0.125), chains=30, seed=1)
bound1 = convex.theorem1_bound(T, mu=1.0, G=sr.G, d=10, delta=sr.deltas)
for dl, f, b in zip(sr.deltas, sr.f_avg[:, -1], bound1):
    print(f'SR Delta={dl:<6g} E[F(w_bar)]={f:.4f}  Theorem 1 bound={b:.3f}')
bc = {fw: convex.run(quad, 'BC', ('strong', 1.0), T, deltas=(1.0,), chains=30, seed=2, forward=fw, checkpoints=[100, 1000, 3000])
      for fw in ('deterministic', 'stochastic')}
for fw, r in bc.items():
    print(f'BC {fw:13s} real avg {np.round(r.f_avg[0], 4)}  quantized avg {np.round(r.f_avg_q[0], 4)}  '
          f'Corollary 1 bound {np.round(convex.corollary1_bound(r.checkpoints, mu=1.0, G=r.G[0]), 4)}')

# %% [markdown]
# ### Exercise 4.3
# ✏️ (a) Fit the slope of SR's floor against Δ on a log-log scale. (b) Check Lemma 1, E‖r_t‖² ≤ √dΔα_tG, at every step
# for Δ = 0.5. (c) Which BC variant misses Corollary 1's bound, and why? (Hint: with Qd, the gradient is evaluated at Qd(w_r), a biased
# function of w_r; the buffer settles on the rounding boundary next to w*. Appendix E uses E[r_t] = 0, true only for Qs.)

# %%
def floor_slope_lemma1_and_failures():
    """Return (slope, lemma1_ratio, fails): fails lists the BC variants that miss Corollary 1's bound."""
    ### BEGIN SOLUTION
    slope = np.polyfit(np.log(sr.deltas), np.log(sr.f_avg[:, -1]), 1)[0]
    lemma1_ratio = np.max(sr.r2[1] / convex.lemma1_bound(10, 0.5, sr.alphas, sr.G[1]))
    fails = [fw for fw, r in bc.items() if r.f_avg[0, -1] > convex.corollary1_bound(T, mu=1.0, G=r.G[0])]
    return slope, lemma1_ratio, fails
    ### END SOLUTION


# %%
# Check exercise 4.3
slope, lemma1_ratio, fails = floor_slope_lemma1_and_failures()
print(slope, lemma1_ratio, fails)
assert 0.8 < slope < 1.25
assert lemma1_ratio <= 1.0
assert fails == ['deterministic']

# %% [markdown]
# ## 4. Big batches (§6.1)
# A larger batch shrinks the gradient variance without changing its mean; SR becomes greedier and concentrates closer to the minimizer.

# %%
from toy_problems import big_batch
prob = big_batch.least_squares_problem(m=2048, d=4, seed=0)
res = big_batch.run_batch_sizes(prob, (1, 8, 64, 512), alpha=0.05, delta=0.25, steps=400, chains=8, seed=1)
plt.figure(figsize=(4.5, 3)); plt.loglog(res.batch_sizes, res.sr_excess, 'o-', label='SR')
plt.loglog(res.batch_sizes, res.bc_excess, 's-', label='BC'); plt.axhline(res.grid_floor, ls=':', c='k', label='best grid point')
plt.xlabel('batch size'); plt.ylabel('long-run excess loss'); plt.legend();
print(np.round(res.sr_excess, 4))

# %% [markdown]
# ### Exercise 4.4
# ✏️ By what factor does batch 512 lower SR's long-run excess loss compared with batch 1? Can SR go below the best grid point?

# %%
def big_batch_factor():
    """Return the factor by which batch 512 lowers SR's long-run excess loss against batch 1."""
    ### BEGIN SOLUTION
    return res.sr_excess[0] / res.sr_excess[-1]
    ### END SOLUTION


# %%
# Check exercise 4.4
factor = big_batch_factor()
print(factor, res.sr_excess[-1], res.grid_floor)
assert np.all(np.diff(res.sr_excess) < 0) and factor > 3
assert res.sr_excess[-1] > res.grid_floor  # SR's iterates are grid points

# %% [markdown]
# ## Take-aways
# * BC's quantized iterates anneal onto the minimum cell as α shrinks; SR's stationary distribution converges to π̃ (Theorem 5) and stops improving,
#   while its mixing time grows like 1/α (Theorem 6, slope ≈ −1).
# * The printed limit chain of Theorem 5 has its up/down rates swapped (and a negative entry); derive it from the update as above.
# * In the convex case, SR has a floor linear in Δ (Theorem 1); BC reaches the optimum for quadratics (Corollary 1) — with stochastic
#   forward rounding, or for the quantized average; with deterministic rounding the real-valued buffer stalls.
