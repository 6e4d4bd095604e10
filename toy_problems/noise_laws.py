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


_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SERIES_FROM = 10.0  # 1 − x R(x) by the asymptotic series from here on (module docstring)
_SERIES_TERMS = 40
_GL32_NODES, _GL32_WEIGHTS = np.polynomial.legendre.leggauss(32)
_T01 = 0.5 * (_GL32_NODES + 1.0)  # Gauss–Legendre nodes and weights on (0, 1)
_W01 = 0.5 * _GL32_WEIGHTS
_SMOOTH = 4.0  # quadrature when the log of the integrand varies by at most this on the cell


def _log_one_minus_x_mills(x: np.ndarray) -> np.ndarray:
    """log(1 − x R(x)) for x ≥ 0, R(x) = Φ̄(x)/φ(x) = √(π/2) erfcx(x/√2) the Mills ratio.

    1 − x R(x) = ∫_0^∞ s e^{−xs − s²/2} ds ∈ (0, 1]. Below x = 10 directly (the subtraction
    loses at most log10(x²) ≈ 2 digits); from x = 10 by the asymptotic series
    1 − x R(x) = Σ_{k≥1} (−1)^{k+1} (2k − 1)!! / x^{2k}, alternating, so its 40-term truncation
    error is below the first omitted term relative to the first, 81!!/x^80 ≤ 6e-20 there."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    near = x < _SERIES_FROM
    xn = x[near]
    out[near] = np.log1p(-xn * np.sqrt(np.pi / 2.0) * special.erfcx(xn / np.sqrt(2.0)))
    xf = x[~near]
    with np.errstate(over="ignore", under="ignore"):
        inv2 = 1.0 / (xf * xf)
        term = np.ones_like(xf)  # (2k − 1)!!/x^{2k−2}, k = 1
        total = np.zeros_like(xf)
        for k in range(1, _SERIES_TERMS + 1):
            total += (-1) ** (k + 1) * term
            term = term * (2 * k + 1) * inv2
        out[~near] = np.log(total) + np.log(inv2)  # Σ (−1)^{k+1}(2k−1)!!/x^{2k} = inv2 · total
    return out


class GaussianNoise:
    """ξ ~ N(0, 1); J(b) = b Φ(b) + φ(b) in closed form, with its tail in log space.

    For b < 0, J(b) = φ(b)(1 − |b| R(|b|)) (R the Mills ratio) is evaluated as
    log J(b) = −b²/2 − log √(2π) + log(1 − |b| R(|b|)), which keeps every digit however deep
    the tail (b Φ(b) + φ(b) cancels: at b = −30 it is off by 5e-11 relative, at b = −38 by a factor 1400);
    for b ≥ 0, J(b) = b + J(−b), a sum of positives.

    The transition probabilities of the SR chain are computed here from these tails, with the
    symmetry ξ ~ −ξ: :meth:`log_hat` gives log E[Λ(d + cξ)] and :meth:`log_clip` gives
    log E[clip(e + cξ, 0, 1)], both accurate to ~1e-13 relative down to 1e-300 (checked against
    mpmath for 0.02 ≤ c ≤ 100 in tests/toy_problems/test_noise_laws.py; their docstrings say why).
    """

    name = "N(0, 1)"
    symmetric = True

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        return rng.standard_normal(shape)

    @staticmethod
    def log_tail_ramp(x) -> np.ndarray:
        """log J(−x) = log E[(ξ − x)⁺] for x ≥ 0 (−inf where it underflows even as a log)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore"):
            return -0.5 * x * x - _LOG_SQRT_2PI + _log_one_minus_x_mills(x)

    def log_ramp(self, b) -> np.ndarray:
        """log J(b) for every real b (J > 0 everywhere)."""
        b = np.asarray(b, dtype=np.float64)
        tail = self.log_tail_ramp(np.abs(b))
        with np.errstate(divide="ignore"):
            return np.where(b < 0, tail, np.logaddexp(np.log(np.maximum(b, 0.0)), tail))

    def ramp(self, b) -> np.ndarray:
        """J(b) = E[(b − ξ)⁺] = b Φ(b) + φ(b), relative accuracy ~1e-15 for every b."""
        b = np.asarray(b, dtype=np.float64)
        with np.errstate(under="ignore"):
            return np.maximum(b, 0.0) + np.exp(self.log_tail_ramp(np.abs(b)))

    def log_hat(self, d, c: float) -> np.ndarray:
        """log E[Λ(d + cξ)], Λ(s) = (1 − |s|)⁺: the probability that SR sends a value at
        distance d (grid units) from a grid point, blurred by Gaussian noise of scale c, to it.

        Two forms, each free of damaging cancellation where it is used, with V = (2|d| + 1)/(2c²)
        the variation of log φ((d + s)/c) over the cell s ∈ [−1, 1]:

        * V ≤ 4 (smooth): E[Λ(d + cξ)] = ∫_{−1}^{1} (1 − |s|) φ((d + s)/c)/c ds
          = φ(d/c)/c · ∫_{−1}^{1} (1 − |s|) e^{−(2ds + s²)/(2c²)} ds, a positive integrand,
          32-point Gauss–Legendre on each half;
        * V > 4: with J̄(x) = J(−x) the tail ramp, Λ(s) = (s + 1)⁺ − 2 s⁺ + (s − 1)⁺ and
          J(b) = b⁺ + J̄(|b|): for |d| ≥ 1, c J̄((|d| − 1)/c) (1 − 2 r₁ + r₂) with
          r_k = J̄((|d| − 1 + k)/c)/J̄((|d| − 1)/c) taken from the logs (V > 4 keeps r₁
          well below 1, so 1 − 2r₁ + r₂ loses at most a digit); for |d| < 1,
          Λ(d) − 2cJ̄(|d|/c) + cJ̄((1 − |d|)/c) + cJ̄((1 + |d|)/c) (here c < 0.61 and the positive
          terms dominate the subtracted one).
        """
        d = np.abs(np.asarray(d, dtype=np.float64))
        c = float(c)
        out = np.empty_like(d)
        with np.errstate(over="ignore", divide="ignore", under="ignore", invalid="ignore"):
            smooth = (2.0 * d + 1.0) / (2.0 * c * c) <= _SMOOTH
            ds = d[smooth][:, None]
            if ds.size:
                s = _T01[None, :]  # both halves: s ∈ (0, 1) and −s
                inner = (1.0 - s) * (np.exp(-(2.0 * ds * s + s * s) / (2 * c * c)) + np.exp(-(-2.0 * ds * s + s * s) / (2 * c * c)))
                out[smooth] = (-0.5 * (ds[:, 0] / c) ** 2 - _LOG_SQRT_2PI - np.log(c)) + np.log(inner @ _W01)
            far = ~smooth & (d >= 1.0)
            df = d[far]
            l0 = self.log_tail_ramp((df - 1.0) / c)
            r1 = np.exp(self.log_tail_ramp(df / c) - l0)
            r2 = np.exp(self.log_tail_ramp((df + 1.0) / c) - l0)
            out[far] = np.where(np.isfinite(l0), np.log(c) + l0 + np.log(1.0 - 2.0 * r1 + r2), -np.inf)
            near = ~smooth & (d < 1.0)
            dn = d[near]
            jt = lambda x: np.exp(self.log_tail_ramp(x))  # noqa: E731
            out[near] = np.log((1.0 - dn) - 2.0 * c * jt(dn / c) + c * jt((1.0 - dn) / c) + c * jt((1.0 + dn) / c))
        return out

    def log_clip(self, e, c: float) -> np.ndarray:
        """log E[clip(e + cξ, 0, 1)]: the probability that SR sends a value at e (grid units,
        measured from one step inside the end of the grid) to the end point.

        e ≥ 1: log(1 − q(1 − e)) (symmetry: clip(e + cξ, 0, 1) = 1 − clip(1 − e − cξ, 0, 1));
        0 < e < 1: e + cJ̄(e/c) − cJ̄((1 − e)/c), of order min(e, 1 − e) + c, no cancellation;
        e ≤ 0 (the tail), V = (2|e| + 1)/(2c²): V ≤ 4, ∫_0^1 Φ̄((s + |e|)/c) ds by 32-point
        Gauss–Legendre with log Φ̄ from ``log_ndtr``; V > 4, cJ̄(|e|/c)(1 − r) with
        r = J̄((|e| + 1)/c)/J̄(|e|/c) ≤ e^{−3.5}.
        """
        e = np.asarray(e, dtype=np.float64)
        c = float(c)
        out = np.empty_like(e)
        upper = e >= 1.0
        mid = (e > 0.0) & ~upper
        low = e <= 0.0
        with np.errstate(over="ignore", divide="ignore", under="ignore", invalid="ignore"):
            out[low] = self._log_clip_tail(-e[low], c)
            out[upper] = np.log1p(-np.exp(self._log_clip_tail(e[upper] - 1.0, c)))
            em = e[mid]
            jt = lambda x: np.exp(self.log_tail_ramp(x))  # noqa: E731
            out[mid] = np.log(em + c * jt(em / c) - c * jt((1.0 - em) / c))
        return out

    def _log_clip_tail(self, x, c):
        """log E[clip(cξ − x, 0, 1)] for x ≥ 0 (see :meth:`log_clip`)."""
        out = np.empty_like(x)
        smooth = (2.0 * x + 1.0) / (2.0 * c * c) <= _SMOOTH
        xs = x[smooth][:, None]
        if xs.size:
            l0 = special.log_ndtr(-xs[:, 0] / c)
            vals = np.exp(special.log_ndtr(-(xs + _T01[None, :]) / c) - l0[:, None])
            out[smooth] = l0 + np.log(vals @ _W01)
        xf = x[~smooth]
        l0 = self.log_tail_ramp(xf / c)
        r = np.exp(self.log_tail_ramp((xf + 1.0) / c) - l0)
        with np.errstate(invalid="ignore"):
            out[~smooth] = np.where(np.isfinite(l0), np.log(c) + l0 + np.log1p(-r), -np.inf)
        return out

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
