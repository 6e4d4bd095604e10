"""Laws of the unit gradient noise ξ in g(w) = f′(w) + σ ξ, with the one integral the Markov
chain of stochastic rounding needs.

A noise law provides

* ``sample(rng, shape)`` — independent draws of ξ, and
* ``ramp(b)`` — the integrated CDF  J(b) = E[(b − ξ)⁺] = ∫_{−∞}^{b} F(z) dz.

Why J: stochastic rounding sends a real v to the grid point n (grid units) with probability
Λ(v − n), Λ(u) = max(0, 1 − |u|) the hat function, and Λ is the second difference of the ramp:
Λ(u − n) = (u − n + 1)⁺ − 2(u − n)⁺ + (u − n − 1)⁺. So every transition probability of the
chain is a second difference of E[(u − a)⁺], and for u = μ − cξ (c > 0),

    E[(u − a)⁺] = c · E[((μ − a)/c − ξ)⁺] = c · J((μ − a)/c).

For ξ ~ N(0, 1) the ramp has the closed form J(b) = b Φ(b) + φ(b). For any other law (a frozen
``scipy.stats`` continuous distribution with mean 0) it is computed by quadrature on the
probability scale: with P = F(b),

    J(b) = ∫_0^P (b − F⁻¹(p)) dp                       (b at or below the median), and
    J(b) = b + ∫_P^1 (F⁻¹(p) − b) dp                   (above the median; uses E[ξ] = 0),

each with the substitution p = P s² (resp. 1 − p = (1 − P) s²) that tames the tail
singularity of F⁻¹, and Gauss–Legendre nodes in s. The mean must be 0 so that the stochastic
gradient is unbiased; it also makes K(b) = E[(ξ − b)⁺] = J(b) − b.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["GaussianNoise", "ScipyNoise", "as_noise_law"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(200)
_S = 0.5 * (_GL_NODES + 1.0)  # nodes on (0, 1)
_W = 0.5 * _GL_WEIGHTS


class GaussianNoise:
    """ξ ~ N(0, 1); J(b) = b Φ(b) + φ(b) in closed form."""

    name = "N(0, 1)"

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        return rng.standard_normal(shape)

    def ramp(self, b) -> np.ndarray:
        b = np.asarray(b, dtype=np.float64)
        with np.errstate(over="ignore"):  # b² overflows only where φ(b) underflows to 0 anyway
            return b * special.ndtr(b) + np.exp(-0.5 * b * b) / np.sqrt(2.0 * np.pi)

    def __repr__(self) -> str:
        return "GaussianNoise()"


class ScipyNoise:
    """ξ with the law of a frozen ``scipy.stats`` continuous distribution of mean 0 (e.g.
    ``scipy.stats.laplace(scale=1/np.sqrt(2))`` or ``scipy.stats.t(df=5)``); J by quadrature."""

    def __init__(self, dist, name: str | None = None):
        for attr in ("rvs", "cdf", "ppf", "mean"):
            if not hasattr(dist, attr):
                raise TypeError(f"ScipyNoise: dist must be a frozen scipy.stats distribution, got {dist!r}")
        mean = float(dist.mean())
        if not np.isfinite(mean) or abs(mean) > 1e-9:
            raise ValueError(f"ScipyNoise: the noise law must have mean 0 (unbiased gradients), got mean {mean!r}")
        self.dist = dist
        self.name = name or f"{dist.dist.name}{dist.args}{dist.kwds or ''}"

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        return np.asarray(self.dist.rvs(size=shape, random_state=rng), dtype=np.float64)

    def ramp(self, b) -> np.ndarray:
        b = np.asarray(b, dtype=np.float64)
        flat = b.reshape(-1, 1)
        p = self.dist.cdf(flat)
        low = flat <= self.dist.median()
        # lower branch: ∫_0^P (b − F⁻¹(p)) dp, p = P s², dp = 2 P s ds
        pl = np.maximum(p, 1e-300) * _S**2
        lower = np.sum(_W * 2.0 * p * _S * np.maximum(flat - self.dist.ppf(pl), 0.0), axis=1)
        # upper branch: b + ∫_P^1 (F⁻¹(p) − b) dp, 1 − p = (1 − P) s²
        tail = self.dist.sf(flat)
        qu = np.maximum(tail, 1e-300) * _S**2
        upper = flat[:, 0] + np.sum(_W * 2.0 * tail * _S * np.maximum(self.dist.isf(qu) - flat, 0.0), axis=1)
        return np.where(low[:, 0], lower, upper).reshape(b.shape)

    def __repr__(self) -> str:
        return f"ScipyNoise({self.name})"


def as_noise_law(noise, where: str = "noise"):
    """``None`` → standard Gaussian; a noise law passes through; a frozen scipy distribution is
    wrapped in :class:`ScipyNoise`."""
    if noise is None:
        return GaussianNoise()
    if isinstance(noise, (GaussianNoise, ScipyNoise)):
        return noise
    if hasattr(noise, "sample") and hasattr(noise, "ramp"):
        return noise
    if hasattr(noise, "rvs") and hasattr(noise, "ppf"):
        return ScipyNoise(noise)
    raise TypeError(f"{where}: noise must be None, a noise law or a frozen scipy.stats distribution, got {noise!r}")
