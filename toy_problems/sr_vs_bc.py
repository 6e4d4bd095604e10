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

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np
import scipy.stats

from . import big_batch, convex
from .markov import (
    limit_alpha0,
    limit_rate_matrix,
    limit_transition_matrix,
    mixing_time,
    printed_limit_rate_matrix,
    sr_transition_matrix,
    stationary_distribution,
    three_state_example,
    tv_distance,
    up_move_probability,
)
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
    "EPS",
    "Settings",
    "FULL",
    "FAST",
    "run_experiments",
    "write_figures",
    "render_report",
    "main",
]

SIGMA = 2.0  # noise level of the toy problem experiments (the seed does not state its σ)
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

def toy_experiment(s: Settings, seed=0) -> dict:
    """Item 1 (+ the comparisons of item 2): histograms of R, SR and BC for each α of Figure 2."""
    grid = grid_points(DELTA, DOMAIN)
    alphas = np.array(ALPHAS)
    res = {"grid": grid, "alphas": alphas, "steps": s.toy_steps, "chains": s.toy_chains, "sigma": SIGMA}
    for i, (method, forward) in enumerate((("R", "deterministic"), ("SR", "deterministic"), ("BC", "deterministic"))):
        t0 = time.perf_counter()
        counts = simulate_histograms(method, alphas, s.toy_steps, sigma=SIGMA, chains=s.toy_chains, seed=seed + i, forward=forward)
        res[f"{method}_seconds"] = time.perf_counter() - t0
        per_chain = counts / counts.sum(axis=-1, keepdims=True)  # (n_alpha, chains, K)
        res[method] = per_chain.mean(axis=1)  # pooled over chains (equal lengths)
        res[f"{method}_cell_chains"] = cell_mass(per_chain, grid)  # (n_alpha, chains)
    pis = np.array([stationary_distribution(sr_transition_matrix(a, sigma=SIGMA)) for a in alphas])
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=SIGMA))
    res.update(pi=pis, pi_limit=pi_lim, tv_sr_pi=tv_distance(res["SR"], pis),
               mix=[mixing_time(sr_transition_matrix(a, sigma=SIGMA), EPS) for a in alphas])
    for key in ("R", "SR", "BC", "pi"):
        res[f"{key}_cell"] = cell_mass(res[key], grid)
    res["pi_limit_cell"] = float(cell_mass(pi_lim, grid))
    res["loss_cell"] = float(loss(MIN_CELL[0]))
    return res


