"""Unit-variance, zero-mean symmetric input laws for the quantizer theory (seed 003, §4.2), given by
their upper partial moments on the half-line.

For x ≥ 0 and k = 0, 1, 2 each law provides

    G_k(x) = ∫_x^∞ t^k p(t) dt          (G_k(∞) = 0)

from which every cell integral on [a, b] ⊂ [0, ∞] is M_k(a, b) = G_k(a) − G_k(b) — differences of
small positive numbers in the tail, never of numbers close to 1. The three laws, each with
variance 1 (so E[X²] = 2 G_2(0) = 1):

* ``gaussian``: p = φ;  G_0 = Q(x), G_1 = φ(x), G_2 = Q(x) + xφ(x)  (Q = 1 − Φ;
  :func:`tinyquant.quant.functional.gaussian_upper_moments`, which the framework's step solver uses)
* ``laplace``:  p = e^{−|x|/s}/(2s), s = 1/√2;  G_0 = ½e^{−x/s}, G_1 = ½(x + s)e^{−x/s},
  G_2 = ½(x² + 2sx + 2s²)e^{−x/s}
* ``uniform``:  p = 1/(2c) on [−c, c], c = √3;  G_0 = (c − x)/(2c), G_1 = (c² − x²)/(4c),
  G_2 = (c³ − x³)/(6c) for x ≤ c, 0 beyond.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from tinyquant.quant.functional import gaussian_upper_moments, inverse_mills_ratio

__all__ = ["DISTRIBUTIONS", "MOMENTS", "upper_moments", "cell_moments", "tail_mean", "density",
           "check_distribution", "sample"]

DISTRIBUTIONS = ("gaussian", "laplace", "uniform")
LAPLACE_SCALE = 1.0 / np.sqrt(2.0)
UNIFORM_HALF_WIDTH = np.sqrt(3.0)


def check_distribution(distribution, where: str) -> str:
    if not isinstance(distribution, str):
        raise TypeError(f"{where}: distribution must be a string, one of {list(DISTRIBUTIONS)}, got {distribution!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"{where}: unknown distribution {distribution!r}; expected one of {list(DISTRIBUTIONS)}")
    return distribution


def _finite_part(moments):
    """Wrap (G_0, G_1, G_2) written for finite x so that G_k(∞) = 0."""
    def wrapped(x):
        x = np.asarray(x, dtype=np.float64)
        fin = np.isfinite(x)
        return tuple(np.where(fin, gk, 0.0) for gk in moments(np.where(fin, x, 0.0)))
    wrapped.__doc__ = moments.__doc__
    return wrapped


@_finite_part
def laplace_upper_moments(x):
    """(G_0, G_1, G_2) of the unit-variance Laplace law, x ≥ 0."""
    s = LAPLACE_SCALE
    e = 0.5 * np.exp(-x / s)
    return e, (x + s) * e, (x * x + 2 * s * x + 2 * s * s) * e


@_finite_part
def uniform_upper_moments(x):
    """(G_0, G_1, G_2) of the unit-variance uniform law on [−√3, √3], x ≥ 0."""
    c = UNIFORM_HALF_WIDTH
    xc = np.minimum(x, c)
    return (c - xc) / (2 * c), (c * c - xc * xc) / (4 * c), (c ** 3 - xc ** 3) / (6 * c)


#: distribution name -> its (G_0, G_1, G_2); what :mod:`tinyquant.quant.functional`'s solvers take
MOMENTS = {"gaussian": gaussian_upper_moments, "laplace": laplace_upper_moments, "uniform": uniform_upper_moments}


def upper_moments(x, distribution: str):
    """(G_0, G_1, G_2) at x ≥ 0 (arrays; x may contain +inf)."""
    if distribution not in MOMENTS:
        raise ValueError(f"upper_moments: unknown distribution {distribution!r}; expected one of {list(DISTRIBUTIONS)}")
    return MOMENTS[distribution](x)


def tail_mean(x, distribution: str) -> np.ndarray:
    """E[X | X > x] = G_1(x)/G_0(x) for x ≥ 0, in a form that never divides two underflowed tails:
    λ(x) (the inverse Mills ratio) for the Gaussian, x + s for the Laplace law, (x + c)/2 for the
    uniform one (c, its end point, for x ≥ c where the tail is empty: the limit)."""
    x = np.asarray(x, dtype=np.float64)
    if distribution == "gaussian":
        return inverse_mills_ratio(x)
    if distribution == "laplace":
        return x + LAPLACE_SCALE
    if distribution == "uniform":
        return (np.minimum(x, UNIFORM_HALF_WIDTH) + UNIFORM_HALF_WIDTH) / 2
    raise ValueError(f"tail_mean: unknown distribution {distribution!r}; expected one of {list(DISTRIBUTIONS)}")


def density(x, distribution: str) -> np.ndarray:
    """p(x) of the unit-variance law (x may contain ±inf, where p = 0)."""
    x = np.asarray(x, dtype=np.float64)
    fin = np.isfinite(x)
    xf = np.where(fin, x, 0.0)
    if distribution == "gaussian":
        p = stats.norm.pdf(xf)
    elif distribution == "laplace":
        p = np.exp(-np.abs(xf) / LAPLACE_SCALE) / (2 * LAPLACE_SCALE)
    elif distribution == "uniform":
        p = np.where(np.abs(xf) <= UNIFORM_HALF_WIDTH, 1 / (2 * UNIFORM_HALF_WIDTH), 0.0)
    else:
        raise ValueError(f"density: unknown distribution {distribution!r}; expected one of {list(DISTRIBUTIONS)}")
    return np.where(fin, p, 0.0)


def cell_moments(a, b, distribution: str):
    """(M_0, M_1, M_2) = ∫_a^b t^k p(t) dt for 0 ≤ a ≤ b ≤ ∞ (arrays broadcast)."""
    ga, gb = upper_moments(a, distribution), upper_moments(b, distribution)
    return tuple(x - y for x, y in zip(ga, gb))


def sample(distribution: str, size, rng) -> np.ndarray:
    """Unit-variance samples of ``distribution`` (for Monte-Carlo checks)."""
    if distribution == "gaussian":
        return rng.standard_normal(size)
    if distribution == "laplace":
        return rng.laplace(0.0, LAPLACE_SCALE, size)
    if distribution == "uniform":
        return rng.uniform(-UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH, size)
    raise ValueError(f"sample: unknown distribution {distribution!r}; expected one of {list(DISTRIBUTIONS)}")
