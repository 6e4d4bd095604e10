"""The pure NumPy math of the quantizers, written once (no autograd, no state, no validation).

The quantizer classes (:mod:`.binary`, :mod:`.ternary`, :mod:`.uniform`), the diagnostics and the
theory sandbox (``toy_problems``) all call these functions; nothing here imports either of them.
Arguments broadcast: a step of shape (C, 1, 1, 1) gives one step per output channel.

Conventions
    sign(x) = +1 for x ≥ 0, −1 otherwise: a binary weight is never 0 (seed 004, eq. 1).
    Tern(w; μ, δ) = +1 if w > μ + δ, −1 if w < μ − δ, 0 otherwise (seed 001, eq. 11).
    ⌊·⌉ rounds to the nearest integer with ties to even (``np.round``; the papers leave ties
    unspecified, they have probability zero for continuous inputs).

Staircases (seed 003, §4.1), N levels, step Δ, clip_N(u) = min(max(u, 0), N − 1)
    Q_w(x) = ⌊clip_N((x + α)/Δ)⌉·Δ − α,  α = Δ(N − 1)/2                 (seed 003, eq. 3)
    Q_a(x) = ⌊clip_N(x/Δ)⌉·Δ                                            (seed 003, eq. 5)
    LSQ:  Q(x) = ⌊clip(x/s, −Q_n, Q_p)⌉·s,  s₀ = 2·E|x|/√Q_p       (Esser et al. 2019, eqs. 1–2, §2.1)

MSE-optimal unit steps (seed 003, eqs. 7–10, Table 1), from the upper partial moments
G_k(x) = ∫_x^∞ t^k p(t) dt of a unit-variance symmetric law (Gaussian by default):
    D(Δ) = factor · Σ_cells ∫_cell (x − c_jΔ)² p(x) dx                  (eq. 7)
    dD/dΔ = −factor · Σ_j 2c_j ∫_cell_j (x − c_jΔ) p(x) dx              (eq. 8, every N)
    Δ_w = Δᵤ·Std(w) (eq. 9),   Δ_a = Δᵤ_a·√(2E[x²]) (eq. 10)

SQNR = 10·log10(Var(x)/MSE): the definition that reproduces seed 003's Table 1.

Truncated Gaussian (seed 001, eqs. 5–7): S(μ, σ, δ) = μ + σλ(δ/σ), λ the inverse Mills ratio,
∂S/∂δ = λ′(δ/σ) = λ(λ − α); see :func:`inverse_mills_ratio` and :func:`inverse_mills_ratio_grad`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import optimize, special

SIGNALS = ("weight", "activation")

# ------------------------------------------------------------------ sign and ternarization


def sign(x):
    """sign(x) with sign(0) = +1, in x's dtype (seed 004, eq. 1: x_b = +1 if x ≥ 0)."""
    x = np.asarray(x)
    return np.where(x >= 0, 1, -1).astype(x.dtype if x.dtype.kind == "f" else np.int64)


def ternarize(w, delta, mu=0.0):
    """Tern(w; μ, δ) ∈ {−1, 0, +1}: +1 above μ + δ, −1 below μ − δ (seed 001, eq. 11), in w's dtype.
    TWN (μ = 0, δ = 0.7·E|w|) and TTQ (μ = 0, δ = t·max|w|) are the same rule."""
    w = np.asarray(w)
    return (w > mu + delta).astype(w.dtype) - (w < mu - delta).astype(w.dtype)


# ------------------------------------------------------------------ staircases


def weight_index(x, step, levels):
    """k = ⌊clip_N((x + α)/Δ)⌉ ∈ {0, …, N − 1}, α = Δ(N − 1)/2: the cell of Q_w (seed 003, eq. 3)."""
    return np.round(np.clip((x + step * (levels - 1) / 2) / step, 0, levels - 1))


