"""The experiments of ``tinyquant toy truncated-gaussian``: where the naive forms of seed 001's
scale S fail, S against truncnorm and Monte Carlo, the curves of Fig. 3, the eq. 4 gap for μ ≠ 0,
the Monte-Carlo error of footnote 2 and the Gaussianity of trained weights; tables and figures.

The math (λ, S = μ + σλ(δ/σ) and ∂S/∂δ, the hardtanh clip, the naive forms and the references;
seed 001, eqs 4–10) is in :mod:`toy_problems.truncated_gaussian_formulas`, whose public names are
importable from here too; the analysis of trained weights lives in
:mod:`toy_problems.weight_gaussianity`. :func:`main` is ``tinyquant toy truncated-gaussian``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy import stats

from tinyquant.markdown import table as md_table

from . import truncated_gaussian_formulas as _formulas
from .command import toy_parser
from .truncated_gaussian_formulas import (  # noqa: F401  (re-exported: the formulas' public names)
    CLIP_SIGMAS,
    _lam,
    centroid_eq4,
    clip_threshold,
    clipped_scaling_factor,
    clipped_scaling_factor_grad,
    first_failure,
    inverse_mills_ratio,
    reference_inverse_mills_ratio,
    scaling_factor,
    scaling_factor_grad,
    scaling_factor_grad_naive,
    scaling_factor_monte_carlo,
    scaling_factor_naive,
    tail_breakdown,
)

# the formulas' public names (re-exported above), then the command's own
__all__ = [*_formulas.__all__, "run_experiments", "tables", "write_figures", "main"]


# ----------------------------------------------------------------------------- the experiments of the command

def run_experiments(fast: bool = False, seed: int = 0) -> dict:
    """Every number of the truncated-Gaussian part: the tail breakdown, S against truncnorm and Monte
    Carlo, the curves of Fig. 3, the eq. 4 gap for μ ≠ 0, the Monte-Carlo error of footnote 2 and the
    Gaussianity of trained (or synthetic) weights."""
    from . import weight_gaussianity

    t0 = time.perf_counter()
    out = {"fast": fast, "seed": seed}
    alphas = np.linspace(0.0, 40.0, 801 if fast else 4001)
    out["tail"] = tail_breakdown(alphas)
    out["first_failure"] = {
        name: {tol: first_failure(alphas, out["tail"][name], tol) for tol in (1e-12, 1e-6, 1e-2, np.inf)}
        for name in ("stable", "naive", "naive_sf", "naive_float32", "truncnorm")
    }

    # S against truncnorm and Monte Carlo at a few thresholds (μ = 0.1, σ = 0.5 to exercise μ, σ ≠ 0, 1)
    mu, sigma = 0.1, 0.5
    samples = 200_000 if fast else 4_000_000
    rows = []
    rng = np.random.default_rng(seed)
    for a in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0, 40.0):
        d = a * sigma
        s = scaling_factor(mu, sigma, d)
        tn = float(stats.truncnorm(a, np.inf, loc=mu, scale=sigma).mean())
        mc, se, n_above = scaling_factor_monte_carlo(mu, sigma, d, samples, seed=rng)
        rows.append({"alpha": a, "S": s, "grad": scaling_factor_grad(mu, sigma, d), "truncnorm": tn,
                     "mc": mc, "mc_se": se, "mc_above": n_above,
                     "naive": scaling_factor_naive(mu, sigma, d), "naive32": scaling_factor_naive(mu, sigma, d, dtype=np.float32)})
    out["checks"] = {"mu": mu, "sigma": sigma, "samples": samples, "rows": rows}

    # footnote 2: the Monte-Carlo error of S and of ∂S/∂δ at and beyond δ = 3σ
    mc_rows = []
    reps = 20 if fast else 100
    for n in (10_000, 100_000, 1_000_000) if not fast else (10_000, 100_000):
        for a in (1.0, 2.0, 3.0, 4.0, 5.0):
            est = np.array([scaling_factor_monte_carlo(0.0, 1.0, a, n, seed=rng)[0] for _ in range(reps)])
            exact = scaling_factor(0.0, 1.0, a)
            finite = np.isfinite(est)
            err = np.abs(est[finite] - exact) / exact
            mc_rows.append({"samples": n, "alpha": a, "expected_above": n * float(stats.norm.sf(a)),
                            "rms_rel_error": float(np.sqrt(np.mean(err ** 2))) if finite.any() else float("nan"),
                            "empty": int((~finite).sum()), "reps": reps})
    out["mc_tail"] = mc_rows

    # eq. 4 versus eq. 7 for μ ≠ 0
    gap_rows = []
    for mu_, d in ((0.0, 0.5), (0.05, 0.5), (0.2, 0.5), (0.2, 1.5), (-0.2, 1.0)):
        gap_rows.append({"mu": mu_, "sigma": 1.0, "delta": d, "eq7": scaling_factor(mu_, 1.0, d),
                         "eq4": centroid_eq4(mu_, 1.0, d), "sigma_lambda": float(_lam(np.asarray(d)))})
    out["eq4_gap"] = gap_rows

    # Fig. 3 curves
    d = np.linspace(-5.0, 5.0, 1001)
    out["fig3"] = {"delta": d, "S": scaling_factor(0.0, 1.0, d), "dS": scaling_factor_grad(0.0, 1.0, d),
                   "Sc": clipped_scaling_factor(0.0, 1.0, d), "dSc": clipped_scaling_factor_grad(0.0, 1.0, d)}

    out["gaussianity"] = weight_gaussianity.trained_or_synthetic_weights_report(fast=fast, seed=seed)
    out["seconds"] = time.perf_counter() - t0
    return out


def _fmt(x, spec=".3g"):
    if isinstance(x, float) and not np.isfinite(x):
        return "inf" if x == np.inf else "nan"
    return format(x, spec)


def tables(results: dict) -> list:
    """(title, Markdown table) pairs."""
    from .weight_gaussianity import report_table

    out = []
    tail = results["tail"]
    ff = results["first_failure"]
    names = {"stable": "stable √(2/π)/erfcx(α/√2)", "naive": "naive φ/(1 − Φ), float64", "naive_sf": "φ/Q (survival function), float64",
             "naive_float32": "naive φ/(1 − Φ), float32", "truncnorm": "scipy.stats.truncnorm(α, ∞).mean()"}
    rows = [[names[k], _fmt(float(np.max(tail[k][np.isfinite(tail[k])])) if np.isfinite(tail[k]).any() else np.inf, ".2e")]
            + [_fmt(ff[k][t], "g") if np.isfinite(ff[k][t]) else "never" for t in (1e-12, 1e-6, 1e-2, np.inf)] for k in names]
    out.append((f"Where each evaluation of λ(α) = (S − μ)/σ breaks (α = δ/σ on a grid of {tail['alpha'].size} points in [0, 40], "
                "relative error against exp(log φ − log Q) with scipy's log_ndtr. That reference itself is accurate only to "
                "≈ |log φ(α)|·ε ≈ 2e-13 at α = 40, so errors of that size in the stable row are the reference's; scipy's "
                "truncnorm mean computes the same log-space formula, hence its zeros)",
                md_table(["evaluation", "max finite relative error", "first α with error > 1e-12", "> 1e-6", "> 1e-2", "not finite"], rows)))
    sel = [0.0, 3.0, 5.0, 7.0, 8.0, 8.5, 10.0, 20.0, 37.0, 38.0, 40.0]
    idx = [int(np.argmin(np.abs(tail["alpha"] - a))) for a in sel]
    rows = [[f"{tail['alpha'][i]:g}", f"{tail['reference'][i]:.15g}"] + [_fmt(float(tail[k][i]), ".1e") for k in names] for i in idx]
    out.append(("Relative error of λ(α) at selected α", md_table(["α", "λ(α) reference"] + list(names.values()), rows)))

    ch = results["checks"]
    rows = [[f"{r['alpha']:g}", f"{r['S']:.12g}", f"{r['truncnorm']:.12g}", _fmt(abs(r['S'] - r['truncnorm']) / abs(r['truncnorm']), ".1e"),
             (f"{r['mc']:.5f} ± {r['mc_se']:.5f}" if r['mc_above'] > 1 else "no sample above δ") + f" ({r['mc_above']:,} above)",
             f"{r['grad']:.10f}", _fmt(r['naive'], ".12g"), _fmt(r['naive32'], ".8g")] for r in ch["rows"]]
    out.append((f"S(μ, σ, δ) against scipy.stats.truncnorm and Monte Carlo (μ = {ch['mu']}, σ = {ch['sigma']}, "
                f"{ch['samples']:,} samples per threshold)",
                md_table(["δ/σ", "S (stable, eq. 7)", "truncnorm mean", "relative difference", "Monte Carlo ± s.e.", "∂S/∂δ",
                          "naive float64", "naive float32"], rows)))

    rows = [[f"{r['samples']:,}", f"{r['alpha']:g}", f"{r['expected_above']:.1f}", _fmt(r['rms_rel_error'], ".2e"),
             f"{r['empty']}/{r['reps']}"] for r in results["mc_tail"]]
    out.append(("Seed 001 footnote 2: error of a Monte-Carlo S in the tail (μ = 0, σ = 1; rms relative error over repetitions)",
                md_table(["samples", "δ/σ", "expected samples above δ", "rms relative error of S", "repetitions with no sample above δ"], rows)))

    rows = [[f"{r['mu']:g}", f"{r['delta']:g}", f"{r['eq7']:.6f}", f"{r['eq4']:.6f}", f"{r['eq7'] - r['eq4']:+.6f}", f"{r['sigma_lambda']:.6f}"]
            for r in results["eq4_gap"]]
    out.append(("Eq. 7 (upper-tail mean) against eq. 4 (centroid of |w| over both tails) under N(μ, 1)",
                md_table(["μ", "δ", "S eq. 7", "eq. 4 exact", "eq. 7 − eq. 4", "σλ(δ/σ)"], rows)))

    g = results["gaussianity"]
    out.append((g["title"], report_table(g["rows"])))
    return out


def write_figures(results: dict, out_dir: str) -> list:
    """Fig. 3a/3b, the tail breakdown and the weight histograms as PNG files; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .weight_gaussianity import plot_histograms

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    f3 = results["fig3"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (s, ds, title) in zip(axes, ((f3["S"], f3["dS"], "(a) S(0, 1, δ)"), (f3["Sc"], f3["dSc"], "(b) S(0, 1, δᶜ), δᶜ = hardtanh(|δ|, 0, 3σ)"))):
        ax.plot(f3["delta"], s, label="forward S")
        ax.plot(f3["delta"], ds, label="backward ∂S/∂δ")
        ax.set_xlabel("threshold δ (units of σ)")
        ax.set_ylabel("S and ∂S/∂δ (units of σ; slope dimensionless)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("seed 001, Fig. 3 (μ = 0, σ = 1)")
    p = os.path.join(out_dir, "fig3_scaling_factor.png")
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)

    tail = results["tail"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, lab in (("naive", "φ/(1 − Φ) float64"), ("naive_float32", "φ/(1 − Φ) float32"), ("naive_sf", "φ/Q float64"),
                   ("truncnorm", "truncnorm.mean"), ("stable", "√(2/π)/erfcx(α/√2)")):
        e = np.where(np.isfinite(tail[k]), tail[k], 1e2)
        ax.semilogy(tail["alpha"], np.maximum(e, 1e-18), label=lab, lw=1)
    ax.axhline(1e2, color="k", ls=":", lw=0.8)
    ax.text(0.5, 1.5e2, "not finite", fontsize=8)
    ax.set_xlabel("α = δ/σ")
    ax.set_ylabel("relative error of λ(α)")
    ax.set_ylim(1e-18, 1e4)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    p = os.path.join(out_dir, "tail_breakdown.png")
    fig.savefig(p, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    paths += plot_histograms(results["gaussianity"], out_dir)
    return paths


def render_section(results: dict) -> str:
    parts = []
    for title, table in tables(results):
        parts += [f"### {title}", "", table, ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    """``tinyquant toy truncated-gaussian`` / ``python -m toy_problems.truncated_gaussian``."""
    args = toy_parser("tinyquant toy truncated-gaussian",
                      "Truncated-Gaussian scaling factor of seed 001: stable S and ∂S/∂δ, where the naive "
                      "formula breaks, Fig. 3a/3b, Gaussianity of weights, ledger rows.",
                      os.path.join("out", "truncated_gaussian"),
                      report_help="also write the printed tables (Markdown) to this file").parse_args(argv)
    from .ledger import write_report
    from .ledger_quantizer_theory_rows import build_truncated_gaussian_rows, ledger_markdown

    results = run_experiments(fast=args.fast, seed=args.seed)
    text = [f"## {title}\n\n{table}\n" for title, table in tables(results)]
    rows = build_truncated_gaussian_rows(results)
    text.append("## Claims ledger (seed 001 rows)\n\n" + ledger_markdown(rows) + "\n")
    print("\n".join(text))
    paths = write_figures(results, args.out)
    if args.report:
        paths.append(write_report(args.report, "\n".join(text)))
    print("wrote:\n" + "\n".join(f"  {p}" for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
