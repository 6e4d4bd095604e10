"""Theory sandbox I: stochastic rounding (SR) versus BinaryConnect (BC), seed 002.

Students call the public names from here:

* the 1-D toy problem of eq. 8 — :func:`loss`, :func:`grad`, :func:`simulate` (R, SR, BC,
  vectorized across chains and learning rates);
* SR as a Markov chain (§5.2) — :func:`sr_transition_matrix` (exact T_α, **row-stochastic**:
  ``T[i, j]`` = P(i → j), rows sum to 1), :func:`stationary_distribution` (π T = π),
  :func:`limit_transition_matrix` (T̃ of Theorem 5, derived from the SR update, row-stochastic),
  :func:`mixing_time` (ε-mixing time in total variation, max over starting states);
* the experiments of issue #4 — :func:`run_experiments` computes every table and figure,
  :func:`main` is the command ``tinyquant toy sr-vs-bc`` / ``python -m toy_problems.sr_vs_bc``.

The pieces live in one module per concept: :mod:`toy_problems.toy_1d`,
:mod:`toy_problems.markov`, :mod:`toy_problems.convex`, :mod:`toy_problems.big_batch`,
:mod:`toy_problems.ledger_sr_vs_bc` (the claims ledger), :mod:`toy_problems.noise_laws`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import scipy.stats

from . import big_batch, convex
from .command import toy_parser
from .markov import (
    communicating_classes,
    continuous_mixing_time,
    is_irreducible,
    limit_alpha0,
    limit_difference_matrix,
    limit_generator,
    limit_rate_matrix,
    limit_transition_matrix,
    log_jump_probability,
    log_stationary_distribution,
    mixing_time,
    printed_limit_rate_matrix,
    spectral_gap,
    sr_log_transition_matrix,
    sr_transition_matrix,
    stationary_difference_to_limit,
    stationary_distribution,
    three_state_example,
    tv_distance,
    up_move_probability,
)
from tinyquant.markdown import number, table

from .noise_laws import ScipyNoise
from .toy_1d import ALPHAS, DELTA, DOMAIN, MIN_CELL, W0, cell_mass, grad, grid_points, loss, simulate, simulate_histograms

__all__ = [
    "loss",
    "grad",
    "simulate",
    "sr_transition_matrix",
    "stationary_distribution",
    "limit_transition_matrix",
    "mixing_time",
    "tv_distance",
    "SIGMA",
    "SIGMAS",
    "EPS",
    "Settings",
    "FULL",
    "FAST",
    "run_experiments",
    "write_figures",
    "render_report",
    "main",
]

SIGMAS = (1.0, 2.0)  # noise levels of the toy problem experiments: seed 002 does not state Figure 2's σ
SIGMA = 2.0  # the σ of the single-σ rows (Figure 3's companion tables, P(up | move))
EPS = 0.25  # ε of the mixing times
T3_NOISE = ScipyNoise(scipy.stats.t(df=3, scale=1 / np.sqrt(3)), name="Student t, 3 d.o.f., unit variance")


@dataclass(frozen=True)
class Settings:
    """Sizes of every experiment (``FULL`` for the report, ``FAST`` for tests and ``--fast``)."""

    name: str
    toy_steps: int
    toy_chains: int
    markov_alphas: tuple
    convex_steps: int
    convex_bc_steps: int
    convex_chains: int
    batch_sizes: tuple
    batch_steps: int
    batch_chains: int


FULL = Settings("full", 1_000_000, 4, (1.0, 0.5, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4),
                10_000, 30_000, 100, (1, 4, 16, 64, 256, 1024), 2000, 24)
FAST = Settings("fast", 20_000, 4, (1.0, 0.3, 0.1, 0.01, 0.001),
                3_000, 3_000, 40, (1, 8, 64, 512), 400, 8)

FIT_MAX_ALPHA = 0.1  # the mixing-time slope is fitted on α ≤ this (the small-α regime of Theorem 6)


# ----------------------------------------------------------------------------- experiments

def toy_experiment(s: Settings, seed=0, sigma=SIGMA, progress=None) -> dict:
    """Item 1 (+ the comparisons of item 2): histograms of R, SR and BC for each α of Figure 2."""
    grid = grid_points(DELTA, DOMAIN)
    alphas = np.array(ALPHAS)
    res = {"grid": grid, "alphas": alphas, "steps": s.toy_steps, "chains": s.toy_chains, "sigma": sigma}
    for i, (method, forward) in enumerate((("R", "deterministic"), ("SR", "deterministic"), ("BC", "deterministic"))):
        t0 = time.perf_counter()
        counts = simulate_histograms(method, alphas, s.toy_steps, sigma=sigma, chains=s.toy_chains, seed=seed + i, forward=forward)
        res[f"{method}_seconds"] = time.perf_counter() - t0
        per_chain = counts / counts.sum(axis=-1, keepdims=True)  # (n_alpha, chains, K)
        res[method] = per_chain.mean(axis=1)  # pooled over chains (equal lengths)
        res[f"{method}_cell_chains"] = cell_mass(per_chain, grid)  # (n_alpha, chains)
        if progress is not None:
            progress.update(1)
    pis = np.array([stationary_distribution(sr_transition_matrix(a, sigma=sigma)) for a in alphas])
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=sigma))
    res.update(pi=pis, pi_limit=pi_lim, tv_sr_pi=tv_distance(res["SR"], pis),
               mix=[mixing_time(sr_transition_matrix(a, sigma=sigma), EPS) for a in alphas])
    for key in ("R", "SR", "BC", "pi"):
        res[f"{key}_cell"] = cell_mass(res[key], grid)
    res["pi_limit_cell"] = float(cell_mass(pi_lim, grid))
    res["loss_cell"] = float(loss(MIN_CELL[0]))
    f = loss(grid)
    res["E_f"] = {key: res[key] @ f for key in ("R", "SR", "BC", "pi")}  # E f under each histogram and π_α
    res["E_f_limit"] = float(pi_lim @ f)
    return res


def _loglog_slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _printed_chain(sigma):
    """T̃ of the printed Ũ read with |z| (p the law of ∇f̃, signs as printed): row-stochastic at α₀."""
    U = printed_limit_rate_matrix(sigma=sigma, absolute=True)
    a0 = limit_alpha0(U)
    T = a0 * U
    np.fill_diagonal(T, 1.0 - a0 * U.sum(axis=1))
    return T


def markov_experiment(s: Settings, sigma=SIGMA) -> dict:
    """Item 2: T_α versus T̃, stationary distributions, TV distances, mixing times, spectral gaps,
    the continuous-time limit α·M_ε → τ(ε), Figure 3."""
    alphas = np.array(s.markov_alphas)
    grid = grid_points(DELTA, DOMAIN)
    f = loss(grid)
    U = limit_rate_matrix(sigma=sigma)
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=sigma))
    logTs = [sr_log_transition_matrix(a, sigma=sigma) for a in alphas]
    Ts = [np.exp(L) for L in logTs]
    pis = np.array([np.exp(log_stationary_distribution(L)) for L in logTs])
    # TV from π_α − π̃ computed directly (accurate far below the resolution of π itself)
    tv = np.array([0.5 * np.abs(stationary_difference_to_limit(a, sigma=sigma)).sum() for a in alphas])
    tv_naive = tv_distance(pis, pi_lim)
    mix = np.array([mixing_time(T, EPS) for T in Ts], dtype=float)
    gaps = np.array([spectral_gap(T) for T in Ts])
    log_jump2 = np.array([float(log_jump_probability(L, cells=2).max()) for L in logTs])  # kept as a log: it goes far below 1e-300
    fit = alphas <= FIT_MAX_ALPHA
    slope = _loglog_slope(alphas[fit], mix[fit])
    Q = limit_generator(sigma=sigma)
    tau = continuous_mixing_time(Q, EPS)
    ev = np.sort(np.linalg.eigvals(Q).real)[::-1]
    gamma = float(-ev[1])  # spectral gap of the generator: α · t_rel(T_α) → 1/γ
    # T_α − α Ũ off the diagonal, divided by α: o(1) by the derivation in markov.py (formed from tails)
    offdiag_err = []
    for a in alphas:
        D = limit_difference_matrix(a, sigma=sigma)
        np.fill_diagonal(D, 0.0)
        offdiag_err.append(np.abs(D).max() / a)
    # heavy-tailed noise (Student t, 3 d.o.f.): Theorem 5's tail assumption holds, convergence is polynomial
    pi_lim_t = stationary_distribution(limit_transition_matrix(sigma=sigma, noise=T3_NOISE))
    pis_t = np.array([stationary_distribution(sr_transition_matrix(a, sigma=sigma, noise=T3_NOISE)) for a in alphas])
    tv_t = tv_distance(pis_t, pi_lim_t)
    fit_t = (alphas <= FIT_MAX_ALPHA) & (tv_t > 1e-12)
    slope_t = _loglog_slope(alphas[fit_t], tv_t[fit_t]) if fit_t.sum() >= 2 else float("nan")
    # the printed Ũ of the seed (p = law of ∇f̃): negative entries; with |z| a chain that climbs
    U_printed = printed_limit_rate_matrix(sigma=sigma)
    T_printed = _printed_chain(sigma)
    pi_printed = stationary_distribution(T_printed)
    small = int(np.argmin(alphas))
    # §5: P(up | move) should not depend on α for small α
    up = np.array([up_move_probability(T) for T in Ts])
    # Figure 3
    T3, T3h = three_state_example()
    fig3 = {"T": T3, "T_half": T3h, "pi": stationary_distribution(T3), "pi_half": stationary_distribution(T3h),
            "mix": mixing_time(T3, EPS), "mix_half": mixing_time(T3h, EPS),
            "mix_eps01": mixing_time(T3, 0.01), "mix_half_eps01": mixing_time(T3h, 0.01)}
    # Theorem 5 without its C2 assumption (σ = 0: no noise): count the closed classes of the limit chain
    classes, closed = communicating_classes(limit_transition_matrix(sigma=0.0))
    return {
        "sigma": sigma, "grid": grid, "alphas": alphas, "U": U, "alpha0": limit_alpha0(U), "pi_limit": pi_lim, "pis": pis,
        "tv": tv, "tv_naive": tv_naive, "mix": mix, "slope": slope, "fit_alphas": alphas[fit], "offdiag_err": np.array(offdiag_err),
        "gap": gaps, "t_rel": 1.0 / gaps, "log_jump2": log_jump2, "tau": tau, "gamma": gamma,
        "E_f": pis @ f, "E_f_limit": float(pi_lim @ f), "pi_minus2": pis[:, 0], "pi_limit_minus2": float(pi_lim[0]),
        "tv_t": tv_t, "slope_t": slope_t, "pi_limit_t": pi_lim_t,
        "printed_min_entry": float(U_printed.min()), "printed_pi": pi_printed, "printed_irreducible": is_irreducible(T_printed),
        "tv_printed": float(tv_distance(pis[small], pi_printed)), "printed_cell": float(cell_mass(pi_printed, grid)),
        "up": up, "up_spread_small": float(np.nanmax(np.abs(up[alphas <= 0.01] - up[small]))) if np.any(alphas <= 0.01) else float("nan"),
        "pi_limit_min": float(pi_lim.min()), "pi_limit_cell": float(cell_mass(pi_lim, grid)),
        "fig3": fig3, "sigma0_closed_classes": int(sum(closed)),
    }


def convex_experiment(s: Settings, seed=0, progress=None) -> dict:
    """Item 3: Lemma 1, Theorems 1–4 and Corollary 1 on strongly and weakly convex problems, with
    the floors the theory predicts (Theorem 1's √dΔG/2; BC-Qd's Σᵢ λᵢ/2 (bᵢ − w*ᵢ)²)."""
    def tick():
        if progress is not None:
            progress.update(1)

    res = {}
    quad = convex.strongly_convex_quadratic(d=10, mu=1.0, L=2.0, sigma=1.0, seed=seed)
    T = s.convex_steps
    cks = [c for c in (10, 100, 1000, 3000, 10_000, 30_000) if c <= T] or [T]
    deltas = (1.0, 0.5, 0.25, 0.125, 0.0625)
    sr = convex.run(quad, "SR", ("strong", quad.mu), T, deltas=deltas, chains=s.convex_chains, seed=seed + 1, checkpoints=cks)
    tick()
    res["quad"] = quad
    res["sr_strong"] = sr
    res["thm1_bound"] = np.array([convex.theorem1_bound(np.array(sr.checkpoints), mu=quad.mu, G=G, d=quad.d, delta=dl)
                                  for G, dl in zip(sr.G, sr.deltas)])
    # Theorem 1 with other readings of G² (the bound needs E‖∇f̃‖² ≤ G² at every step; the max is
    # set by the first steps, far from w*): the mean over steps and the mean over the second half
    res["thm1_bound_g2"] = {name: np.array([convex.theorem1_bound(np.array(sr.checkpoints), mu=quad.mu, G=np.sqrt(g2), d=quad.d, delta=dl)
                                            for g2, dl in zip(vals, sr.deltas)])
                            for name, vals in (("max", sr.g2_max), ("mean", sr.g2_mean), ("late", sr.g2_late))}
    res["thm1_floor"] = convex.theorem1_floor(G=sr.G, d=quad.d, delta=sr.deltas)
    res["thm1_floor_late"] = convex.theorem1_floor(G=np.sqrt(sr.g2_late), d=quad.d, delta=sr.deltas)
    res["lemma1_ratio"] = np.array([np.max(sr.r2[i] / convex.lemma1_bound(quad.d, dl, sr.alphas, sr.G[i]))
                                    for i, dl in enumerate(sr.deltas)])
    res["sr_floor_slope"] = _loglog_slope(sr.deltas, sr.f_avg[:, -1])
    # BC on the quadratic (Corollary 1), both forward roundings, real and quantized averages
    Tb = s.convex_bc_steps
    cks_b = [c for c in (100, 1000, 3000, 10_000, 30_000) if c <= Tb] or [Tb]
    res["bc_strong"] = {}
    for fw in ("deterministic", "stochastic"):
        res["bc_strong"][fw] = convex.run(quad, "BC", ("strong", quad.mu), Tb, deltas=(1.0, 0.5), chains=s.convex_chains,
                                          seed=seed + 2, checkpoints=cks_b, forward=fw)
        tick()
    res["cor1_bound"] = {fw: np.array([convex.corollary1_bound(np.array(r.checkpoints), mu=quad.mu, G=G) for G in r.G])
                         for fw, r in res["bc_strong"].items()}
    res["sgd_strong"] = convex.run(quad, "SGD", ("strong", quad.mu), Tb, chains=s.convex_chains, seed=seed + 3, checkpoints=cks_b)
    # BC-Qd's floor: on an axis-aligned quadratic the real-valued average converges to the rounding
    # boundary b next to w*, F(b) = Σᵢ λᵢ/2 (bᵢ − w*ᵢ)² (convex.bc_deterministic_floor)
    quad_axes = convex.strongly_convex_quadratic(d=10, mu=1.0, L=2.0, sigma=1.0, seed=seed, rotate=False)
    res["quad_axes"] = quad_axes
    res["bc_axes"] = convex.run(quad_axes, "BC", ("strong", quad_axes.mu), Tb, deltas=(1.0, 0.5), chains=s.convex_chains,
                                seed=seed + 7, checkpoints=cks_b, forward="deterministic")
    res["bc_axes_floor"] = np.array([convex.bc_deterministic_floor(quad_axes, dl) for dl in res["bc_axes"].deltas])
    tick()
    # SR's floors on the same axis-aligned quadratic, predicted by the limit chain (convex.sr_limit_floor)
    res["sr_axes"] = convex.run(quad_axes, "SR", ("strong", quad_axes.mu), T, deltas=deltas, chains=s.convex_chains,
                                seed=seed + 8, checkpoints=cks)
    res["sr_axes_floor"] = np.array([convex.sr_limit_floor(quad_axes, dl) for dl in deltas])  # (n_delta, 2): average, last
    tick()
    # Theorem 4: strongly convex, non-quadratic (log-cosh), box of radius 2
    lc = convex.strongly_convex_logcosh(d=10, mu=0.5, beta=1.0, sigma=1.0, seed=seed)
    R = 2.0
    D = 2 * R * np.sqrt(lc.d)
    res["logcosh"] = lc
    res["bc_logcosh"] = {}
    for fw in ("deterministic", "stochastic"):
        res["bc_logcosh"][fw] = convex.run(lc, "BC", ("strong", lc.mu), T, deltas=(1.0, 0.5), chains=s.convex_chains,
                                           seed=seed + 4, checkpoints=cks, forward=fw, radius=R)
        tick()
    res["thm4_bound"] = {fw: np.array([convex.theorem4_bound(np.array(r.checkpoints), mu=lc.mu, G=G, d=lc.d, delta=dl, D=D, L2=lc.L2)
                                       for G, dl in zip(r.G, r.deltas)]) for fw, r in res["bc_logcosh"].items()}
    # the bound's first term alone, (1 + log(T+1)) G²/(2μT): what is left without the Δ-floor term D L₂ √d Δ/2
    res["thm4_g2_term"] = {fw: np.array([convex.corollary1_bound(np.array(r.checkpoints), mu=lc.mu, G=G) for G in r.G])
                           for fw, r in res["bc_logcosh"].items()}
    # Theorems 2–3: weakly convex quadratic, α_t = c/√t, box of radius 2
    wq = convex.weakly_convex_quadratic(d=10, rank=5, L=2.0, sigma=1.0, seed=seed)
    c = 0.5
    res["weak"] = wq
    res["weak_D"] = D
    res["weak_c"] = c
    res["sr_weak"] = convex.run(wq, "SR", ("sqrt", c), T, deltas=(1.0, 0.5, 0.25), chains=s.convex_chains, seed=seed + 5,
                                checkpoints=cks, radius=R)
    tick()
    res["thm2_bound"] = np.array([convex.theorem2_bound(np.array(res["sr_weak"].checkpoints), c=c, D=D, G=G, d=wq.d, delta=dl)
                                  for G, dl in zip(res["sr_weak"].G, res["sr_weak"].deltas)])
    res["bc_weak"] = {}
    for fw in ("deterministic", "stochastic"):
        res["bc_weak"][fw] = convex.run(wq, "BC", ("sqrt", c), T, deltas=(1.0, 0.5), chains=s.convex_chains, seed=seed + 6,
                                        checkpoints=cks, forward=fw, radius=R)
        tick()
    res["thm3_bound"] = {fw: np.array([convex.theorem3_bound(np.array(r.checkpoints), c=c, D=D, G=G, d=wq.d, delta=dl, L=wq.L)
                                       for G, dl in zip(r.G, r.deltas)]) for fw, r in res["bc_weak"].items()}
    return res


def big_batch_experiment(s: Settings, seed=0) -> dict:
    """Item 4: SR (and BC) with batch sizes 1 … 1024 on least squares."""
    prob = big_batch.least_squares_problem(m=4096, d=4, seed=seed)
    res = big_batch.run_batch_sizes(prob, s.batch_sizes, alpha=0.05, delta=0.25, steps=s.batch_steps,
                                    chains=s.batch_chains, seed=seed + 1)
    return {"problem": prob, "result": res, "alpha": 0.05, "delta": 0.25}


CONVEX_RUNS = 10  # convex.run calls in convex_experiment that tick the progress bar


def run_experiments(fast=False, seed=0, parts=("toy", "markov", "convex", "batch"), sigmas=SIGMAS, progress=False) -> dict:
    """Run the requested parts with ``FAST`` or ``FULL`` settings; returns a dict of results
    (plus wall-clock seconds per part under ``"seconds"``). The toy problem and the Markov chain
    run for every σ in ``sigmas`` (``results["toy"][σ]``, ``results["markov"][σ]``); ``progress``
    shows a tqdm bar on stderr."""
    from tqdm.auto import tqdm

    s = FAST if fast else FULL
    sigmas = tuple(float(x) for x in sigmas)
    out = {"settings": s, "seconds": {}, "sigmas": sigmas}
    total = (3 * len(sigmas) if "toy" in parts else 0) + (len(sigmas) if "markov" in parts else 0) \
        + (CONVEX_RUNS if "convex" in parts else 0) + (1 if "batch" in parts else 0)
    # disable=None: a bar only on a terminal (no bar in logs and captured output)
    with tqdm(total=total, desc="sr-vs-bc", unit="run", disable=None if progress else True, leave=False) as bar:
        for part in parts:
            t0 = time.perf_counter()
            bar.set_postfix_str(part)
            if part == "toy":
                out["toy"] = {sg: toy_experiment(s, seed, sg, progress=bar) for sg in sigmas}
            elif part == "markov":
                out["markov"] = {}
                for sg in sigmas:
                    out["markov"][sg] = markov_experiment(s, sg)
                    bar.update(1)
            elif part == "convex":
                out["convex"] = convex_experiment(s, seed, progress=bar)
            elif part == "batch":
                out["batch"] = big_batch_experiment(s, seed)
                bar.update(1)
            else:
                raise ValueError(f"run_experiments: unknown part {part!r}; expected toy, markov, convex or batch")
            out["seconds"][part] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- figures

def write_figures(results: dict, out_dir) -> list:
    """Write the PNG figures of the parts present in ``results`` to ``out_dir``; returns paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    paths = []

    def save(fig, name):
        p = os.path.join(out_dir, name)
        fig.savefig(p, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)

    colors = {"BC": "tab:blue", "SR": "tab:orange", "R": "tab:red"}
    if "toy" in results:
        toys = results["toy"]
        sigmas = list(toys)
        first = toys[sigmas[0]]
        grid, alphas = first["grid"], first["alphas"]
        fig = plt.figure(figsize=(16, 2.6 * 2 * len(sigmas) + 0.5))
        gs = fig.add_gridspec(2 * len(sigmas), 1 + len(alphas), width_ratios=[1.6] + [1] * len(alphas))
        ax = fig.add_subplot(gs[:, 0])
        w = np.linspace(DOMAIN[0], DOMAIN[1], 901)
        ax.plot(w, loss(w), "k-", label="f(w), seed 002 eq. 8")
        ax.plot(grid, loss(grid), "o", ms=3, color="tab:gray", label=f"grid points, Δ = {DELTA}")
        ax.axvline(W0, ls=":", color="tab:green", label=f"start w = {W0}")
        ax.axvspan(MIN_CELL[0] - DELTA / 4, MIN_CELL[-1] + DELTA / 4, color="tab:green", alpha=0.1, label="minimizing cell {4.5, 5.0}")
        ax.set(xlabel="weight w (dimensionless)", ylabel="loss f(w)", title="toy problem (seed 002, eq. 8)")
        ax.legend(fontsize=8)
        shared = None   # the histograms share both axes (one grid, fractions in [0, 1]): outer labels only
        for si, sg in enumerate(sigmas):
            toy = toys[sg]
            for r, method in enumerate(("BC", "SR")):
                row = 2 * si + r
                for j, a in enumerate(alphas):
                    axh = fig.add_subplot(gs[row, 1 + j], sharex=shared, sharey=shared)
                    shared = shared or axh
                    axh.bar(grid, toy[method][j], width=0.4 * DELTA, color=colors[method], label=f"{method} histogram")
                    if method == "SR":
                        axh.plot(grid, toy["pi"][j], "k_", ms=8, mew=2, label="π_α (exact chain)")
                    if j == 0:
                        axh.set_ylabel(f"σ = {sg:g}\nfraction of iterates", fontsize=8)
                        axh.legend(fontsize=6, loc="upper left")
                    if row == 2 * len(sigmas) - 1:
                        axh.set_xlabel("weight w (dimensionless)", fontsize=8)
                    axh.set_ylim(0, 1)
                    axh.set_title(f"{method}, α = {a:g}, σ = {sg:g}", fontsize=8)
                    axh.tick_params(labelsize=7)
        fig.suptitle(f"Figure 2: where the quantized iterates spend their time, {first['steps']:,} iterations × {first['chains']} chains "
                     f"from w = {W0}\nbars: histograms; black ticks: stationary law π_α of the exact SR chain "
                     "(seed 002 does not state Figure 2's σ; both σ = 1 and σ = 2 shown)", fontsize=10)
        save(fig, "fig2_toy_problem.png")

        fig, axs = plt.subplots(len(sigmas), len(alphas), figsize=(12, 2.4 * len(sigmas)), sharey=True, squeeze=False)
        for si, sg in enumerate(sigmas):
            for j, a in enumerate(alphas):
                axs[si, j].bar(grid, toys[sg]["R"][j], width=0.4 * DELTA, color=colors["R"])
                axs[si, j].set_title(f"R, α = {a:g}, σ = {sg:g}", fontsize=9)
                axs[si, j].set_xlabel("weight w (dimensionless)", fontsize=8)
            axs[si, 0].set_ylabel("fraction of iterates", fontsize=8)
        fig.suptitle("deterministic rounding R (seed 002 eq. 4): stuck at the start w = 4 once α·|g| < Δ/2")
        save(fig, "fig2_rounding_R.png")

    if "markov" in results:
        mks = results["markov"]
        sigmas = list(mks)
        fig, axs = plt.subplots(1, 4, figsize=(18, 3.8))
        for sg, ls in zip(sigmas, ("-", "--", ":")):
            mk = mks[sg]
            grid, alphas = mk["grid"], mk["alphas"]
            axs[0].semilogy(grid, mk["pi_limit"], "k" + ls, label=f"π̃ (limit chain), σ = {sg:g}")
            for a, pi in zip(alphas, mk["pis"]):
                if a in (1.0, 0.1):
                    axs[0].semilogy(grid, pi, "o" + ls, ms=3, label=f"π_α, α = {a:g}, σ = {sg:g}")
            pos = mk["tv"] > 0
            axs[1].loglog(alphas[pos], mk["tv"][pos], "o" + ls, label=f"Gaussian noise, σ = {sg:g}")
            axs[1].loglog(alphas, np.maximum(mk["tv_t"], 1e-300), "s" + ls, ms=4, label=f"Student t(3) noise, σ = {sg:g}")
            axs[2].loglog(alphas, mk["mix"], "o" + ls, label=f"M_ε(α), σ = {sg:g}")
            axs[2].loglog(alphas, mk["tau"] / alphas, "k" + ls, lw=0.8, label=f"τ(ε)/α = {mk['tau']:.2f}/α, σ = {sg:g}")
        axs[0].set(xlabel="weight w", ylabel="stationary probability (log scale)", title="stationary laws of SR")
        axs[0].legend(fontsize=6)
        axs[1].set(xlabel="learning rate α", ylabel="TV(π_α, π̃)", title="Theorem 5: π_α → π̃ (values < 1e-300 not drawn)",
                   ylim=(1e-130, 10))
        axs[1].legend(fontsize=6)
        axs[2].set(xlabel="learning rate α", ylabel=f"{EPS}-mixing time (steps)", title="Theorem 6: mixing time ∝ 1/α")
        axs[2].legend(fontsize=6)
        f3 = mks[sigmas[0]]["fig3"]
        steps = np.arange(0, 3 * f3["mix_half_eps01"] + 2)
        for T, lab in ((f3["T"], "T (our 3-state chain)"), (f3["T_half"], "T½ = (I + T)/2, halved moves")):
            pi = stationary_distribution(T)
            P, tvs = np.eye(3), []
            for _ in steps:
                tvs.append(tv_distance(P, pi).max())
                P = P @ T
            axs[3].semilogy(steps, tvs, "o-", ms=3, label=lab)
        axs[3].set(xlabel="steps", ylabel="max over starts of TV to π", title="Figure 3: same π, slower mixing")
        axs[3].legend(fontsize=7)
        fig.subplots_adjust(wspace=0.35)
        save(fig, "fig3_markov_chain.png")

    if "convex" in results:
        cv = results["convex"]
        sr = cv["sr_strong"]
        fig, axs = plt.subplots(1, 3, figsize=(16, 4.0))
        axs[0].loglog(sr.deltas, sr.f_avg[:, -1], "o-", label=f"SR measured, T = {sr.checkpoints[-1]:,}")
        axs[0].loglog(sr.deltas, cv["thm1_bound"][:, -1], "s--", label="Theorem 1 bound (G² = max over steps)")
        axs[0].loglog(sr.deltas, cv["thm1_bound_g2"]["late"][:, -1], "^--", label="Theorem 1 bound (G² = late-run mean)")
        axs[0].loglog(sr.deltas, cv["thm1_floor"], "k:", label="its T → ∞ floor √dΔG/2")
        sa = cv["sr_axes"]
        axs[0].loglog(sa.deltas, sa.f_avg[:, -1], "D-", color="tab:purple", ms=4, label="SR measured, axis-aligned quadratic")
        axs[0].loglog(sa.deltas, cv["sr_axes_floor"][:, 0], "k-", lw=0.8, label="its floor predicted by the limit chain (T → ∞)")
        axs[0].set(xlabel="grid spacing Δ", ylabel="E[F(w̄_T)] − F*", title=f"SR floor ∝ Δ^{cv['sr_floor_slope']:.2f}")
        axs[0].legend(fontsize=6)
        for fw, r in cv["bc_strong"].items():
            axs[1].loglog(r.checkpoints, r.f_avg[0], "o-", label=f"BC, Q{fw[0]} forward, real-valued average (Δ = {r.deltas[0]:g})")
            axs[1].loglog(r.checkpoints, r.f_avg_q[0], "^:", label=f"BC, Q{fw[0]} forward, quantized average")
        r = cv["bc_strong"]["stochastic"]
        axs[1].loglog(r.checkpoints, cv["cor1_bound"]["stochastic"][0], "k--", label="Corollary 1 bound")
        ra = cv["bc_axes"]
        axs[1].loglog(ra.checkpoints, ra.f_avg[0], "s-", color="tab:purple", label="BC-Qd, axis-aligned quadratic, real-valued average")
        axs[1].axhline(cv["bc_axes_floor"][0], color="tab:purple", ls=":", label="its predicted floor Σλᵢ/2 (bᵢ − w*ᵢ)²")
        axs[1].set(xlabel="iterations T", ylabel="E[F(w̄_T)] − F*", title="BC on a strongly convex quadratic")
        axs[1].legend(fontsize=6)
        l1 = sr.r2[1] / convex.lemma1_bound(cv["quad"].d, sr.deltas[1], sr.alphas, sr.G[1])
        axs[2].semilogx(np.arange(1, l1.size + 1), l1, ",", alpha=0.6, label="measured E‖r_t‖² / bound")
        axs[2].axhline(1.0, color="k", ls="--", label="bound")
        axs[2].set(xlabel="step t", ylabel="E‖r_t‖² / (√d Δ α_t G)", title=f"Lemma 1 (Δ = {sr.deltas[1]:g})")
        axs[2].legend(fontsize=7)
        save(fig, "fig_convex.png")

    if "batch" in results:
        bb = results["batch"]["result"]
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.loglog(bb.batch_sizes, bb.sr_excess, "o-", label="SR, E[F(w)] − F*")
        ax.loglog(bb.batch_sizes, bb.bc_excess, "s-", label="BC, E[F(Qd(w_r))] − F*")
        ax.axhline(bb.grid_floor, color="k", ls=":", label="best grid point (no grid method beats it)")
        ax.set(xlabel="batch size B", ylabel="long-run excess loss E[F] − F*", title="§6.1: big batches help SR")
        ax.legend(fontsize=8)
        save(fig, "fig_big_batch.png")
    return paths