def weight_level(k, step, levels):
    """The level of cell k of Q_w: k·Δ − α (seed 003, eq. 3) = q̂_w·Δ/2, q̂_w = 2k − N + 1 (eq. 4)."""
    return k * step - step * (levels - 1) / 2


def quantize_weight(x, step, levels):
    """Q_w(x) = ⌊clip_N((x + α)/Δ)⌉·Δ − α, α = Δ(N − 1)/2 (seed 003, eq. 3)."""
    return weight_level(weight_index(x, step, levels), step, levels)


def activation_index(x, step, levels):
    """k = ⌊clip_N(x/Δ)⌉ ∈ {0, …, N − 1}: the cell of Q_a (seed 003, eq. 5)."""
    return np.round(np.clip(x / step, 0, levels - 1))


def quantize_activation(x, step, levels):
    """Q_a(x) = ⌊clip_N(x/Δ)⌉·Δ (seed 003, eq. 5); negative inputs map to 0 like their ReLU."""
    return activation_index(x, step, levels) * step


def lsq_bounds(bits: int, signed: bool) -> tuple[int, int]:
    """(Q_n, Q_p): (2^(b−1), 2^(b−1) − 1) for signed data (weights), (0, 2^b − 1) unsigned."""
    return (2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def lsq_index(x, step, qn, qp):
    """⌊clip(x/s, −Q_n, Q_p)⌉ (LSQ, Esser et al. 2019, eq. 1)."""
    return np.round(np.clip(x / step, -qn, qp))


def lsq_init_step(mean_abs, qp):
    """LSQ's initial step 2·E|x|/√Q_p (Esser et al. 2019, §2.1; seed 003, §5.2 and Table 5)."""
    return 2 * mean_abs / math.sqrt(qp)


# ------------------------------------------------------------------ SQNR


def sqnr_db(variance, mse):
    """10·log10(Var(x)/MSE): seed 003's SQNR (Table 1); inf where the MSE is 0."""
    variance, mse = np.asarray(variance, dtype=np.float64), np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mse == 0, np.inf, 10 * np.log10(variance / mse))


def empirical_sqnr_db(x, q) -> float:
    """10·log10(Var(x)/mean((x − q)²)) on samples: :func:`sqnr_db` of the sample moments."""
    x = np.asarray(x, dtype=np.float64)
    return float(sqnr_db(np.var(x), np.mean((x - q) ** 2)))


# ------------------------------------------------------------------ optimal unit steps


def gaussian_upper_moments(x):
    """(G_0, G_1, G_2)(x) = (Q(x), φ(x), Q(x) + xφ(x)) for the standard normal, x ≥ 0 (may be inf)."""
    x = np.asarray(x, dtype=np.float64)
    fin = np.isfinite(x)
    xf = np.where(fin, x, 0.0)
    q = special.ndtr(-xf)                                   # Q(x) = 1 − Φ(x), no cancellation
    ph = np.exp(-xf * xf / 2) / math.sqrt(2 * math.pi)
    return tuple(np.where(fin, g, 0.0) for g in (q, ph, q + xf * ph))


