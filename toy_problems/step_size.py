"""MSE-optimal step sizes and SQNR of UniQ's uniform quantizers (seed 003, eqs 3–10, Table 1).

The quantizers (seed 003, eqs 3–5), with N reconstruction levels and step Δ::

    Q_w(x) = ⌊clip_N((x + α)/Δ)⌉ Δ − α,   α = Δ(N − 1)/2                    # seed 003, eq. 3
           levels (k − (N − 1)/2)Δ, k = 0 … N − 1: half-integers ±Δ/2, ±3Δ/2, … for even N,
           integers 0, ±Δ, … for odd N; decision levels half-way between; overload beyond ±α
    Q_a(x) = ⌊clip_N(x/Δ)⌉ Δ,   levels 0, Δ, …, (N − 1)Δ                     # seed 003, eq. 5

with clip_N(x) = min(max(x, 0), N − 1). Their mean squared errors for an input X with pdf p::

    D_w(Δ) = E[(X − Q_w(X))²]                                                  # seed 003, eq. 7
    D_a(Δ) = E[(Y − Q_a(Y))²],  Y = ReLU(X)

For a symmetric p, D_w = 2 Σ_cells ∫_cell (x − ℓ)² p(x) dx over the cells of the half-line x ≥ 0.
For the activation quantizer the zeros of the ReLU are reproduced exactly (0 is a level), so
D_a = Σ_cells ∫_cell (x − ℓ)² p(x) dx over x ≥ 0 — the "continuous part only" of seed 003 §4.2
(this changes the value of D_a by no factor and its argmin not at all). Each cell integral is
M_2 − 2ℓM_1 + ℓ²M_0 with the partial moments of :mod:`toy_problems.distributions`.

Derivative (seed 003, eq. 8, generalized to every N). With the levels ℓ_j = c_jΔ, the decision
levels are the mid-points, where the squared error is continuous, so the Leibniz boundary terms
cancel and only ∂(x − c_jΔ)²/∂Δ = −2c_j(x − c_jΔ) remains::

    dD/dΔ = −factor · Σ_j 2 c_j ∫_cell_j (x − c_jΔ) p(x) dx          (factor 2 for Q_w, 1 for Q_a)

For even N (c_j = (2i − 1)/2, i = 1 … N/2, factor 2) this is exactly the printed eq. 8
(2c_j = 2i − 1; the printed "2(x − …)" is the factor 2 of symmetry). For odd N the cells are
[0, Δ/2) with level 0 and [(i − ½)Δ, (i + ½)Δ) with level iΔ. The optimum Δ* solves dD/dΔ = 0 (found by bracketing the
minimum on a grid and Brent's method on the derivative).

Unit input (what :func:`optimal_step_size` returns). The laws are scale families, so
D(Δ; sX) = s² D(Δ/s; X) and Δ*(sX) = s·Δ*(X):

* ``signal="weight"``: Δᵤ for an input of zero mean and **unit variance**; use Δ_w = Δᵤ·Std(w)
  (seed 003, eq. 9);
* ``signal="activation"``: Δᵤ for the ReLU output Y = ReLU(X) of a **unit-variance pre-activation**
  X (so Y itself has E[Y²] = ½ and variance ½ − 1/(2π) for Gaussian X); use Δ_a = Δᵤ·√(2E[Y²])
  (seed 003, eq. 10; √(2E[Y²]) is Std(X) when X is symmetric about 0).

SQNR. The definition that reproduces all sixteen numbers of Table 1 (the tests check it, and check
that the alternatives do not)::

    SQNR = 10 log10( Var(input of the quantizer) / MSE )

i.e. 10 log10(1/D_w) for weights and 10 log10((½ − 1/(2π)) / D_a) for ReLU activations of a
standard Gaussian (signal power = variance of the ReLU output Y, zeros included; MSE over the same
Y). The alternatives E[Y²]/D_a (7.2 dB at N = 2) or E[X²]/D_a (10.2 dB) do not give Table 1's 5.5.

LSQ's initialization (seed 003 §5, Table 5): Δ = 2E|X|/√Q_P with Q_P = 2^(b−1) − 1 for weights and
2^b − 1 for activations, b = log2 N bits (undefined for 1-bit weights, Q_P = 0).

The formulas are computed once, in :mod:`tinyquant.quant.functional` (the framework's UniQ uses the
same functions); this module names the laws, checks the arguments and runs the experiments.

Public names: :func:`optimal_step_size`, :func:`quantization_mse`, :func:`mse_derivative`,
:func:`sqnr_db`, :func:`signal_variance`, :func:`quantize_weight`, :func:`quantize_activation`,
:func:`empirical_sqnr_db`, :func:`lsq_init_step`; :func:`main` is ``tinyquant toy step-sizes``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from tinyquant.quant import functional as F
from tinyquant.quant.functional import SIGNALS

from .checks import check_levels, check_signal
from .distributions import DISTRIBUTIONS, MOMENTS, check_distribution, upper_moments

__all__ = [
    "SIGNALS",
    "DISTRIBUTIONS",
    "TABLE1",
    "TABLE_LEVELS",
    "optimal_step_size",
    "quantization_mse",
    "mse_derivative",
    "sqnr_db",
    "signal_variance",
    "quantize_weight",
    "quantize_activation",
    "empirical_sqnr_db",
    "lsq_init_step",
    "run_experiments",
    "tables",
    "write_figures",
    "main",
]

# seed 003, Table 1: N -> (Δ_w^u, SQNR_w dB, Δ_a^u, SQNR_a dB), as printed
TABLE1 = {
    2: (1.596, 4.4, 1.224, 5.5),
    4: (0.996, 9.3, 0.651, 11.6),
    8: (0.586, 14.3, 0.353, 17.2),
    16: (0.335, 19.4, 0.193, 22.7),
}
TABLE_LEVELS = (2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 64, 128, 256)


# ----------------------------------------------------------------------------- argument checks

def _check_step(step, where: str) -> np.ndarray:
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"{where}: step must be a positive real number or array, got {step!r}")
    arr = np.asarray(step)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{where}: step must be a positive real number or array, got {step!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{where}: step (the step size Δ) must be finite and > 0, got {step!r}")
    return arr


def _check_all(step, levels, distribution, signal, where):
    levels = check_levels(levels, where)
    distribution = check_distribution(distribution, where)
    signal = check_signal(signal, where)
    return (None if step is None else _check_step(step, where)), levels, distribution, signal


def _out(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


# ----------------------------------------------------------------------------- public functions
# The math is :mod:`tinyquant.quant.functional`'s (written once, used by the framework's UniQ);
# these wrappers validate the arguments and name the law.

def quantization_mse(step, levels, distribution="gaussian", signal="weight"):
    """D(Δ) for the unit input of ``distribution`` (see the module docstring); ``step`` may be an array."""
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "quantization_mse")
    return _out(F.quantization_mse(step, levels, signal, MOMENTS[distribution]))


def mse_derivative(step, levels, distribution="gaussian", signal="weight"):
    """dD/dΔ (seed 003, eq. 8 generalized; module docstring)."""
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "mse_derivative")
    return _out(F.quantization_mse_grad(step, levels, signal, MOMENTS[distribution]))


def optimal_step_size(levels, distribution="gaussian", signal="weight") -> float:
    """The MSE-optimal unit step Δᵤ (seed 003, eq. 7, Table 1), cached.

    ``signal="weight"``: for a zero-mean, unit-variance input of law ``distribution`` (multiply by
    Std(w), eq. 9). ``signal="activation"``: for ReLU(X), X a zero-mean unit-variance pre-activation
    of law ``distribution`` (multiply by √(2E[ReLU(X)²]), eq. 10).
    """
    _, levels, distribution, signal = _check_all(None, levels, distribution, signal, "optimal_step_size")
    return F.optimal_unit_step(levels, signal, MOMENTS[distribution])


def signal_variance(distribution="gaussian", signal="weight") -> float:
    """Variance of the quantizer's input for the unit law: 1 for weights, Var(ReLU(X)) for activations."""
    distribution = check_distribution(distribution, "signal_variance")
    signal = check_signal(signal, "signal_variance")
    return F.unit_signal_variance(signal, MOMENTS[distribution])