# ----------------------------------------------------------------------------- tables

def _g(x, digits=3):
    return number(float(x), digits)


def _tiny(x, digits=3):
    """A positive probability that may have underflowed: 0 is shown as "< 1e-300"."""
    return "< 1e-300" if x == 0 else _g(x, digits)


def _from_log(logp, digits=3):
    """A probability given by its natural log, in scientific notation even below the float range."""
    if logp == -np.inf:
        return "0"
    e10 = logp / np.log(10.0)
    exp = int(np.floor(e10))
    mant = 10 ** (e10 - exp)
    if exp >= -4:
        return _g(np.exp(logp), digits)
    return f"{mant:.{digits - 1}f}e{exp}"


def _pm(mean, se, digits=5):
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def tables(results: dict) -> list:
    """(title, Markdown table) pairs for every part present in ``results``."""
    out = []
    if "toy" in results:
        for sg, toy in results["toy"].items():
            rows = []
            for j, a in enumerate(toy["alphas"]):
                bc_ch = toy["BC_cell_chains"][j]
                sr_ch = toy["SR_cell_chains"][j]
                rows.append([a, f"{toy['BC_cell'][j]:.4f} ({bc_ch.min():.4f}–{bc_ch.max():.4f})",
                             f"{toy['SR_cell'][j]:.4f} ({sr_ch.min():.4f}–{sr_ch.max():.4f})", f"{toy['R_cell'][j]:.4f}",
                             f"{toy['pi_cell'][j]:.4f}", f"{toy['pi_limit_cell']:.4f}", f"{toy['tv_sr_pi'][j]:.4f}",
                             f"{toy['E_f']['BC'][j]:.4f} / {toy['E_f']['SR'][j]:.4f} / {toy['E_f']['pi'][j]:.4f}", int(toy["mix"][j])])
            out.append((f"Toy problem (item 1), σ = {sg:g}: mass on the global-minimum cell {{4.5, 5.0}} "
                        f"({toy['steps']:,} iterations × {toy['chains']} chains from w = {W0}, Δ = {DELTA}; "
                        f"pooled over chains, range over chains in brackets; E f = long-run mean loss, minimum f = 0.19; "
                        f"E_π̃ f = {toy['E_f_limit']:.4f})",
                        table(["α", "BC histogram", "SR histogram", "R histogram", "π_α (exact SR chain)", "π̃ (limit)",
                               "TV(SR histogram, π_α)", "E f: BC / SR / E_π_α f", f"{EPS}-mixing time of T_α"], rows)))
    if "markov" in results:
        for sg, mk in results["markov"].items():
            rows = [[a, _tiny(tv), _g(tvn), _g(tvt), int(m), _g(a * m, 6), _g(gap), _g(a / gap, 6), _from_log(j2), _g(p2, 6),
                     f"{cell_mass(p, mk['grid']):.4f}", f"{ef:.4f}", _tiny(e)]
                    for a, tv, tvn, tvt, m, gap, j2, p2, p, ef, e in zip(mk["alphas"], mk["tv"], mk["tv_naive"], mk["tv_t"], mk["mix"],
                                                                          mk["gap"], mk["log_jump2"], mk["pi_minus2"], mk["pis"], mk["E_f"],
                                                                          mk["offdiag_err"])]
            rows.append(["→ 0 (limit chain)", "0", "0", "0", "∞", _g(mk["tau"], 6), "0", _g(1 / mk["gamma"], 6), "0",
                         _g(mk["pi_limit_minus2"], 6), f"{mk['pi_limit_cell']:.4f}", f"{mk['E_f_limit']:.4f}", "—"])
            out.append((f"SR as a Markov chain (item 2), σ = {sg:g}: α₀ = {mk['alpha0']:.4f}; fitted log-log slope of the mixing time "
                        f"on α ≤ {FIT_MAX_ALPHA:g}: **{mk['slope']:.4f}**; continuous-time limit α·M_ε(α) → τ(ε) = **{mk['tau']:.4f}** "
                        f"(ε = {EPS}; mixing of exp(sQ̃), Q̃ = Ũ − diag(Ũ1)); α·t_rel → 1/γ = {1 / mk['gamma']:.4f} (γ the spectral gap of Q̃); "
                        f"slope of TV(π_α, π̃) under t(3) noise: {mk['slope_t']:.3f}. TV(π_α, π̃) is computed from π_α − π̃ = π̃E(I − T_α + 1π_α)⁻¹ "
                        "with E = T_α − T̃_α formed from tails (markov.stationary_difference_to_limit; < 1e-300: below the float range); "
                        "the naive column subtracts the two float vectors and shows its round-off floor (~1e-15); the jump probability is "
                        "computed in log space",
                        table(["α", "TV(π_α, π̃)", "TV naive", "TV t(3) noise", f"M_{EPS}", f"α·M_{EPS}", "spectral gap 1 − |λ₂|",
                               "α·t_rel", "max P(jump ≥ 2 cells)", "π_α(−2)", "π_α({4.5, 5.0})", "E_π_α f",
                               "max off-diagonal |T_α − αŨ|/α (from tails)"], rows)))
        rows = [[sg, "yes" if mk["printed_irreducible"] else "no", _g(mk["printed_pi"].min()), f"{mk['printed_cell']:.3e}",
                 _g(mk["printed_pi"][0], 4), _g(mk["printed_pi"][-1], 4), f"{mk['tv_printed']:.4f}"] for sg, mk in results["markov"].items()]
        out.append(("The printed limit chain read with literal signs (Ũ(x, x+Δ) = E[g⁺]/Δ, Ũ(x, x−Δ) = E[(−g)⁺]/Δ, p the law of ∇f̃): "
                    "irreducibility by graph reachability, its stationary law, and TV to π_α at the smallest α",
                    table(["σ", "irreducible", "min π̃_printed", "π̃_printed({4.5, 5.0})", "π̃_printed(−2)", "π̃_printed(7)",
                           "TV(π_α, π̃_printed)"], rows)))
        mk = results["markov"][SIGMA] if SIGMA in results["markov"] else next(iter(results["markov"].values()))
        f3 = mk["fig3"]
        rows = [["T", np.array2string(f3["pi"], precision=4), f3["mix"], f3["mix_eps01"]],
                ["T½ = (I + T)/2", np.array2string(f3["pi_half"], precision=4), f3["mix_half"], f3["mix_half_eps01"]]]
        out.append(("Figure 3: halving every off-diagonal probability (our 3-state chain; the figure's numbers are not in the text)",
                    table(["chain", "π", f"{EPS}-mixing time", "0.01-mixing time"], rows)))
        grid = mk["grid"]
        sel = [int(np.argmin(np.abs(grid - x))) for x in (0.0, 2.5, 4.0, 4.5, 5.0, 6.0)]
        rows = [[a] + [f"{mk['up'][i][k]:.4f}" for k in sel] for i, a in enumerate(mk["alphas"])]
        out.append((f"§5: P(move up | move) from selected states, σ = {mk['sigma']:g} — independent of α once α is small",
                    table(["α"] + [f"w = {grid[k]:g}" for k in sel], rows)))
    if "convex" in results:
        cv = results["convex"]
        sr = cv["sr_strong"]
        g2v = cv["thm1_bound_g2"]
        rows = [[dl, f"{sr.g2_max[i]:.2f} / {sr.g2_mean[i]:.2f} / {sr.g2_late[i]:.2f}", _pm(sr.f_avg[i, -1], sr.f_avg_se[i, -1], 4),
                 f"{g2v['max'][i, -1]:.3f} ({sr.f_avg[i, -1] / g2v['max'][i, -1]:.3f})",
                 f"{g2v['mean'][i, -1]:.3f} ({sr.f_avg[i, -1] / g2v['mean'][i, -1]:.3f})",
                 f"{g2v['late'][i, -1]:.3f} ({sr.f_avg[i, -1] / g2v['late'][i, -1]:.3f})",
                 f"{cv['thm1_floor'][i]:.3f} / {cv['thm1_floor_late'][i]:.3f}",
                 f"{sr.f_last[i]:.4f}", f"{cv['lemma1_ratio'][i]:.3f}"]
                for i, dl in enumerate(sr.deltas)]
        out.append((f"Theorem 1 and Lemma 1 (item 3): SR on a strongly convex quadratic, d = {cv['quad'].d}, μ = {cv['quad'].mu:g}, "
                    f"L = {cv['quad'].L:g}, σ = 1, α_t = 1/(μ(t+1)), T = {sr.checkpoints[-1]:,}, {sr.f_avg.shape[0]} grid spacings × "
                    f"chains; measured floor ∝ Δ^{cv['sr_floor_slope']:.3f}. The bound with three readings of G² (max over steps, "
                    "as the theorem needs; mean over steps; mean over the second half), measured/bound in brackets; the T → ∞ floor "
                    "√dΔG/2 the theory predicts (G from the max / from the late mean)",
                    table(["Δ", "G²: max / mean / late", "measured E[F(w̄_T)] − F*", "bound, G² max", "bound, G² mean", "bound, G² late",
                           "floor √dΔG/2: max / late", "E[F(w_T)] last iterate", "max_t E‖r_t‖² / (√dΔα_tG)"], rows)))
        rows = []
        for fw, r in cv["bc_strong"].items():
            for i, dl in enumerate(r.deltas):
                for k, T in enumerate(r.checkpoints):
                    rows.append([fw, dl, int(T), _pm(r.f_avg[i, k], r.f_avg_se[i, k]), _pm(r.f_avg_q[i, k], r.f_avg_q_se[i, k]),
                                 f"{cv['cor1_bound'][fw][i, k]:.5f}"])
        sg = cv["sgd_strong"]
        out.append(("Corollary 1 (item 3): BC on the same quadratic; real-valued average w̄_r and quantized average of Q(w_r) "
                    f"(full-precision SGD at T = {sg.checkpoints[-1]:,}: {sg.f_avg[0, -1]:.5f})",
                    table(["forward rounding", "Δ", "T", "E[F(w̄_r)] − F*", "E[F(avg Q(w_r))] − F*", "Corollary 1 bound"], rows)))
        sa = cv["sr_axes"]
        rows = [[dl, int(sa.checkpoints[-1]), _pm(sa.f_avg[i, -1], sa.f_avg_se[i, -1], 4), f"{cv['sr_axes_floor'][i, 0]:.4f}",
                 f"{sa.f_avg[i, -1] / cv['sr_axes_floor'][i, 0]:.3f}", f"{sa.f_last[i]:.4f}", f"{cv['sr_axes_floor'][i, 1]:.4f}",
                 f"{sa.f_last[i] / cv['sr_axes_floor'][i, 1]:.3f}", f"{cv['thm1_floor'][i]:.3f}"]
                for i, dl in enumerate(sa.deltas)]
        out.append(("SR's T → ∞ floors predicted by the limit chain of Theorem 5 (convex.sr_limit_floor) on the axis-aligned quadratic "
                    f"(λ evenly spaced in [{cv['quad_axes'].mu:g}, {cv['quad_axes'].L:g}], d = {cv['quad_axes'].d}, σ = 1, α_t = 1/(μ(t+1))): "
                    "the last iterate → E_π̃ F; the average iterate → the variance of an exponentially weighted average of the limit "
                    "chain (the chain runs in continuous time Σα_t ≈ log(t)/μ, and w̄_T weighs its last ~1/μ units); E_π̃ w = w*, so "
                    "that variance is the whole floor. Theorem 1's √dΔG/2 (rotated problem) beside it",
                    table(["Δ", "T", "measured E[F(w̄_T)] − F*", "predicted", "measured / predicted", "measured E[F(w_T)] − F*",
                           "predicted E_π̃ F", "measured / predicted", "Theorem 1 floor √dΔG/2"], rows)))
        ra = cv["bc_axes"]
        rows = [[dl, int(ra.checkpoints[-1]), _pm(ra.f_avg[i, -1], ra.f_avg_se[i, -1]), f"{cv['bc_axes_floor'][i]:.5f}",
                 f"{ra.f_avg[i, -1] / cv['bc_axes_floor'][i]:.3f}", _pm(ra.f_avg_q[i, -1], ra.f_avg_q_se[i, -1])]
                for i, dl in enumerate(ra.deltas)]
        out.append(("BC with deterministic rounding Qd: the floor of the real-valued average predicted by Σᵢ λᵢ/2 (bᵢ − w*ᵢ)² "
                    "(bᵢ the rounding boundary next to w*ᵢ; convex.bc_deterministic_floor) on an axis-aligned quadratic "
                    f"(λ evenly spaced in [{cv['quad_axes'].mu:g}, {cv['quad_axes'].L:g}], d = {cv['quad_axes'].d}, σ = 1)",
                    table(["Δ", "T", "measured E[F(w̄_r)] − F*", "predicted floor", "measured / predicted", "E[F(avg Qd(w_r))] − F*"], rows)))
        rows = []
        for fw, r in cv["bc_logcosh"].items():
            for i, dl in enumerate(r.deltas):
                rows.append([fw, dl, int(r.checkpoints[-1]), f"{r.f_avg[i, -1]:.5f}", f"{r.f_avg_q[i, -1]:.5f}",
                             f"{cv['thm4_bound'][fw][i, -1]:.3f}", f"{cv['thm4_g2_term'][fw][i, -1]:.5f}"])
        lc = cv["logcosh"]
        out.append((f"Theorem 4 (item 3): BC on the strongly convex log-cosh problem (μ = {lc.mu:g}, L₂ = {lc.L2:.3f}, box radius 2); "
                    "the last column is the bound without its Δ-floor term D L₂ √d Δ/2",
                    table(["forward rounding", "Δ", "T", "E[F(w̄_r)] − F*", "E[F(avg Q(w_r))] − F*", "Theorem 4 bound",
                           "(1 + log(T+1))G²/(2μT)"], rows)))
        rows = []
        srw = cv["sr_weak"]
        for i, dl in enumerate(srw.deltas):
            rows.append(["SR", "—", dl, int(srw.checkpoints[-1]), f"{srw.f_avg[i, -1]:.5f}", "—", f"{cv['thm2_bound'][i, -1]:.3f} (Thm 2)"])
        for fw, r in cv["bc_weak"].items():
            for i, dl in enumerate(r.deltas):
                rows.append(["BC", fw, dl, int(r.checkpoints[-1]), f"{r.f_avg[i, -1]:.5f}", f"{r.f_avg_q[i, -1]:.5f}",
                             f"{cv['thm3_bound'][fw][i, -1]:.3f} (Thm 3)"])
        out.append((f"Theorems 2–3 (item 3): weakly convex quadratic (rank 5 of d = 10), α_t = {cv['weak_c']:g}/√t, box radius 2 "
                    f"(D = {cv['weak_D']:.3f})",
                    table(["method", "forward", "Δ", "T", "E[F(w̄)] − F* (real)", "E[F(avg Q)] − F*", "bound"], rows)))
    if "batch" in results:
        bb = results["batch"]["result"]
        rows = [[int(b), _pm(e, se), f"{dd:.4f}", f"{be:.5f}", f"{bd:.4f}"]
                for b, e, se, dd, be, bd in zip(bb.batch_sizes, bb.sr_excess, bb.sr_excess_se, bb.sr_dist, bb.bc_excess, bb.bc_dist)]
        out.append((f"Big batches (item 4): least squares m = 4096, d = 4, α = {results['batch']['alpha']}, Δ = {results['batch']['delta']}; "
                    f"long-run averages over the second half of the run; best grid point excess {bb.grid_floor:.5f}",
                    table(["batch size", "SR E[F(w)] − F*", "SR E‖w − w*‖", "BC E[F(Qd(w_r))] − F*", "BC E‖Qd(w_r) − w*‖"], rows)))
    return out