def _loglog_slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def markov_experiment(s: Settings) -> dict:
    """Item 2: T_α versus T̃, stationary distributions, TV distances, mixing times, Figure 3."""
    alphas = np.array(s.markov_alphas)
    grid = grid_points(DELTA, DOMAIN)
    U = limit_rate_matrix(sigma=SIGMA)
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=SIGMA))
    Ts = [sr_transition_matrix(a, sigma=SIGMA) for a in alphas]
    pis = np.array([stationary_distribution(T) for T in Ts])
    tv = tv_distance(pis, pi_lim)
    mix = np.array([mixing_time(T, EPS) for T in Ts], dtype=float)
    fit = alphas <= FIT_MAX_ALPHA
    slope = _loglog_slope(alphas[fit], mix[fit])
    # T_α − α Ũ off the diagonal, divided by α: o(1) by the derivation in markov.py
    offdiag_err = []
    for a, T in zip(alphas, Ts):
        D = T - a * U
        np.fill_diagonal(D, 0.0)
        offdiag_err.append(np.abs(D).max() / a)
    # heavy-tailed noise (Student t, 3 d.o.f.): Theorem 5's tail assumption holds, convergence is polynomial
    U_t = limit_rate_matrix(sigma=SIGMA, noise=T3_NOISE)
    pi_lim_t = stationary_distribution(limit_transition_matrix(sigma=SIGMA, noise=T3_NOISE))
    pis_t = np.array([stationary_distribution(sr_transition_matrix(a, sigma=SIGMA, noise=T3_NOISE)) for a in alphas])
    tv_t = tv_distance(pis_t, pi_lim_t)
    fit_t = (alphas <= FIT_MAX_ALPHA) & (tv_t > 1e-12)
    slope_t = _loglog_slope(alphas[fit_t], tv_t[fit_t]) if fit_t.sum() >= 2 else float("nan")
    # the printed Ũ of the seed (p = law of ∇f̃): negative entries; with |z| a chain that climbs
    U_printed = printed_limit_rate_matrix(sigma=SIGMA)
    U_printed_abs = printed_limit_rate_matrix(sigma=SIGMA, absolute=True)
    a0p = limit_alpha0(U_printed_abs)
    T_printed = a0p * U_printed_abs
    np.fill_diagonal(T_printed, 1.0 - a0p * U_printed_abs.sum(axis=1))
    pi_printed = stationary_distribution(T_printed)
    small = int(np.argmin(alphas))
    # §5: P(up | move) should not depend on α for small α
    up = np.array([up_move_probability(T) for T in Ts])
    # Figure 3
    T3, T3h = three_state_example()
    fig3 = {"T": T3, "T_half": T3h, "pi": stationary_distribution(T3), "pi_half": stationary_distribution(T3h),
            "mix": mixing_time(T3, EPS), "mix_half": mixing_time(T3h, EPS),
            "mix_eps01": mixing_time(T3, 0.01), "mix_half_eps01": mixing_time(T3h, 0.01)}
    # Theorem 5 without its C2 assumption (σ = 0: no noise) — the limit chain is reducible
    try:
        stationary_distribution(limit_transition_matrix(sigma=0.0))
        sigma0_unique = True
    except ValueError:
        sigma0_unique = False
    return {
        "grid": grid, "alphas": alphas, "U": U, "alpha0": limit_alpha0(U), "pi_limit": pi_lim, "pis": pis, "tv": tv,
        "mix": mix, "slope": slope, "fit_alphas": alphas[fit], "offdiag_err": np.array(offdiag_err),
        "tv_t": tv_t, "slope_t": slope_t, "pi_limit_t": pi_lim_t,
        "printed_min_entry": float(U_printed.min()), "printed_pi": pi_printed,
        "tv_printed": float(tv_distance(pis[small], pi_printed)), "printed_cell": float(cell_mass(pi_printed, grid)),
        "up": up, "up_spread_small": float(np.nanmax(np.abs(up[alphas <= 0.01] - up[small]))) if np.any(alphas <= 0.01) else float("nan"),
        "pi_limit_min": float(pi_lim.min()), "pi_limit_cell": float(cell_mass(pi_lim, grid)),
        "fig3": fig3, "sigma0_unique": sigma0_unique,
    }