def sqnr_db(step, levels, distribution="gaussian", signal="weight"):
    """10 log10(Var(input)/D(Δ)) — the SQNR definition that reproduces seed 003's Table 1.

    ``step=None`` uses the optimal step (:func:`optimal_step_size`).
    """
    step, levels, distribution, signal = _check_all(step, levels, distribution, signal, "sqnr_db")
    moments = MOMENTS[distribution]
    if step is None:
        step = np.asarray(F.optimal_unit_step(levels, signal, moments))
    return _out(F.sqnr_db(F.unit_signal_variance(signal, moments), F.quantization_mse(step, levels, signal, moments)))


def quantize_weight(x, step: float, levels: int) -> np.ndarray:
    """Q_w(x) = ⌊clip_N((x + α)/Δ)⌉Δ − α, α = Δ(N − 1)/2 (seed 003, eq. 3); ties round half to even."""
    levels = check_levels(levels, "quantize_weight")
    step = float(_check_step(step, "quantize_weight"))
    return F.quantize_weight(np.asarray(x, dtype=float), step, levels)


def quantize_activation(x, step: float, levels: int) -> np.ndarray:
    """Q_a(x) = ⌊clip_N(x/Δ)⌉Δ (seed 003, eq. 5); negative inputs map to 0 like their ReLU."""
    levels = check_levels(levels, "quantize_activation")
    step = float(_check_step(step, "quantize_activation"))
    return F.quantize_activation(np.asarray(x, dtype=float), step, levels)