def render_report(results: dict, ledger_rows, command: str) -> str:
    """The Markdown report: every table, the claims ledger and a closing note."""
    from .ledger_sr_vs_bc import closing_note, ledger_markdown

    s = results["settings"]
    parts = ["# Theory sandbox I: stochastic rounding versus BinaryConnect (seed 002)", "",
             f"Generated by `{command}` ({s.name} mode; wall-clock seconds per part: "
             + ", ".join(f"{k} {v:.1f}" for k, v in results["seconds"].items()) + "). "
             "Figures (PNG) are written to the `--out` directory (default `out/sr_vs_bc`, not committed).", "",
             "Conventions: transition matrices are row-stochastic (`T[i, j]` = P(i → j)); TV is ½‖p − q‖₁; "
             f"mixing times are ε-mixing times in TV with ε = {EPS}, maximized over starting states; the toy problem uses "
             "g(w) = f′(w) + σξ with ξ ~ N(0, 1). **Seed 002 does not state the σ of Figure 2**; how much SR stagnates "
             "depends on it, so the toy problem and the chain are shown for σ = "
             + " and ".join(f"{x:g}" for x in results.get("sigmas", SIGMAS)) + ". "
             "Transition probabilities come from Gaussian tail functions in log space and stationary laws from GTH "
             "elimination (`toy_problems/markov.py`), accurate to 1e-9 relative down to 1e-300.", ""]
    for title, md in tables(results):
        parts += [f"## {title}", "", md, ""]
    parts += ["## Claims ledger", "", ledger_markdown(ledger_rows), "", "## Closing note", "", closing_note(results, ledger_rows), ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- command

def _parser(prog, description):
    return toy_parser(prog, description, os.path.join("out", "sr_vs_bc"),
                      out_help="output directory for figures and report (default out/sr_vs_bc)",
                      report_help="also write the Markdown report to this path (e.g. toy_problems/reports/sr_vs_bc.md)")


def run_command(argv, *, parts, prog, description) -> int:
    """Shared body of the commands: run ``parts``, print the tables, write figures and report."""
    from .ledger_sr_vs_bc import build_ledger

    args = _parser(prog, description).parse_args(argv)
    results = run_experiments(fast=args.fast, seed=args.seed, parts=parts, progress=True)
    paths = write_figures(results, args.out)
    command = "python -m toy_problems.sr_vs_bc" + (" --fast" if args.fast else "") + (f" --seed {args.seed}" if args.seed else "")
    for title, md in tables(results):
        print(f"## {title}\n\n{md}\n")
    if set(parts) == {"toy", "markov", "convex", "batch"}:
        rows = build_ledger(results)
        report = render_report(results, rows, command + " --report toy_problems/reports/sr_vs_bc.md")
        from .ledger_sr_vs_bc import ledger_markdown

        print("## Claims ledger\n\n" + ledger_markdown(rows) + "\n")
        for path in [os.path.join(args.out, "sr_vs_bc.md")] + ([args.report] if args.report else []):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(report)
            paths.append(path)
    print("wrote:\n" + "\n".join(f"  {p}" for p in paths))
    return 0


def main(argv=None) -> int:
    """``tinyquant toy sr-vs-bc`` / ``python -m toy_problems.sr_vs_bc``: every table, figure and the ledger."""
    return run_command(argv, parts=("toy", "markov", "convex", "batch"), prog="tinyquant toy sr-vs-bc",
                       description="Stochastic rounding versus BinaryConnect (seed 002): toy problem, Markov chain, convex floors, big batches, claims ledger.")


if __name__ == "__main__":
    raise SystemExit(main())
