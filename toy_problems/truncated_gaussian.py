"""The truncated-Gaussian scaling factor of trainable ternarization (seed 001, eqs 4–10, Fig. 3).

Under Assumption 1 of seed 001 a layer's weights follow N(μ, σ²). Ternarization with the
thresholds Δ± = μ ± δ (seed 001, eq. 2/11) replaces every weight above μ + δ by +S, every weight
below μ − δ by −S and the rest by 0. The scale S is the centroid of the weights above the
threshold, i.e. the mean of the Gaussian truncated to (μ + δ, ∞) (seed 001, eqs 5–7)::

    α = δ / σ                                              # seed 001, eq. 6
    S(μ, σ, δ) = μ + σ · φ(α) / (1 − Φ(α)) = μ + σ λ(α)     # seed 001, eq. 7

with φ, Φ the standard normal pdf and cdf and λ(α) = φ(α) / (1 − Φ(α)) the *inverse Mills
ratio*. Its derivative in δ (needed to train δ by back-propagation) is derived here, the seed
only plots it (Fig. 3)::

    λ′(α) = λ(α) (λ(α) − α)                  (φ′ = −αφ and d(1 − Φ)/dα = −φ)
    ∂S/∂δ = σ λ′(α) · (1/σ) = λ(α) (λ(α) − α)
          = 1 − Var[w | w > μ + δ] / σ²       (the truncated-normal variance is
                                               σ² (1 + αλ − λ²))

so 0 < ∂S/∂δ < 1: S increases with δ, and S ≥ μ + δ (λ(α) ≥ α, the mean of a variable
bounded below by μ + δ). As δ/σ → ∞, λ(α) = α + 1/α − 2/α³ + … and ∂S/∂δ = 1 − 1/α² + 6/α⁴ − …

**Computing λ stably.** The textbook form φ(α)/(1 − Φ(α)) subtracts two numbers close to 1:
1 − Φ(α) has relative error ≈ ε/(1 − Φ(α)) in float64, ~1e-10 at α = 5, ~1e-1 at α = 8, and
Φ(α) rounds to exactly 1 from α ≈ 8.3 on (division by zero). Writing 1 − Φ(α) as the survival
function Q(α) fixes the cancellation but both φ(α) and Q(α) underflow near α ≈ 38 (0/0).
This module writes both through the scaled complementary error function
erfcx(x) = exp(x²) erfc(x) (scipy.special.erfcx)::

    1 − Φ(α) = ½ erfc(α/√2) = ½ exp(−α²/2) erfcx(α/√2),   φ(α) = exp(−α²/2) / √(2π)
    ⇒ λ(α) = √(2/π) / erfcx(α/√2)

in which the factor exp(−α²/2) cancels analytically: no underflow, no cancellation, accurate to
a few ulp for every α (for α → −∞, erfcx overflows to ∞ and λ → 0, which is the limit).
The derivative λ(λ − α) written literally subtracts two numbers ≈ α and loses a factor ≈ α² of
relative precision (2e-13 at α = 40, 3e-8 at 1e4, 2.4 % at 1e7, the wrong sign at 1e8); for α ≥ 3
λ − α comes from Laplace's continued fraction 1/(α + 2/(α + 3/(α + …))) instead, without
cancellation (:func:`tinyquant.quant.functional.inverse_mills_ratio_grad`, a few ulp up to
α = 1e300). :func:`tail_breakdown` measures where the naive forms fail; the command prints it.

Fig. 3b clips the trainable δ into (0, 3σ) through hardtanh (seed 001, eqs 8–9)::

    δᶜ = hardtanh(|δ|, 0, 3σ) = min(max(|δ|, 0), 3σ)      # seed 001, eq. 9
    S(μ, σ, δᶜ),   ∂S(μ, σ, δᶜ)/∂δ = sign(δ) · 1[|δ| < 3σ] · λ′(δᶜ/σ)

(we take sign(0) = 0, so the derivative at δ = 0 is 0, and the derivative is 0 on the clipped
plateau |δ| ≥ 3σ, as for hardtanh in PyTorch).

Eq. 7 versus eq. 4. Eq. 4 defines S as E(|w| | w outside [μ − δ, μ + δ]); eq. 5 approximates it by
the mean of the upper tail only. For μ = 0 both agree. For μ ≠ 0 (and μ − δ < 0 < μ + δ) the
two tails have equal mass, the upper tail has E|w| = μ + σλ, the lower one σλ − μ, so eq. 4
gives σλ(α) and eq. 7 is off by exactly μ. :func:`centroid_eq4` computes eq. 4 under the
Gaussian assumption for any μ.

Public names: :func:`inverse_mills_ratio`, :func:`scaling_factor`, :func:`scaling_factor_grad`,
:func:`clip_threshold`, :func:`clipped_scaling_factor`, :func:`clipped_scaling_factor_grad`,
:func:`scaling_factor_naive`, :func:`scaling_factor_monte_carlo`, :func:`centroid_eq4`,
:func:`tail_breakdown`; the analysis of trained weights lives in
:mod:`toy_problems.weight_gaussianity`; :func:`main` is ``tinyquant toy truncated-gaussian``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import special, stats

from tinyquant.markdown import table as md_table
from tinyquant.quant import functional as F

from .checks import as_generator, check_count

__all__ = [
    "inverse_mills_ratio",
    "scaling_factor",
    "scaling_factor_grad",
    "clip_threshold",
    "clipped_scaling_factor",
    "clipped_scaling_factor_grad",
    "scaling_factor_naive",
    "scaling_factor_grad_naive",
    "scaling_factor_monte_carlo",
    "centroid_eq4",
    "reference_inverse_mills_ratio",
    "tail_breakdown",
    "first_failure",
    "run_experiments",
    "tables",
    "write_figures",
    "main",
]

CLIP_SIGMAS = F.CLIP_SIGMAS  # seed 001, eq. 9: δ is clipped into (0, 3σ)


# ----------------------------------------------------------------------------- argument checks

def _as_real_array(name: str, value, where: str) -> np.ndarray:
    """``value`` as a float64 array; TypeError for non-numbers, ValueError for NaN/inf."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be a real number or array of real numbers, got {value!r}")
    try:
        arr = np.asarray(value)
    except Exception:  # pragma: no cover - exotic objects
        raise TypeError(f"{where}: {name} must be a real number or array, got {value!r}") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{where}: {name} must be a real number or array of real numbers, got {value!r} "
                        f"(dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return arr