def empirical_sqnr_db(x, x_quantized) -> float:
    """10 log10(Var(x) / mean((x − Q(x))²)) on samples — the same definition as :func:`sqnr_db`."""
    x, xq = np.asarray(x, dtype=float), np.asarray(x_quantized, dtype=float)
    if x.shape != xq.shape or x.size < 2:
        raise ValueError(f"empirical_sqnr_db: x and x_quantized must have the same shape with >= 2 values, "
                         f"got {x.shape} and {xq.shape}")
    return F.empirical_sqnr_db(x, xq)


def lsq_init_step(levels, distribution="gaussian", signal="weight") -> float:
    """LSQ's initial step 2E|X|/√Q_P for the unit input (seed 003 §5, Table 5).

    ``levels`` must be 2^b; Q_P = 2^(b−1) − 1 for weights (b ≥ 2), 2^b − 1 for activations.
    """
    _, levels, distribution, signal = _check_all(None, levels, distribution, signal, "lsq_init_step")
    b = int(round(np.log2(levels)))
    if 2 ** b != levels:
        raise ValueError(f"lsq_init_step: levels must be a power of two (2^bits), got {levels}")
    _, qp = F.lsq_bounds(b, signed=signal == "weight")
    if qp < 1:
        raise ValueError(f"lsq_init_step: LSQ is undefined for 1-bit weights (Q_P = 2^(b−1) − 1 = 0), got levels={levels}")
    _, g1, _ = upper_moments(0.0, distribution)
    mean_abs = 2 * float(g1) if signal == "weight" else float(g1)  # E|X| (weights), E[ReLU(X)] (activations)
    return float(F.lsq_init_step(mean_abs, qp))


# ----------------------------------------------------------------------------- the experiments of the command