def convex_experiment(s: Settings, seed=0) -> dict:
    """Item 3: Lemma 1, Theorems 1–4 and Corollary 1 on strongly and weakly convex problems."""
    res = {}
    quad = convex.strongly_convex_quadratic(d=10, mu=1.0, L=2.0, sigma=1.0, seed=seed)
    T = s.convex_steps
    cks = [c for c in (10, 100, 1000, 3000, 10_000, 30_000) if c <= T] or [T]
    deltas = (1.0, 0.5, 0.25, 0.125, 0.0625)
    sr = convex.run(quad, "SR", ("strong", quad.mu), T, deltas=deltas, chains=s.convex_chains, seed=seed + 1, checkpoints=cks)
    res["quad"] = quad
    res["sr_strong"] = sr
    res["thm1_bound"] = np.array([convex.theorem1_bound(np.array(sr.checkpoints), mu=quad.mu, G=G, d=quad.d, delta=dl)
                                  for G, dl in zip(sr.G, sr.deltas)])
    res["lemma1_ratio"] = np.array([np.max(sr.r2[i] / convex.lemma1_bound(quad.d, dl, sr.alphas, sr.G[i]))
                                    for i, dl in enumerate(sr.deltas)])
    res["sr_floor_slope"] = _loglog_slope(sr.deltas, sr.f_avg[:, -1])
    # BC on the quadratic (Corollary 1), both forward roundings, real and quantized averages
    Tb = s.convex_bc_steps
    cks_b = [c for c in (100, 1000, 3000, 10_000, 30_000) if c <= Tb] or [Tb]
    res["bc_strong"] = {fw: convex.run(quad, "BC", ("strong", quad.mu), Tb, deltas=(1.0, 0.5), chains=s.convex_chains,
                                       seed=seed + 2, checkpoints=cks_b, forward=fw) for fw in ("deterministic", "stochastic")}
    res["cor1_bound"] = {fw: np.array([convex.corollary1_bound(np.array(r.checkpoints), mu=quad.mu, G=G) for G in r.G])
                         for fw, r in res["bc_strong"].items()}
    res["sgd_strong"] = convex.run(quad, "SGD", ("strong", quad.mu), Tb, chains=s.convex_chains, seed=seed + 3, checkpoints=cks_b)
    # Theorem 4: strongly convex, non-quadratic (log-cosh), box of radius 2
    lc = convex.strongly_convex_logcosh(d=10, mu=0.5, beta=1.0, sigma=1.0, seed=seed)
    R = 2.0
    D = 2 * R * np.sqrt(lc.d)
    res["logcosh"] = lc
    res["bc_logcosh"] = {fw: convex.run(lc, "BC", ("strong", lc.mu), T, deltas=(1.0, 0.5), chains=s.convex_chains,
                                        seed=seed + 4, checkpoints=cks, forward=fw, radius=R) for fw in ("deterministic", "stochastic")}
    res["thm4_bound"] = {fw: np.array([convex.theorem4_bound(np.array(r.checkpoints), mu=lc.mu, G=G, d=lc.d, delta=dl, D=D, L2=lc.L2)
                                       for G, dl in zip(r.G, r.deltas)]) for fw, r in res["bc_logcosh"].items()}
    # Theorems 2–3: weakly convex quadratic, α_t = c/√t, box of radius 2
    wq = convex.weakly_convex_quadratic(d=10, rank=5, L=2.0, sigma=1.0, seed=seed)
    c = 0.5
    res["weak"] = wq
    res["weak_D"] = D
    res["weak_c"] = c
    res["sr_weak"] = convex.run(wq, "SR", ("sqrt", c), T, deltas=(1.0, 0.5, 0.25), chains=s.convex_chains, seed=seed + 5,
                                checkpoints=cks, radius=R)
    res["thm2_bound"] = np.array([convex.theorem2_bound(np.array(res["sr_weak"].checkpoints), c=c, D=D, G=G, d=wq.d, delta=dl)
                                  for G, dl in zip(res["sr_weak"].G, res["sr_weak"].deltas)])
    res["bc_weak"] = {fw: convex.run(wq, "BC", ("sqrt", c), T, deltas=(1.0, 0.5), chains=s.convex_chains, seed=seed + 6,
                                     checkpoints=cks, forward=fw, radius=R) for fw in ("deterministic", "stochastic")}
    res["thm3_bound"] = {fw: np.array([convex.theorem3_bound(np.array(r.checkpoints), c=c, D=D, G=G, d=wq.d, delta=dl, L=wq.L)
                                       for G, dl in zip(r.G, r.deltas)]) for fw, r in res["bc_weak"].items()}
    return res


def big_batch_experiment(s: Settings, seed=0) -> dict:
    """Item 4: SR (and BC) with batch sizes 1 … 1024 on least squares."""
    prob = big_batch.least_squares_problem(m=4096, d=4, seed=seed)
    res = big_batch.run_batch_sizes(prob, s.batch_sizes, alpha=0.05, delta=0.25, steps=s.batch_steps,
                                    chains=s.batch_chains, seed=seed + 1)
    return {"problem": prob, "result": res, "alpha": 0.05, "delta": 0.25}


