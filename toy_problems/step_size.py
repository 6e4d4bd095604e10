"""The experiments of ``tinyquant toy step-sizes``: seed 003's Table 1 and its extension, Lloyd–Max
beside the uniform optimum, LSQ's and fixed initializations, the ternary threshold against TWN,
Monte-Carlo checks of the closed forms, the tables and the figures.

The math (UniQ's quantizers, D(Δ), dD/dΔ, the optimal unit step, SQNR; seed 003, eqs 3–10) is in
:mod:`toy_problems.step_size_formulas`, whose public names are importable from here too.
:func:`main` is ``tinyquant toy step-sizes``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from .command import toy_parser
from .distributions import DISTRIBUTIONS
from .step_size_formulas import (  # noqa: F401  (re-exported: the formulas' public names)
    SIGNALS,
    TABLE1,
    empirical_sqnr_db,
    lsq_init_step,
    mse_derivative,
    optimal_step_size,
    quantization_mse,
    quantize_activation,
    quantize_weight,
    signal_variance,
    sqnr_db,
)

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

TABLE_LEVELS = (2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 64, 128, 256)


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
    args = toy_parser("tinyquant toy step-sizes",
                      "Optimal step sizes and SQNR of UniQ's quantizers (seed 003, Table 1), Lloyd–Max, "
                      "LSQ/fixed initializations, ternary threshold vs TWN, ledger rows.",
                      os.path.join("out", "step_sizes"),
                      report_help="also write the printed tables (Markdown) to this file").parse_args(argv)
    from .ledger import write_report
    from .ledger_quantizer_theory_rows import build_step_size_rows, ledger_markdown

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
