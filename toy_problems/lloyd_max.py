"""Lloyd–Max: the MSE-optimal non-uniform quantizer with N levels, beside UniQ's uniform one
(seed 003, §4.2 compares only uniform steps; this is the floor a uniform grid cannot beat).

The optimum satisfies the two Lloyd–Max conditions (Lloyd 1957/1982, Max 1960):

    t_j = (ℓ_{j−1} + ℓ_j)/2                     (decision levels at mid-points)
    ℓ_j = E[X | t_j ≤ X < t_{j+1}]              (reconstruction levels at centroids)

and Lloyd's iteration alternates them; each step cannot increase the MSE. We work on the
half-line x ≥ 0 with the partial moments of :mod:`toy_problems.distributions`:

* weights (symmetric input, full line): for even N the N/2 positive levels are free and 0 is a
  decision level; for odd N the middle level is fixed at 0 and (N − 1)/2 positive levels are free;
  MSE = 2 × (half-line MSE);
* activations Y = ReLU(X): N levels on [0, ∞); the first cell [0, t_1) also holds the point mass
  P(Y = 0) = ½, so its centroid is M_1/(½ + M_0) (slightly above 0); MSE includes ½ℓ_0².

It starts from the uniform optimum of :mod:`toy_problems.step_size`, takes 20 Lloyd steps, then
Newton steps on ∂D/∂ℓ = 0 until no level moves by more than ``tol`` (relative to the largest level).

:func:`asymptotic_check` compares with the Panter–Dite high-resolution law
D ≈ (∫ p^{1/3} dx)³ / (12 N²), with the integral computed by quadrature.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

from tinyquant.quant.functional import staircase_cells

from .checks import check_levels, check_signal
from .distributions import LAPLACE_SCALE, UNIFORM_HALF_WIDTH, cell_moments, check_distribution

__all__ = ["LloydMax", "lloyd_max", "panter_dite_constant", "asymptotic_check"]


@dataclass(frozen=True)
class LloydMax:
    """The result: half-line ``levels`` and ``thresholds`` (t_0 = 0, …, t_K = ∞), ``mse``, ``iterations``."""

    levels: np.ndarray
    thresholds: np.ndarray
    mse: float
    iterations: int
    converged: bool


def lloyd_max(levels: int, distribution: str = "gaussian", signal: str = "weight", tol: float = 1e-10,
              max_iter: int = 3000) -> LloydMax:
    """The N-level Lloyd–Max quantizer of the unit input (cached; see the module docstring)."""
    levels = check_levels(levels, "lloyd_max")
    distribution = check_distribution(distribution, "lloyd_max")
    signal = check_signal(signal, "lloyd_max")
    return _lloyd(levels, distribution, signal, float(tol), int(max_iter))


def _half_line_mse(ell, t, distribution, point_mass, factor):
    m0, m1, m2 = cell_moments(t[:-1], t[1:], distribution)
    return float(factor * (np.sum(m2 - 2 * ell * m1 + ell * ell * m0) + point_mass * ell[0] ** 2))


def _midpoints(ell):
    return np.concatenate(([0.0], (ell[:-1] + ell[1:]) / 2, [np.inf]))


@functools.lru_cache(maxsize=None)
def _lloyd(levels, distribution, signal, tol, max_iter):
    """Lloyd steps (the two conditions) from the uniform optimum, then Newton's method on the MSE.

    Lloyd's iteration converges linearly with a rate 1 − O(1/N²) (≈ 10⁵ steps for N = 256), so
    after a few Lloyd steps we solve ∂D/∂ℓ = 0 by Newton. With mid-point thresholds the
    half-line gradient and its tridiagonal Hessian are (p the density, M_k over cell j, the
    point mass of cell 0 included in M_0)::

        g_j      = −2 (M_1,j − ℓ_j M_0,j)
        H_jj     = 2 M_0,j − (t_{j+1} − ℓ_j) p(t_{j+1}) + (t_j − ℓ_j) p(t_j)   (t_0 = 0 fixed: no term)
        H_j,j+1  = −½ (ℓ_{j+1} − ℓ_j) p(t_{j+1})

    (differentiate the cell integrals; the limits move by ½ per level). The Newton system is
    damped (H + λ·mean|diag H|·I, λ = 0, 1e-6, …, 1e2) until the step is a descent direction that
    lowers the MSE with the levels ordered; if none does, the Lloyd step is taken. Convergence is
    declared when the undamped Newton step moves no level by more than ``tol``·ℓ_max.
    """
    from scipy.linalg import solve_banded

    from .distributions import density
    from .step_size_formulas import optimal_step_size

    _, _, c, factor = staircase_cells(levels, signal)
    ell = c * optimal_step_size(levels, distribution, signal)   # start: the uniform optimum
    fixed_zero = signal == "weight" and levels % 2 == 1       # odd-N weights keep the level 0
    point_mass = 0.5 if signal == "activation" else 0.0        # P(ReLU(X) = 0) for a symmetric X
    free = slice(1, None) if fixed_zero else slice(None)

    def centroid_terms(ell):
        t = _midpoints(ell)
        m0, m1, _ = cell_moments(t[:-1], t[1:], distribution)
        m0 = m0.copy()
        m0[0] += point_mass
        return t, m0, m1

    def mse(ell):
        return _half_line_mse(ell, _midpoints(ell), distribution, point_mass, factor)

    it, converged = 0, False
    for it in range(1, max_iter + 1):
        t, m0, m1 = centroid_terms(ell)
        lloyd = np.where(m0 > 0, m1 / np.where(m0 > 0, m0, 1.0), ell)   # mid-points, then centroids
        if fixed_zero:
            lloyd[0] = 0.0
        new = lloyd
        if it > 20:                                                 # (damped) Newton on ∂D/∂ℓ = 0
            p = density(t, distribution)
            g = -2 * (m1 - ell * m0)
            upper = np.append((t[1:-1] - ell[:-1]) * p[1:-1], 0.0)     # t_K = ∞ contributes 0
            diag = 2 * m0 - upper + np.append(0.0, (t[1:-1] - ell[1:]) * p[1:-1])
            off = -0.5 * np.diff(ell) * p[1:-1]
            d, o, gg = diag[free], off[1:] if fixed_zero else off, g[free]
            d_old, typical = mse(ell), float(np.mean(np.abs(d)))
            for damping in (0.0, 1e-6, 1e-4, 1e-2, 1.0, 1e2):
                ab = np.zeros((3, d.size))
                ab[0, 1:], ab[1], ab[2, :-1] = o, d + damping * typical, o
                try:
                    step = np.zeros_like(ell)
                    step[free] = solve_banded((1, 1), ab, gg)
                except np.linalg.LinAlgError:
                    continue
                if damping == 0.0 and np.max(np.abs(step)) <= tol * ell[-1]:
                    converged = True                                 # the Newton step vanishes: ∂D/∂ℓ = 0
                    break
                cand = ell - step
                if np.dot(step, g) > 0 and np.all(np.diff(cand) > 0) and cand[0] >= 0 and mse(cand) <= d_old:
                    new = cand
                    break
        if converged:
            break
        ell = new
    t = _midpoints(ell)
    return LloydMax(ell, t, _half_line_mse(ell, t, distribution, point_mass, factor), it, converged)


def panter_dite_constant(distribution: str) -> float:
    """(∫ p^{1/3} dx)³ / 12 for the unit-variance law, by quadrature."""
    distribution = check_distribution(distribution, "panter_dite_constant")
    law = {"gaussian": stats.norm(), "laplace": stats.laplace(scale=LAPLACE_SCALE),
           "uniform": stats.uniform(-UNIFORM_HALF_WIDTH, 2 * UNIFORM_HALF_WIDTH)}[distribution]
    lo, hi = (-UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH) if distribution == "uniform" else (-np.inf, np.inf)
    half = integrate.quad(lambda x: law.pdf(x) ** (1 / 3), 0.0, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
    return float((2 * half) ** 3 / 12) if lo == -hi else float("nan")


def asymptotic_check(levels=(16, 64, 256)) -> list:
    """Lloyd–Max MSE against the Panter–Dite law for the three laws (weights)."""
    from .distributions import DISTRIBUTIONS

    rows = []
    for dist in DISTRIBUTIONS:
        k = panter_dite_constant(dist)
        for n in levels:
            lm = lloyd_max(n, dist, "weight")
            rows.append({"distribution": dist, "levels": n, "mse": lm.mse, "panter_dite": k / n ** 2,
                         "ratio": lm.mse / (k / n ** 2), "iterations": lm.iterations, "converged": lm.converged})
    return rows