def run_experiments(fast: bool = False, seed: int = 0) -> dict:
    """Table 1 and its extension to N = 2 … 256 for three laws, Lloyd–Max beside it, LSQ and fixed
    initializations against the optimum, the ternary threshold against TWN's rule, and Monte-Carlo
    checks of the closed-form MSE."""
    from . import lloyd_max, ternary_threshold
    from .distributions import sample

    t0 = time.perf_counter()
    out = {"fast": fast, "seed": seed}
    out["table1"] = {n: (optimal_step_size(n), sqnr_db(None, n), optimal_step_size(n, signal="activation"),
                         sqnr_db(None, n, signal="activation")) for n in TABLE1}
    levels = TABLE_LEVELS if not fast else (2, 3, 4, 8, 16, 256)
    ext = []
    for dist in DISTRIBUTIONS:
        for sig in SIGNALS:
            for n in levels:
                step = optimal_step_size(n, dist, sig)
                lm = lloyd_max.lloyd_max(n, dist, sig) if (n <= 64 or not fast) else None
                ext.append({"distribution": dist, "signal": sig, "levels": n, "step": step, "mse": quantization_mse(step, n, dist, sig),
                            "sqnr": sqnr_db(step, n, dist, sig), "clip": step * ((n - 1) / 2 if sig == "weight" else n - 1),
                            "lloyd_mse": lm.mse if lm else float("nan"),
                            "lloyd_sqnr": 10 * np.log10(signal_variance(dist, sig) / lm.mse) if lm else float("nan")})
    out["extended"] = ext

    # Monte-Carlo check of the closed-form MSE with the literal quantizers of eqs 3 and 5
    rng = np.random.default_rng(seed)
    n_mc = 200_000 if fast else 2_000_000
    mc = []
    for dist in DISTRIBUTIONS:
        x = sample(dist, n_mc, rng)
        for n in (2, 3, 4, 16):
            for sig in SIGNALS:
                step = optimal_step_size(n, dist, sig)
                if sig == "weight":
                    err = (x - quantize_weight(x, step, n)) ** 2
                else:
                    y = np.maximum(x, 0.0)
                    err = (y - quantize_activation(y, step, n)) ** 2
                mc.append({"distribution": dist, "signal": sig, "levels": n, "closed_form": quantization_mse(step, n, dist, sig),
                           "mc": float(err.mean()), "mc_se": float(err.std(ddof=1) / np.sqrt(n_mc))})
    out["monte_carlo"] = {"samples": n_mc, "rows": mc}

    # initializations of seed 003 Table 5 against the optimum (Gaussian weights / ReLU(Gaussian) activations)
    init = []
    for sig in SIGNALS:
        for n in (2, 4, 8, 16):
            opt = optimal_step_size(n, "gaussian", sig)
            d_opt = quantization_mse(opt, n, "gaussian", sig)
            try:
                lsq = lsq_init_step(n, "gaussian", sig)
                lsq_ratio = quantization_mse(lsq, n, "gaussian", sig) / d_opt
            except ValueError:
                lsq, lsq_ratio = float("nan"), float("nan")
            fixed = {}
            for std in (0.02, 0.05, 0.1, 0.5, 1.0):
                for step in (0.1, 0.2):  # a fixed step on an input of standard deviation std = step/std on the unit input
                    fixed[(std, step)] = quantization_mse(step / std, n, "gaussian", sig) / d_opt
            init.append({"signal": sig, "levels": n, "optimal": opt, "lsq": lsq, "lsq_ratio": lsq_ratio, "fixed": fixed})
    out["init"] = init

    out["ternary"] = ternary_threshold.compare_with_twn()
    out["lloyd_max_checks"] = lloyd_max.asymptotic_check((16, 64, 256) if not fast else (16, 64))
    out["seconds"] = time.perf_counter() - t0
    return out


