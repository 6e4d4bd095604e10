"""The MSE-optimal ternary threshold of a symmetric law against TWN's rule t ≈ 0.7·E|w|.

A ternary quantizer q(w) = a·sign(w)·1[|w| > t] with, for each t, the best scale a (the centroid
of the kept weights — seed 001's S for μ = 0, TWN's α) has the error

    D(t) = E[w²] − (E[|w|; |w| > t])² / P(|w| > t) = 1 − 2 G_1(t)² / G_0(t)     (unit variance)

(G_k of :mod:`toy_problems.distributions`). dD/dt = 0 gives G_1(t)/G_0(t) = 2t: the threshold is
half the scale — the mid-point condition, so the optimal ternary quantizer is the 3-level
Lloyd–Max quantizer and also UniQ's optimal uniform N = 3 quantizer (t* = Δ*(3)/2).

TWN (Li & Liu, "Ternary Weight Networks", 2016) approximates t* by 0.7·E|w|, derived for Gaussian
and uniform weights. Closed forms (unit variance): Gaussian t* solves λ(t) = 2t (t* ≈ 0.612,
E|w| = √(2/π)); uniform on [−c, c]: t* = c/3, E|w| = c/2, ratio 2/3; Laplace of scale s:
G_1/G_0 = t + s, t* = s = E|w|, ratio 1.

Far tails: D is evaluated as 1 − 2·G_1(t)·m(t) with the tail mean m = G_1/G_0 of
:func:`toy_problems.distributions.tail_mean` (λ(t) for the Gaussian), never as G_1²/G_0, which is
0/0 once both tails underflow (t ≥ 38 for the Gaussian). As t → ∞ every weight maps to 0 and
D(t) → E[w²] = 1; the computed value reaches 1 exactly once 2G_1·m < ε/2.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .distributions import DISTRIBUTIONS, check_distribution, tail_mean, upper_moments

__all__ = ["TWN_FACTOR", "ternary_mse", "optimal_ternary_threshold", "compare_with_twn"]

TWN_FACTOR = 0.7


def ternary_mse(threshold, distribution: str = "gaussian"):
    """D(t) = 1 − 2G_1(t)²/G_0(t) for the unit-variance law, scale at the centroid."""
    distribution = check_distribution(distribution, "ternary_mse")
    t = np.asarray(threshold, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"ternary_mse: threshold must be finite and >= 0, got {threshold!r}")
    _, g1, _ = upper_moments(t, distribution)
    d = 1.0 - 2.0 * g1 * tail_mean(t, distribution)
    return float(d) if d.ndim == 0 else d


def optimal_ternary_threshold(distribution: str = "gaussian") -> float:
    """t* solving G_1(t)/G_0(t) = 2t (unit variance)."""
    distribution = check_distribution(distribution, "optimal_ternary_threshold")

    def f(t):
        return float(tail_mean(t, distribution) - 2 * t)

    hi = 1.7 if distribution == "uniform" else 5.0  # uniform: G_0 = 0 beyond √3
    return float(optimize.brentq(f, 1e-9, hi, xtol=1e-15))


def compare_with_twn() -> list:
    from .step_size_formulas import optimal_step_size

    rows = []
    for dist in DISTRIBUTIONS:
        t = optimal_ternary_threshold(dist)
        mean_abs = 2 * float(upper_moments(0.0, dist)[1])
        twn = TWN_FACTOR * mean_abs
        d_opt, d_twn = ternary_mse(t, dist), ternary_mse(twn, dist)
        rows.append({"distribution": dist, "optimal_threshold": t, "mean_abs": mean_abs, "ratio": t / mean_abs,
                     "twn_threshold": twn, "optimal_mse": d_opt, "twn_mse": d_twn, "excess": d_twn / d_opt - 1,
                     "uniq_step_n3": optimal_step_size(3, dist)})
    return rows