def _check_params(mu, sigma, delta, where: str):
    mu = _as_real_array("mu", mu, where)
    sigma = _as_real_array("sigma", sigma, where)
    delta = _as_real_array("delta", delta, where)
    if np.any(sigma <= 0):
        raise ValueError(f"{where}: sigma (the standard deviation of the weights) must be > 0, got {sigma.tolist()!r}")
    try:
        np.broadcast_shapes(mu.shape, sigma.shape, delta.shape)
    except ValueError:
        raise ValueError(f"{where}: mu, sigma and delta must broadcast together, got shapes "
                         f"{mu.shape}, {sigma.shape}, {delta.shape}") from None
    return mu, sigma, delta


def _out(x: np.ndarray):
    """A Python float for 0-d results, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


# ----------------------------------------------------------------------------- the closed form

def inverse_mills_ratio(alpha):
    """λ(α) = φ(α) / (1 − Φ(α)) = √(2/π) / erfcx(α/√2), stable for every real α.

    λ(α) is the mean of a standard normal truncated to (α, ∞); λ(0) = √(2/π) ≈ 0.7979.
    """
    alpha = _as_real_array("alpha", alpha, "inverse_mills_ratio")
    return _out(_lam(alpha))


# λ and λ′ are the framework's (written once, used by the truncated_gaussian_ternary quantizer)
_lam = F.inverse_mills_ratio


def scaling_factor(mu, sigma, delta):
    """S(μ, σ, δ) = μ + σ λ(δ/σ), the mean of N(μ, σ²) truncated to (μ + δ, ∞) (seed 001, eq. 7).

    Stable for any δ/σ (see the module docstring). ``mu``, ``sigma`` (> 0) and ``delta`` may be
    arrays that broadcast together; a 0-d result is returned as a float.
    """
    mu, sigma, delta = _check_params(mu, sigma, delta, "scaling_factor")
    return _out(F.truncated_gaussian_scale(mu, sigma, delta))  # seed 001, eq. 7


def scaling_factor_grad(mu, sigma, delta):
    """∂S/∂δ = λ(α)(λ(α) − α), α = δ/σ (derived in the module docstring; independent of μ, σ
    except through α). Equals 1 − Var[w | w > μ + δ]/σ², so it lies in (0, 1)."""
    mu, sigma, delta = _check_params(mu, sigma, delta, "scaling_factor_grad")
    return _out(F.truncated_gaussian_scale_grad(mu, sigma, delta))


def clip_threshold(delta, sigma):
    """δᶜ = hardtanh(|δ|, 0, 3σ) (seed 001, eqs 8–9)."""
    _, sigma, delta = _check_params(0.0, sigma, delta, "clip_threshold")
    return _out(F.clip_threshold(delta, sigma))


def clipped_scaling_factor(mu, sigma, delta):
    """S(μ, σ, δᶜ) with δᶜ = hardtanh(|δ|, 0, 3σ): the forward curve of Fig. 3b (seed 001, eq. 10)."""
    mu, sigma, delta = _check_params(mu, sigma, delta, "clipped_scaling_factor")
    return _out(F.truncated_gaussian_scale(mu, sigma, F.clip_threshold(delta, sigma)))  # seed 001, eqs 9–10


def clipped_scaling_factor_grad(mu, sigma, delta):
    """∂S(μ, σ, δᶜ)/∂δ = sign(δ)·1[|δ| < 3σ]·λ′(δᶜ/σ), sign(0) = 0: the backward curve of Fig. 3b."""
    mu, sigma, delta = _check_params(mu, sigma, delta, "clipped_scaling_factor_grad")
    g = F.clip_threshold_grad(delta, sigma) * F.truncated_gaussian_scale_grad(mu, sigma, F.clip_threshold(delta, sigma))
    return _out(g)


# ----------------------------------------------------------------------------- naive forms and references

def scaling_factor_naive(mu, sigma, delta, dtype=np.float64, form: str = "one_minus_cdf"):
    """The textbook evaluation of eq. 7, to show where it fails.

    ``form="one_minus_cdf"``: μ + σ φ(α)/(1 − Φ(α)); ``form="sf"``: μ + σ φ(α)/Q(α) with scipy's
    survival function. ``dtype=np.float32`` evaluates the first form in single precision, as a
    float32 framework would (φ = exp(−α²/2)/√(2π), Φ = ½(1 + erf(α/√2)), both float32).
    Returns inf or nan where the form breaks down (no warnings).
    """
    mu, sigma, delta = _check_params(mu, sigma, delta, "scaling_factor_naive")
    if form not in ("one_minus_cdf", "sf"):
        raise ValueError(f"scaling_factor_naive: form must be 'one_minus_cdf' or 'sf', got {form!r}")
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"scaling_factor_naive: dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    with np.errstate(all="ignore"):
        a = (delta / sigma).astype(dtype)
        if dtype == np.float32:
            if form != "one_minus_cdf":
                raise ValueError("scaling_factor_naive: the float32 evaluation exists for form='one_minus_cdf' only")
            two = np.float32(2.0)
            phi = np.exp(-a * a / two) / np.float32(np.sqrt(2 * np.pi))
            cdf = np.float32(0.5) * (np.float32(1.0) + special.erf(a / np.float32(np.sqrt(2.0))))
            lam = (phi / (np.float32(1.0) - cdf)).astype(np.float64)
        elif form == "one_minus_cdf":
            lam = stats.norm.pdf(a) / (1.0 - stats.norm.cdf(a))
        else:
            lam = stats.norm.pdf(a) / stats.norm.sf(a)
        return _out(mu + sigma * lam)


def scaling_factor_grad_naive(mu, sigma, delta):
    """λ(λ − α) with the naive float64 λ = φ/(1 − Φ)."""
    mu, sigma, delta = _check_params(mu, sigma, delta, "scaling_factor_grad_naive")
    a = delta / sigma
    with np.errstate(all="ignore"):
        lam = stats.norm.pdf(a) / (1.0 - stats.norm.cdf(a))
        return _out(lam * (lam - a))


def reference_inverse_mills_ratio(alpha):
    """An independent evaluation of λ for checking: exp(log φ(α) − log Q(α)) with scipy's
    ``log_ndtr`` (accurate far into the tail; relative error ≲ |log φ(α)|·ε ≈ 2e-13 at α = 40)."""
    alpha = _as_real_array("alpha", alpha, "reference_inverse_mills_ratio")
    return _out(np.exp(stats.norm.logpdf(alpha) - special.log_ndtr(-alpha)))


def scaling_factor_monte_carlo(mu, sigma, delta, samples: int, seed=0):
    """Monte-Carlo estimate of S: draw ``samples`` weights from N(μ, σ²), average those above μ + δ.

    Scalars only. Returns (estimate, standard error, number of samples above the threshold);
    (nan, nan, 0) when no sample lands above the threshold — the tail problem of seed 001's
    footnote 2.
    """
    mu, sigma, delta = (float(x) for x in _check_params(mu, sigma, delta, "scaling_factor_monte_carlo"))
    samples = check_count("samples", samples, "scaling_factor_monte_carlo", minimum=1)
    rng = as_generator(seed, "scaling_factor_monte_carlo")
    w = rng.normal(mu, sigma, size=samples)
    above = w[w > mu + delta]
    if above.size == 0:
        return float("nan"), float("nan"), 0
    se = float(above.std(ddof=1) / np.sqrt(above.size)) if above.size > 1 else float("nan")
    return float(above.mean()), se, int(above.size)


def _abs_moment(mu, sigma, lo, hi):
    """(P(lo < w < hi), E[|w|; lo < w < hi]) for w ~ N(μ, σ²), splitting at 0."""
    def part(a, b):  # E[w; a < w < b] and P for a ≤ b
        za, zb = (a - mu) / sigma, (b - mu) / sigma
        p = np.where(za > 0, stats.norm.sf(za) - stats.norm.sf(zb), stats.norm.cdf(zb) - stats.norm.cdf(za))
        return p, mu * p + sigma * (stats.norm.pdf(za) - stats.norm.pdf(zb))

    neg_hi, pos_lo = np.minimum(hi, 0.0), np.maximum(lo, 0.0)
    p_neg, m_neg = part(np.minimum(lo, 0.0), neg_hi)
    p_pos, m_pos = part(pos_lo, np.maximum(hi, 0.0))
    return p_neg + p_pos, m_pos - m_neg


def centroid_eq4(mu, sigma, delta):
    """E(|w| | w > μ + δ or w < μ − δ) for w ~ N(μ, σ²): seed 001's eq. 4 evaluated exactly under
    Assumption 1 (for δ ≥ 0). Equals :func:`scaling_factor` when μ = 0 and σλ(δ/σ) whenever
    μ − δ ≤ 0 ≤ μ + δ (module docstring)."""
    mu, sigma, delta = _check_params(mu, sigma, delta, "centroid_eq4")
    if np.any(delta < 0):
        raise ValueError(f"centroid_eq4: delta must be >= 0, got {delta.tolist()!r}")
    p_hi, m_hi = _abs_moment(mu, sigma, mu + delta, np.inf)
    p_lo, m_lo = _abs_moment(mu, sigma, -np.inf, mu - delta)
    return _out((m_hi + m_lo) / (p_hi + p_lo))


# ----------------------------------------------------------------------------- where the naive forms fail

def tail_breakdown(alphas) -> dict:
    """Relative error of each evaluation of λ(α) = (S − μ)/σ against the log-space reference.

    Returns a dict of arrays over ``alphas``: ``reference`` and the relative errors of
    ``stable`` (erfcx), ``naive`` (φ/(1 − Φ), float64), ``naive_sf`` (φ/Q, float64),
    ``naive_float32`` (φ/(1 − Φ) in float32) and ``truncnorm`` (scipy.stats.truncnorm(α, ∞).mean()).
    A non-finite result counts as relative error inf.
    """
    a = _as_real_array("alphas", alphas, "tail_breakdown").ravel()
    ref = np.asarray(reference_inverse_mills_ratio(a), dtype=float).reshape(a.shape)

    def rel(x):
        x = np.asarray(x, dtype=float).reshape(a.shape)
        with np.errstate(all="ignore"):
            e = np.abs(x - ref) / np.abs(ref)
        return np.where(np.isfinite(x), e, np.inf)

    with np.errstate(all="ignore"):
        tn = np.array([stats.truncnorm(x, np.inf).mean() for x in a])
    return {
        "alpha": a,
        "reference": ref,
        "stable": rel(_lam(a)),
        "naive": rel(scaling_factor_naive(0.0, 1.0, a)),
        "naive_sf": rel(scaling_factor_naive(0.0, 1.0, a, form="sf")),
        "naive_float32": rel(scaling_factor_naive(0.0, 1.0, a, dtype=np.float32)),
        "truncnorm": rel(tn),
    }


def first_failure(alpha: np.ndarray, rel_error: np.ndarray, tol: float) -> float:
    """The smallest α ≥ 0 of the grid where the relative error exceeds ``tol`` (nan if never);
    ``tol = inf`` finds the first non-finite result (relative error inf)."""
    bad = (alpha >= 0) & (~np.isfinite(rel_error) if tol == np.inf else ~(rel_error <= tol))
    return float(alpha[bad].min()) if bad.any() else float("nan")


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
    p = argparse.ArgumentParser(prog="tinyquant toy truncated-gaussian",
                                description="Truncated-Gaussian scaling factor of seed 001: stable S and ∂S/∂δ, where the naive "
                                            "formula breaks, Fig. 3a/3b, Gaussianity of weights, ledger rows.")
    p.add_argument("--fast", action="store_true", help="small sizes (seconds), for tests and CI")
    p.add_argument("--out", default=os.path.join("out", "truncated_gaussian"), help="output directory (default out/truncated_gaussian)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", default=None, help="also write the printed tables (Markdown) to this file")
    args = p.parse_args(argv)
    from .ledger import write_report
    from .ledger_quantizer_theory import build_truncated_gaussian_rows, ledger_markdown

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