def tables(results: dict) -> list:
    from tinyquant.markdown import table as md_table

    out = []
    rows = []
    for n, paper in TABLE1.items():
        ours = results["table1"][n]
        rows.append([str(n)] + [f"{p} / {o:.4f}" for p, o in zip(paper, ours)])
    out.append(("Seed 003 Table 1 reproduced (paper / ours; Gaussian weights of unit variance, ReLU of a unit Gaussian "
                "pre-activation; SQNR = 10 log10(Var(quantizer input)/MSE))",
                md_table(["N", "Δ_w^u", "SQNR_w (dB)", "Δ_a^u", "SQNR_a (dB)"], rows)))
    for dist in DISTRIBUTIONS:
        rows = []
        ext = [r for r in results["extended"] if r["distribution"] == dist]
        for n in sorted({r["levels"] for r in ext}):
            w = next(r for r in ext if r["levels"] == n and r["signal"] == "weight")
            a = next(r for r in ext if r["levels"] == n and r["signal"] == "activation")
            rows.append([str(n), f"{w['step']:.5f}", f"{w['clip']:.3f}", f"{w['sqnr']:.3f}", f"{w['lloyd_sqnr']:.3f}",
                         f"{a['step']:.5f}", f"{a['clip']:.3f}", f"{a['sqnr']:.3f}", f"{a['lloyd_sqnr']:.3f}"])
        out.append((f"Optimal unit step sizes, {dist} input (weights: unit-variance input; activations: ReLU of a unit-variance "
                    "pre-activation); Lloyd–Max (non-uniform optimum) SQNR beside the uniform one",
                    md_table(["N", "Δ_w^u", "clip level α = Δ(N−1)/2", "SQNR_w (dB)", "Lloyd–Max SQNR_w", "Δ_a^u",
                              "clip level Δ(N−1)", "SQNR_a (dB)", "Lloyd–Max SQNR_a"], rows)))
    mc = results["monte_carlo"]
    rows = [[r["distribution"], r["signal"], str(r["levels"]), f"{r['closed_form']:.6f}", f"{r['mc']:.6f} ± {r['mc_se']:.6f}",
             f"{(r['mc'] - r['closed_form']) / r['mc_se']:+.2f}"] for r in mc["rows"]]
    out.append((f"Closed-form MSE at the optimum against Monte Carlo of the literal quantizers (eqs 3, 5), {mc['samples']:,} samples",
                md_table(["law", "signal", "N", "closed form", "Monte Carlo ± s.e.", "difference / s.e."], rows)))
    rows = []
    for r in results["init"]:
        fx = r["fixed"]
        rows.append([r["signal"], str(r["levels"]), f"{r['optimal']:.4f}", f"{r['lsq']:.4f}" if np.isfinite(r["lsq"]) else "undefined",
                     f"{r['lsq_ratio']:.3f}" if np.isfinite(r["lsq_ratio"]) else "—"]
                    + [f"{fx[(s, 0.1)]:.2f} / {fx[(s, 0.2)]:.2f}" for s in (0.02, 0.05, 0.1, 0.5, 1.0)])
    out.append(("Seed 003 Table 5's initializations: MSE relative to the optimum, D(Δ)/D(Δ*) (Gaussian; a fixed step 0.1 / 0.2 "
                "depends on the input's standard deviation σ, columns)",
                md_table(["signal", "N", "Δ* (unit)", "LSQ init 2E|X|/√Q_P (unit)", "LSQ D/D*"]
                         + [f"0.1 / 0.2 at σ = {s:g}" for s in (0.02, 0.05, 0.1, 0.5, 1.0)], rows)))
    tw = results["ternary"]
    rows = [[r["distribution"], f"{r['optimal_threshold']:.4f}", f"{r['mean_abs']:.4f}", f"{r['ratio']:.4f}",
             f"{r['twn_threshold']:.4f}", f"{r['optimal_mse']:.5f}", f"{r['twn_mse']:.5f}", f"{100 * r['excess']:.2f}%",
             f"{r['uniq_step_n3'] / 2:.4f}"] for r in tw]
    out.append(("Optimal ternary threshold t* (scale = centroid of |w| > t, i.e. seed 001's S for μ = 0) against TWN's 0.7·E|w| "
                "(unit variance)",
                md_table(["law", "t*", "E|w|", "t*/E|w|", "0.7·E|w|", "MSE at t*", "MSE at 0.7·E|w|", "excess MSE",
                          "Δ*(N = 3)/2 (UniQ ternary threshold)"], rows)))
    lm = results["lloyd_max_checks"]
    rows = [[r["distribution"], str(r["levels"]), f"{r['mse']:.4e}", f"{r['panter_dite']:.4e}", f"{r['ratio']:.4f}", str(r["iterations"])]
            for r in lm]
    out.append(("Lloyd–Max against the Panter–Dite asymptote D ≈ (∫p^{1/3})³/(12N²) (weights)",
                md_table(["law", "N", "Lloyd–Max MSE", "Panter–Dite", "ratio", "Lloyd iterations"], rows)))
    return out