def run_experiments(fast=False, seed=0, parts=("toy", "markov", "convex", "batch")) -> dict:
    """Run the requested parts with ``FAST`` or ``FULL`` settings; returns a dict of results
    (plus wall-clock seconds per part under ``"seconds"``)."""
    s = FAST if fast else FULL
    out = {"settings": s, "seconds": {}}
    funcs = {"toy": lambda: toy_experiment(s, seed), "markov": lambda: markov_experiment(s),
             "convex": lambda: convex_experiment(s, seed), "batch": lambda: big_batch_experiment(s, seed)}
    for part in parts:
        t0 = time.perf_counter()
        out[part] = funcs[part]()
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

    if "toy" in results:
        toy = results["toy"]
        grid, alphas = toy["grid"], toy["alphas"]
        fig = plt.figure(figsize=(16, 5.5))
        gs = fig.add_gridspec(2, 1 + len(alphas), width_ratios=[1.6] + [1] * len(alphas))
        ax = fig.add_subplot(gs[:, 0])
        w = np.linspace(DOMAIN[0], DOMAIN[1], 901)
        ax.plot(w, loss(w), "k-")
        ax.plot(grid, loss(grid), "o", ms=3, color="tab:gray", label=f"grid, Δ = {DELTA}")
        ax.axvline(W0, ls=":", color="tab:green", label=f"start w = {W0}")
        ax.set(xlabel="w", ylabel="f(w)", title="toy problem (seed 002, eq. 8)")
        ax.legend(fontsize=8)
        for row, method in enumerate(("BC", "SR")):
            for j, a in enumerate(alphas):
                axh = fig.add_subplot(gs[row, 1 + j])
                axh.bar(grid, toy[method][j], width=0.4 * DELTA, color="tab:blue" if method == "BC" else "tab:orange")
                if method == "SR":
                    axh.plot(grid, toy["pi"][j], "k_", ms=8, mew=2, label="π_α (exact)")
                    axh.legend(fontsize=7, loc="upper left")
                axh.set_ylim(0, 1)
                axh.set_title(f"{method}, α = {a:g}", fontsize=9)
                axh.tick_params(labelsize=7)
        fig.suptitle(f"Figure 2: quantized iterates over {toy['steps']:,} iterations × {toy['chains']} chains, σ = {toy['sigma']}")
        save(fig, "fig2_toy_problem.png")

        fig, axs = plt.subplots(1, len(alphas), figsize=(12, 2.6), sharey=True)
        for j, a in enumerate(alphas):
            axs[j].bar(grid, toy["R"][j], width=0.4 * DELTA, color="tab:red")
            axs[j].set_title(f"R, α = {a:g}", fontsize=9)
        fig.suptitle("deterministic rounding R: stuck at the start once α·|g| < Δ/2")
        save(fig, "fig2_rounding_R.png")

    if "markov" in results:
        mk = results["markov"]
        grid, alphas = mk["grid"], mk["alphas"]
        fig, axs = plt.subplots(1, 4, figsize=(17, 3.6))
        for a, pi in zip(alphas, mk["pis"]):
            if a in (1.0, 0.3, 0.1) or a == alphas.min():
                axs[0].plot(grid, pi, "o-", ms=3, label=f"π_α, α = {a:g}")
        axs[0].plot(grid, mk["pi_limit"], "k--", label="π̃ (limit chain)")
        axs[0].set(xlabel="w", ylabel="probability", title="stationary distributions of SR")
        axs[0].legend(fontsize=7)
        pos = mk["tv"] > 0
        axs[1].loglog(alphas[pos], mk["tv"][pos], "o-", label="Gaussian noise")
        axs[1].loglog(alphas, np.maximum(mk["tv_t"], 1e-17), "s-", label="Student t(3) noise")
        axs[1].set(xlabel="α", ylabel="TV(π_α, π̃)", title="Theorem 5: π_α → π̃")
        axs[1].legend(fontsize=7)
        axs[2].loglog(alphas, mk["mix"], "o-")
        fa = mk["fit_alphas"]
        c0 = np.exp(np.mean(np.log(mk["mix"][np.isin(alphas, fa)]) - mk["slope"] * np.log(fa)))
        axs[2].loglog(fa, c0 * fa ** mk["slope"], "k--", label=f"fit slope {mk['slope']:.3f}")
        axs[2].set(xlabel="α", ylabel=f"{EPS}-mixing time", title="Theorem 6: mixing time → ∞")
        axs[2].legend(fontsize=7)
        f3 = mk["fig3"]
        steps = np.arange(0, 3 * f3["mix_half_eps01"] + 2)
        for T, lab in ((f3["T"], "T"), (f3["T_half"], "T½ = (I + T)/2")):
            pi = stationary_distribution(T)
            P, tvs = np.eye(3), []
            for _ in steps:
                tvs.append(tv_distance(P, pi).max())
                P = P @ T
            axs[3].semilogy(steps, tvs, "o-", ms=3, label=lab)
        axs[3].set(xlabel="steps", ylabel="max TV to π", title="Figure 3: same π, slower mixing")
        axs[3].legend(fontsize=7)
        save(fig, "fig3_markov_chain.png")

    if "convex" in results:
        cv = results["convex"]
        sr = cv["sr_strong"]
        fig, axs = plt.subplots(1, 3, figsize=(15, 3.8))
        axs[0].loglog(sr.deltas, sr.f_avg[:, -1], "o-", label=f"SR measured, T = {sr.checkpoints[-1]}")
        axs[0].loglog(sr.deltas, cv["thm1_bound"][:, -1], "s--", label="Theorem 1 bound")
        axs[0].set(xlabel="Δ", ylabel="E[F(w̄_T)] − F*", title=f"SR floor ∝ Δ^{cv['sr_floor_slope']:.2f}")
        axs[0].legend(fontsize=7)
        for fw, r in cv["bc_strong"].items():
            axs[1].loglog(r.checkpoints, r.f_avg[0], "o-", label=f"BC {fw[:5]}, real avg (Δ={r.deltas[0]:g})")
            axs[1].loglog(r.checkpoints, r.f_avg_q[0], "^:", label=f"BC {fw[:5]}, quantized avg")
        r = cv["bc_strong"]["stochastic"]
        axs[1].loglog(r.checkpoints, cv["cor1_bound"]["stochastic"][0], "k--", label="Corollary 1 bound")
        axs[1].set(xlabel="T", ylabel="E[F(w̄_T)] − F*", title="BC on a quadratic")
        axs[1].legend(fontsize=6)
        l1 = sr.r2[1] / convex.lemma1_bound(cv["quad"].d, sr.deltas[1], sr.alphas, sr.G[1])
        axs[2].semilogx(np.arange(1, l1.size + 1), l1, ",", alpha=0.6)
        axs[2].axhline(1.0, color="k", ls="--")
        axs[2].set(xlabel="t", ylabel="E‖r_t‖² / (√d Δ α_t G)", title=f"Lemma 1 (Δ = {sr.deltas[1]:g})")
        save(fig, "fig_convex.png")

    if "batch" in results:
        bb = results["batch"]["result"]
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.loglog(bb.batch_sizes, bb.sr_excess, "o-", label="SR")
        ax.loglog(bb.batch_sizes, bb.bc_excess, "s-", label="BC (at Qd(w_r))")
        ax.axhline(bb.grid_floor, color="k", ls=":", label="best grid point")
        ax.set(xlabel="batch size", ylabel="long-run E[F(w)] − F*", title="§6.1: big batches help SR")
        ax.legend(fontsize=8)
        save(fig, "fig_big_batch.png")
    return paths