@functools.lru_cache(maxsize=None)
def staircase_cells(levels: int, signal: str):
    """(lower, upper, level, factor): the cells of the half-line x ≥ 0 in units of Δ and the
    symmetry factor (2 for Q_w, whose error is even in x; 1 for Q_a on ReLU inputs)."""
    if signal == "weight" and levels % 2 == 0:
        lo = np.arange(levels // 2, dtype=float)            # [0, 1, …, N/2 − 1]
        return lo, np.append(lo[1:], np.inf), lo + 0.5, 2.0  # levels ½, 3/2, …
    # odd-N weights (levels 0, 1, …, (N − 1)/2 on the half-line) and activations (0, …, N − 1)
    c = np.arange(levels // 2 + 1 if signal == "weight" else levels, dtype=float)
    return np.maximum(c - 0.5, 0.0), np.append(c[1:] - 0.5, np.inf), c, (2.0 if signal == "weight" else 1.0)


def _cell_moments(step, levels, signal, moments):
    lo, hi, c, factor = staircase_cells(levels, signal)
    s = np.asarray(step, dtype=np.float64)[..., None]
    ga, gb = moments(lo * s), moments(hi * s)
    return [a - b for a, b in zip(ga, gb)], c * s, c, factor


def quantization_mse(step, levels: int, signal: str = "weight", moments=gaussian_upper_moments):
    """D(Δ) = E[(x − Q(x))²] of Q_w (``signal="weight"``) or of Q_a on ReLU(x) (seed 003, eq. 7)
    for the unit law of ``moments``; the zeros of the ReLU are reproduced exactly."""
    (m0, m1, m2), ell, _, factor = _cell_moments(step, levels, signal, moments)
    return factor * np.sum(m2 - 2 * ell * m1 + ell * ell * m0, axis=-1)


def quantization_mse_grad(step, levels: int, signal: str = "weight", moments=gaussian_upper_moments):
    """dD/dΔ (seed 003, eq. 8, for every N): the error is continuous at the mid-point decision
    levels, so the Leibniz boundary terms cancel and only ∂(x − c_jΔ)²/∂Δ remains."""
    (m0, m1, _), ell, c, factor = _cell_moments(step, levels, signal, moments)
    return -factor * np.sum(2 * c * (m1 - ell * m0), axis=-1)


@functools.lru_cache(maxsize=None)
def optimal_unit_step(levels: int, signal: str = "weight", moments=gaussian_upper_moments) -> float:
    """Δᵤ(N), the MSE-optimal step for the unit input (seed 003, eqs. 7–8, Table 1): zero mean and
    unit variance for weights (Δ_w = Δᵤ·Std(w), eq. 9); ReLU of a unit-variance pre-activation for
    activations (Δ_a = Δᵤ_a·√(2E[x²]), eq. 10). Bracketed on a grid, then Brent's method on eq. 8."""
    grid = np.geomspace(0.5, 80.0, 600) / levels
    i = int(np.argmin(quantization_mse(grid, levels, signal, moments)))
    if i == 0 or i == grid.size - 1:  # pragma: no cover - the grid covers every unit law
        raise RuntimeError(f"optimal_unit_step: minimum not bracketed for N = {levels}, {signal}")
    f = lambda s: float(quantization_mse_grad(s, levels, signal, moments))  # noqa: E731
    return float(optimize.brentq(f, grid[i - 1], grid[i + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps))


def unit_signal_variance(signal: str = "weight", moments=gaussian_upper_moments) -> float:
    """Var of the quantizer's input for the unit law: 1 (weights), Var(ReLU(X)) (activations)."""
    if signal == "weight":
        return 1.0
    _, g1, g2 = moments(0.0)
    return float(g2 - g1 * g1)


# ------------------------------------------------------------------ truncated Gaussian


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def inverse_mills_ratio(a):
    """λ(a) = φ(a)/(1 − Φ(a)) = √(2/π)/erfcx(a/√2), the mean of N(0, 1) truncated to (a, ∞).

    erfcx(z) = e^{z²}·erfc(z) and 1 − Φ(a) = erfc(a/√2)/2, so the factor e^{−a²/2} cancels
    analytically: accurate to a few ulp for every a, where φ/(1 − Φ) is inf beyond a ≈ 8.3
    and φ/Q is 0/0 beyond a ≈ 38 (for a → −∞ erfcx overflows to inf and λ → 0, the limit).
    """
    with np.errstate(over="ignore"):
        return _SQRT_2_OVER_PI / special.erfcx(np.asarray(a, dtype=np.float64) / math.sqrt(2))


_CF_FROM, _CF_TERMS = 3.0, 50   # measured against mpmath: relative error < 3e-15 for every a ≥ 3


def _lambda_minus_a(a):
    """λ(a) − a for a ≥ 3 without cancellation, from Laplace's continued fraction of the Mills
    ratio Q/φ = 1/(a + 1/(a + 2/(a + 3/(a + …)))), i.e. λ = a + 1/(a + 2/(a + 3/(a + …))):
        λ(a) − a = 1/(a + 2/(a + 3/(a + … + K/a)))          (K = 50 terms, evaluated inside out)
    whose large-a expansion is the asymptotic series λ − a = 1/a − 2/a³ + 10/a⁵ − 74/a⁷ + …"""
    t = a.copy()
    for k in range(_CF_TERMS, 1, -1):
        t = a + k / t
    return 1 / t


def inverse_mills_ratio_grad(a):
    """λ′(a) = λ(a)(λ(a) − a) (φ′ = −aφ, d(1 − Φ)/da = −φ); in (0, 1), → 1 − 1/a² + 6/a⁴ − … as a → ∞.

    λ − a subtracts two numbers ≈ a: written literally it loses a factor a² of relative precision
    (3e-8 at a = 1e4, 2.4 % at 1e7, the wrong sign at 1e8). For a ≥ 3 it comes from the continued
    fraction of :func:`_lambda_minus_a` instead, accurate to a few ulp up to a = 1e300.
    """
    a = np.asarray(a, dtype=np.float64)
    lam = inverse_mills_ratio(a)
    far = a >= _CF_FROM
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = _lambda_minus_a(np.where(far, a, _CF_FROM))
    return lam * np.where(far, tail, lam - a)


CLIP_SIGMAS = 3.0  # seed 001, eq. 9: the trainable δ is clipped into (0, 3σ)


def clip_threshold(delta, sigma):
    """δᶜ = hardtanh(|δ|, 0, 3σ) = min(|δ|, 3σ) (seed 001, eqs. 8–9)."""
    return np.clip(np.abs(delta), 0.0, CLIP_SIGMAS * np.asarray(sigma))


def clip_threshold_grad(delta, sigma):
    """∂δᶜ/∂δ = sign(δ)·1[|δ| < 3σ], with sign(0) = 0 here (a subgradient of |δ|, as PyTorch's
    hardtanh backward): 0 at δ = 0 and on the clipped plateau."""
    return np.sign(delta) * (np.abs(delta) < CLIP_SIGMAS * np.asarray(sigma))


def truncated_gaussian_scale(mu, sigma, delta):
    """S(μ, σ, δ) = μ + σ·λ(δ/σ), the mean of N(μ, σ²) truncated to (μ + δ, ∞) (seed 001, eq. 7)."""
    return mu + sigma * inverse_mills_ratio(np.asarray(delta, dtype=np.float64) / sigma)


def truncated_gaussian_scale_grad(mu, sigma, delta):
    """∂S/∂δ = λ′(δ/σ) = λ(α)(λ(α) − α), α = δ/σ (d/dδ of σλ(δ/σ)); independent of μ."""
    g = inverse_mills_ratio_grad(np.asarray(delta, dtype=np.float64) / sigma)
    return np.broadcast_to(g, np.broadcast_shapes(np.shape(mu), np.shape(sigma), np.shape(delta))).copy()


__all__ = ["SIGNALS", "sign", "ternarize", "weight_index", "weight_level", "quantize_weight", "activation_index",
           "quantize_activation", "lsq_bounds", "lsq_index", "lsq_init_step", "sqnr_db",
           "empirical_sqnr_db", "gaussian_upper_moments", "staircase_cells", "quantization_mse",
           "quantization_mse_grad", "optimal_unit_step", "unit_signal_variance",
           "inverse_mills_ratio", "inverse_mills_ratio_grad", "CLIP_SIGMAS", "clip_threshold",
           "clip_threshold_grad", "truncated_gaussian_scale",
           "truncated_gaussian_scale_grad"]