def write_figures(results: dict, out_dir: str) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, sig in zip(axes, SIGNALS):
        for n in (2, 4, 8, 16):
            opt = optimal_step_size(n, "gaussian", sig)
            s = np.linspace(0.2, 2.5, 300) * opt
            ax.plot(s, sqnr_db(s, n, "gaussian", sig), label=f"N = {n}")
            ax.plot([opt], [sqnr_db(opt, n, "gaussian", sig)], "ko", ms=3)
        ax.set_xscale("log")
        ax.set_xlabel("unit step Δ")
        ax.set_ylabel("SQNR (dB)")
        ax.set_title(f"{sig} quantizer, Gaussian " + ("input" if sig == "weight" else "pre-activation"))
        ax.grid(alpha=0.3)
        ax.legend()
    p = os.path.join(out_dir, "sqnr_vs_step.png")
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, sig in zip(axes, SIGNALS):
        for dist in DISTRIBUTIONS:
            ext = sorted((r for r in results["extended"] if r["distribution"] == dist and r["signal"] == sig), key=lambda r: r["levels"])
            n = [r["levels"] for r in ext]
            line, = ax.plot(n, [r["sqnr"] for r in ext], "o-", label=f"{dist}, uniform optimum")
            ax.plot(n, [r["lloyd_sqnr"] for r in ext], "x--", color=line.get_color(), label=f"{dist}, Lloyd–Max")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("levels N")
        ax.set_ylabel("optimal SQNR (dB)")
        ax.set_title(sig)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    p = os.path.join(out_dir, "sqnr_vs_levels.png")
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    return paths


def main(argv=None) -> int:
    """``tinyquant toy step-sizes`` / ``python -m toy_problems.step_size``."""
    p = argparse.ArgumentParser(prog="tinyquant toy step-sizes",
                                description="Optimal step sizes and SQNR of UniQ's quantizers (seed 003, Table 1), Lloyd–Max, "
                                            "LSQ/fixed initializations, ternary threshold vs TWN, ledger rows.")
    p.add_argument("--fast", action="store_true", help="small sizes (seconds), for tests and CI")
    p.add_argument("--out", default=os.path.join("out", "step_sizes"), help="output directory (default out/step_sizes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", default=None, help="also write the printed tables (Markdown) to this file")
    args = p.parse_args(argv)
    from .ledger import write_report
    from .ledger_quantizer_theory import build_step_size_rows, ledger_markdown

    results = run_experiments(fast=args.fast, seed=args.seed)
    text = [f"## {title}\n\n{table}\n" for title, table in tables(results)]
    text.append("## Claims ledger (seed 003 and TWN rows)\n\n" + ledger_markdown(build_step_size_rows(results)) + "\n")
    print("\n".join(text))
    paths = write_figures(results, args.out)
    if args.report:
        paths.append(write_report(args.report, "\n".join(text)))
    print("wrote:\n" + "\n".join(f"  {p}" for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