# ----------------------------------------------------------------------------- tables

def md_table(header, rows) -> str:
    """A Markdown table from a header and rows of already formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _g(x, digits=3):
    return f"{x:.{digits}g}"


def tables(results: dict) -> list:
    """(title, Markdown table) pairs for every part present in ``results``."""
    out = []
    if "toy" in results:
        toy = results["toy"]
        rows = []
        for j, a in enumerate(toy["alphas"]):
            bc_ch = toy["BC_cell_chains"][j]
            sr_ch = toy["SR_cell_chains"][j]
            rows.append([f"{a:g}", f"{toy['BC_cell'][j]:.4f} ({bc_ch.min():.4f}–{bc_ch.max():.4f})",
                         f"{toy['SR_cell'][j]:.4f} ({sr_ch.min():.4f}–{sr_ch.max():.4f})", f"{toy['R_cell'][j]:.4f}",
                         f"{toy['pi_cell'][j]:.4f}", f"{toy['pi_limit_cell']:.4f}", f"{toy['tv_sr_pi'][j]:.4f}", f"{toy['mix'][j]:,}"])
        out.append((f"Toy problem (item 1): mass on the global-minimum cell {{4.5, 5.0}} "
                    f"({toy['steps']:,} iterations × {toy['chains']} chains from w = {W0}, σ = {toy['sigma']}, Δ = {DELTA}; "
                    f"pooled over chains, range over chains in brackets)",
                    md_table(["α", "BC histogram", "SR histogram", "R histogram", "π_α (exact SR chain)", "π̃ (limit)",
                              "TV(SR histogram, π_α)", f"{EPS}-mixing time of T_α"], rows)))
    if "markov" in results:
        mk = results["markov"]
        rows = [[f"{a:g}", _g(tv), _g(tvt), f"{int(m):,}", _g(e), f"{cell_mass(p, mk['grid']):.4f}"]
                for a, tv, tvt, m, e, p in zip(mk["alphas"], mk["tv"], mk["tv_t"], mk["mix"], mk["offdiag_err"], mk["pis"])]
        out.append((f"SR as a Markov chain (item 2), σ = {SIGMA}: α₀ = {mk['alpha0']:.4f}; fitted log-log slope of the mixing time "
                    f"on α ≤ {FIT_MAX_ALPHA:g}: **{mk['slope']:.4f}**; slope of TV(π_α, π̃) under t(3) noise: {mk['slope_t']:.3f} "
                    "(values below ~1e-10 are floating-point round-off: for Gaussian noise T_α equals T̃_α up to terms "
                    "exp(−(Δ/α)²/(2σ²)·…) once α ≪ Δ/(|f′| + σ))",
                    md_table(["α", "TV(π_α, π̃) Gaussian", "TV(π_α, π̃) t(3)", f"{EPS}-mixing time", "max off-diagonal of abs(T_α − αŨ) / α",
                              "π_α({4.5, 5.0})"], rows)))
        f3 = mk["fig3"]
        rows = [["T", np.array2string(f3["pi"], precision=4), f3["mix"], f3["mix_eps01"]],
                ["T½ = (I + T)/2", np.array2string(f3["pi_half"], precision=4), f3["mix_half"], f3["mix_half_eps01"]]]
        out.append(("Figure 3: halving every off-diagonal probability (our 3-state chain; the figure's numbers are not in the text)",
                    md_table(["chain", "π", f"{EPS}-mixing time", "0.01-mixing time"], rows)))
        grid = mk["grid"]
        sel = [int(np.argmin(np.abs(grid - x))) for x in (0.0, 2.5, 4.0, 4.5, 5.0, 6.0)]
        rows = [[f"{a:g}"] + [f"{mk['up'][i][k]:.4f}" for k in sel] for i, a in enumerate(mk["alphas"])]
        out.append(("§5: P(move up | move) from selected states — independent of α once α is small",
                    md_table(["α"] + [f"w = {grid[k]:g}" for k in sel], rows)))
    if "convex" in results:
        cv = results["convex"]
        sr = cv["sr_strong"]
        rows = [[f"{dl:g}", f"{G:.3f}", f"{sr.f_avg[i, -1]:.4f} ± {sr.f_avg_se[i, -1]:.4f}", f"{cv['thm1_bound'][i, -1]:.3f}",
                 f"{sr.f_avg[i, -1] / cv['thm1_bound'][i, -1]:.3f}", f"{sr.f_last[i]:.4f}", f"{cv['lemma1_ratio'][i]:.3f}"]
                for i, (dl, G) in enumerate(zip(sr.deltas, sr.G))]
        out.append((f"Theorem 1 and Lemma 1 (item 3): SR on a strongly convex quadratic, d = {cv['quad'].d}, μ = {cv['quad'].mu:g}, "
                    f"L = {cv['quad'].L:g}, σ = 1, α_t = 1/(μ(t+1)), T = {sr.checkpoints[-1]:,}, {sr.f_avg.shape[0]} grid spacings × "
                    f"chains; measured floor ∝ Δ^{cv['sr_floor_slope']:.3f}",
                    md_table(["Δ", "G (estimated)", "measured E[F(w̄_T)] − F*", "Theorem 1 bound", "measured / bound",
                              "E[F(w_T)] last iterate", "max_t E‖r_t‖² / (√dΔα_tG)"], rows)))
        rows = []
        for fw, r in cv["bc_strong"].items():
            for i, dl in enumerate(r.deltas):
                for k, T in enumerate(r.checkpoints):
                    b = cv["cor1_bound"][fw][i, k]
                    rows.append([fw, f"{dl:g}", f"{T:,}", f"{r.f_avg[i, k]:.5f} ± {r.f_avg_se[i, k]:.5f}",
                                 f"{r.f_avg_q[i, k]:.5f} ± {r.f_avg_q_se[i, k]:.5f}", f"{b:.5f}"])
        sg = cv["sgd_strong"]
        out.append(("Corollary 1 (item 3): BC on the same quadratic; real-valued average w̄_r and quantized average of Q(w_r) "
                    f"(full-precision SGD at T = {sg.checkpoints[-1]:,}: {sg.f_avg[0, -1]:.5f})",
                    md_table(["forward rounding", "Δ", "T", "E[F(w̄_r)] − F*", "E[F(avg Q(w_r))] − F*", "Corollary 1 bound"], rows)))
        rows = []
        for fw, r in cv["bc_logcosh"].items():
            for i, dl in enumerate(r.deltas):
                rows.append([fw, f"{dl:g}", f"{r.checkpoints[-1]:,}", f"{r.f_avg[i, -1]:.5f}", f"{r.f_avg_q[i, -1]:.5f}",
                             f"{cv['thm4_bound'][fw][i, -1]:.3f}"])
        lc = cv["logcosh"]
        out.append((f"Theorem 4 (item 3): BC on the strongly convex log-cosh problem (μ = {lc.mu:g}, L₂ = {lc.L2:.3f}, box radius 2)",
                    md_table(["forward rounding", "Δ", "T", "E[F(w̄_r)] − F*", "E[F(avg Q(w_r))] − F*", "Theorem 4 bound"], rows)))
        rows = []
        srw = cv["sr_weak"]
        for i, dl in enumerate(srw.deltas):
            rows.append(["SR", "—", f"{dl:g}", f"{srw.checkpoints[-1]:,}", f"{srw.f_avg[i, -1]:.5f}", "—", f"{cv['thm2_bound'][i, -1]:.3f} (Thm 2)"])
        for fw, r in cv["bc_weak"].items():
            for i, dl in enumerate(r.deltas):
                rows.append(["BC", fw, f"{dl:g}", f"{r.checkpoints[-1]:,}", f"{r.f_avg[i, -1]:.5f}", f"{r.f_avg_q[i, -1]:.5f}",
                             f"{cv['thm3_bound'][fw][i, -1]:.3f} (Thm 3)"])
        out.append((f"Theorems 2–3 (item 3): weakly convex quadratic (rank 5 of d = 10), α_t = {cv['weak_c']:g}/√t, box radius 2 "
                    f"(D = {cv['weak_D']:.3f})",
                    md_table(["method", "forward", "Δ", "T", "E[F(w̄)] − F* (real)", "E[F(avg Q)] − F*", "bound"], rows)))
    if "batch" in results:
        bb = results["batch"]["result"]
        rows = [[f"{b}", f"{e:.5f} ± {se:.5f}", f"{dd:.4f}", f"{be:.5f}", f"{bd:.4f}"]
                for b, e, se, dd, be, bd in zip(bb.batch_sizes, bb.sr_excess, bb.sr_excess_se, bb.sr_dist, bb.bc_excess, bb.bc_dist)]
        out.append((f"Big batches (item 4): least squares m = 4096, d = 4, α = {results['batch']['alpha']}, Δ = {results['batch']['delta']}; "
                    f"long-run averages over the second half of the run; best grid point excess {bb.grid_floor:.5f}",
                    md_table(["batch size", "SR E[F(w)] − F*", "SR E‖w − w*‖", "BC E[F(Qd(w_r))] − F*", "BC E‖Qd(w_r) − w*‖"], rows)))
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
             f"g(w) = f′(w) + σξ with ξ ~ N(0, 1), σ = {SIGMA} (the seed does not state its σ).", ""]
    for title, table in tables(results):
        parts += [f"## {title}", "", table, ""]
    parts += ["## Claims ledger", "", ledger_markdown(ledger_rows), "", "## Closing note", "", closing_note(results, ledger_rows), ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- command

def _parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--fast", action="store_true", help="small sizes (seconds), for tests and CI")
    p.add_argument("--out", default=os.path.join("out", "sr_vs_bc"), help="output directory for figures and report (default out/sr_vs_bc)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", default=None, help="also write the Markdown report to this path (e.g. toy_problems/reports/sr_vs_bc.md)")
    return p


def run_command(argv, *, parts, prog, description) -> int:
    """Shared body of the commands: run ``parts``, print the tables, write figures and report."""
    from .ledger_sr_vs_bc import build_ledger

    args = _parser(prog, description).parse_args(argv)
    results = run_experiments(fast=args.fast, seed=args.seed, parts=parts)
    paths = write_figures(results, args.out)
    command = "python -m toy_problems.sr_vs_bc" + (" --fast" if args.fast else "") + (f" --seed {args.seed}" if args.seed else "")
    for title, table in tables(results):
        print(f"## {title}\n\n{table}\n")
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
