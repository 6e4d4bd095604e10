"""Stochastic rounding as a Markov chain on the grid (seed 002 §5.2, Theorems 5–6, Figure 3).

Convention: every matrix here is **row-stochastic**: ``T[i, j]`` is the probability of moving
from grid point i to grid point j, rows sum to 1, and a stationary distribution is a row
vector π with π T = π. (Appendix F of the seed writes T(x, y) for x → y but fills the
diagonal with ``diag(1ᵀU)`` "so that every column sums to 1"; that is the column-stochastic
convention of the transpose. We use rows throughout.)

Exact chain T_α (1-D, grid spacing Δ, states x_i = grid[i]). From x_i, SR computes
v = x_i − α g with g = f′(x_i) + σ ξ and rounds stochastically. In grid units
u = (v − grid[0])/Δ = μ_i − c ξ with μ_i = i − (α/Δ) f′(x_i) and c = ασ/Δ. Qs sends u to the
integer j with probability Λ(u − j), Λ(s) = max(0, 1 − |s|) the hat function, and
Λ(s) = (s + 1)⁺ − 2 s⁺ + (s − 1)⁺, so with G_i(a) = E[(u − a)⁺] = c · J((μ_i − a)/c)
(J the noise law's ramp, see :mod:`toy_problems.noise_laws`; G_i(a) = (μ_i − a)⁺ if σ = 0):

    T_α[i, j]     = G_i(j − 1) − 2 G_i(j) + G_i(j + 1)       0 < j < K − 1
    T_α[i, 0]     = Σ_{j ≤ 0} (…)   = G_i(1) − G_i(0) + 1    (mass below the grid → first point)
    T_α[i, K − 1] = Σ_{j ≥ K−1} (…) = G_i(K − 2) − G_i(K − 1)  (mass above → last point)

(the sums telescope because G_i(a) − G_i(a − 1) → −1 as a → −∞ and → 0 as a → +∞).
For Gaussian noise J(b) = b Φ(b) + φ(b), a closed form through the normal CDF; for other
laws J comes from quadrature.

Limit chain of Theorem 5, derived from the SR update (not transcribed). From x_i the relative
move is s = −α g/Δ. The probability of landing one step up is
E[Λ(s − 1)] = E[s⁺] − 2 E[(s − 1)⁺] + E[(s − 2)⁺], and the last two terms need |α g| > Δ, so
they vanish faster than α under the tail assumption of Theorem 5. Hence

    T_α[i, i+1] = α Ũ[i, i+1] + o(α),   Ũ[i, i+1] = E[(−g_i)⁺] / Δ = ∫_{−∞}^0 |z| p_i(z) dz / Δ
    T_α[i, i−1] = α Ũ[i, i−1] + o(α),   Ũ[i, i−1] = E[(g_i)⁺] / Δ  = ∫_0^∞  z  p_i(z) dz / Δ

with p_i the law of g at x_i: an **up** move is driven by **negative** gradients (SGD moves
against the gradient). The seed prints Ũ(x, x + Δ) = ∫_0^∞ p(z) z/Δ dz and
Ũ(x, x − Δ) = ∫_{−∞}^0 p(z) z/Δ dz: the two are swapped (they hold if p is read as the law of
the perturbation −∇f̃, as in Figure 1) and the second is ≤ 0 as printed (it needs |z|).
For Gaussian g ~ N(m, σ²): E[(−g)⁺] = σ J(−m/σ), E[g⁺] = σ J(−m/σ) + m. Moves that would
leave the grid are dropped (they become self-loops, as in T_α). Then

    T̃_α = I − α diag(Ũ 1) + α Ũ        (seed 002 eq. 9, in row form)

is a stochastic matrix for 0 < α ≤ α₀ = 1 / max_i (Ũ 1)_i, and T̃_α = (1 − α/α₀) I + (α/α₀) T̃_α₀
(eq. 20), so all T̃_α share one stationary distribution π̃.

Mixing time (seed 002 eq. 10): M_ε = min{M : max_i TV(T^M[i, :], π) ≤ ε}, TV(p, q) = ½ Σ|p − q|
(= max over sets A of |p(A) − q(A)|). Computed by repeated squaring and a binary descent on
the bits of M, which is valid because max_i TV(T^M[i, :], π) is non-increasing in M.
"""

from __future__ import annotations

import numpy as np

from .checks import check_domain, check_nonnegative, check_positive
from .noise_laws import as_noise_law
from .toy_1d import DELTA, DOMAIN, grad as toy_grad, grid_points

__all__ = [
    "sr_transition_matrix",
    "limit_rate_matrix",
    "printed_limit_rate_matrix",
    "limit_alpha0",
    "limit_transition_matrix",
    "stationary_distribution",
    "tv_distance",
    "mixing_time",
    "up_move_probability",
    "three_state_example",
]


def _tables(sigma, delta, domain, grad_fn, where):
    sigma = check_nonnegative("sigma", sigma, where)
    delta = check_positive("delta", delta, where)
    domain = check_domain(domain, where)
    grid = grid_points(delta, domain)
    fprime = np.asarray((grad_fn or toy_grad)(grid), dtype=np.float64)
    if fprime.shape != grid.shape or not np.all(np.isfinite(fprime)):
        raise ValueError(f"{where}: grad_fn must return finite values of shape {grid.shape}")
    return sigma, delta, grid, fprime


def sr_transition_matrix(alpha, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """Exact transition matrix T_α of SR on the grid (row-stochastic, K × K).

    ``T[i, j]`` = P(w_{t+1} = grid[j] | w_t = grid[i]) for w_{t+1} = clip(Qs(w_t − α g(w_t))),
    g = f′ + σ ξ; probability that leaves the domain goes to its end points. Closed form
    through the normal CDF for Gaussian ξ, quadrature for other laws (module docstring).
    ``grad_fn`` defaults to the toy problem's f′ (seed 002, eq. 8).
    """
    where = "sr_transition_matrix"
    alpha = check_positive("alpha", alpha, where)
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    k = grid.size
    if k == 1:
        return np.ones((1, 1))
    mu = np.arange(k) - (alpha / delta) * fprime  # mean of u in grid units
    c = alpha * sigma / delta
    a = np.arange(-1, k + 1, dtype=np.float64)  # G at a = −1 … K
    diff = mu[:, None] - a[None, :]
    if c > 0:
        with np.errstate(over="ignore", invalid="ignore"):
            b = diff / c
            G = c * law.ramp(np.where(np.isfinite(b), b, 0.0))
        # for σ so small that diff/c overflows, the ramp is its σ → 0 limit (μ − a)⁺
        G = np.where(np.isfinite(b) & np.isfinite(G), G, np.maximum(diff, 0.0))
    else:
        G = np.maximum(diff, 0.0)
    T = np.empty((k, k))
    T[:, 1:-1] = G[:, 1:-3] - 2.0 * G[:, 2:-2] + G[:, 3:-1]  # a = j − 1, j, j + 1 for j = 1 … K−2
    T[:, 0] = G[:, 2] - G[:, 1] + 1.0  # G(1) − G(0) + 1
    T[:, -1] = G[:, -3] - G[:, -2]  # G(K − 2) − G(K − 1)
    # second differences of nearly linear G cancel to ~1e-14; clip that round-off and renormalize
    np.maximum(T, 0.0, out=T)
    return T / T.sum(axis=1, keepdims=True)


def limit_rate_matrix(*, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """Ũ of Theorem 5 as derived from the SR update (module docstring): off-diagonal rates per
    unit α, Ũ[i, i+1] = E[(−g_i)⁺]/Δ, Ũ[i, i−1] = E[(g_i)⁺]/Δ, zero elsewhere and on the
    diagonal; moves off the grid are dropped."""
    where = "limit_rate_matrix"
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    k = grid.size
    if sigma > 0:
        neg_part = sigma * law.ramp(-fprime / sigma)  # E[(−g)⁺] = σ J(−m/σ)
    else:
        neg_part = np.maximum(-fprime, 0.0)
    pos_part = neg_part + fprime  # E[g⁺] = E[(−g)⁺] + E[g]
    U = np.zeros((k, k))
    i = np.arange(k - 1)
    U[i, i + 1] = neg_part[:-1] / delta
    U[i + 1, i] = np.maximum(pos_part[1:], 0.0) / delta
    return U


def printed_limit_rate_matrix(*, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None, absolute=False):
    """Ũ exactly as printed in seed 002 (Theorem 5 / Appendix F) with p the law of ∇f̃:
    Ũ(x, x+Δ) = ∫_0^∞ p(z) z/Δ dz = E[g⁺]/Δ and Ũ(x, x−Δ) = ∫_{−∞}^0 p(z) z/Δ dz = −E[(−g)⁺]/Δ
    (non-positive). With ``absolute=True`` the second entry uses |z|. Kept to measure how far
    the printed formula is from the SR chain; see the claims ledger."""
    where = "printed_limit_rate_matrix"
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    neg_part = sigma * law.ramp(-fprime / sigma) if sigma > 0 else np.maximum(-fprime, 0.0)  # E[(−g)⁺]
    pos_part = np.maximum(neg_part + fprime, 0.0)  # E[g⁺]
    k = grid.size
    U = np.zeros((k, k))
    i = np.arange(k - 1)
    U[i, i + 1] = pos_part[:-1] / delta
    U[i + 1, i] = (neg_part[1:] if absolute else -neg_part[1:]) / delta
    return U


def limit_alpha0(U) -> float:
    """α₀ = 1 / max_i Σ_j Ũ[i, j], the largest α for which T̃_α is non-negative."""
    rows = np.asarray(U).sum(axis=1)
    if rows.max() <= 0:
        return np.inf
    return 1.0 / rows.max()


def limit_transition_matrix(alpha=None, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """T̃_α = I − α diag(Ũ 1) + α Ũ (seed 002 eq. 9, row-stochastic), Ũ from
    :func:`limit_rate_matrix`. ``alpha=None`` gives T̃_α₀; α > α₀ raises (negative entries)."""
    U = limit_rate_matrix(sigma=sigma, delta=delta, domain=domain, grad_fn=grad_fn, noise=noise)
    alpha0 = limit_alpha0(U)
    if alpha is None:
        alpha = alpha0 if np.isfinite(alpha0) else 1.0
    alpha = check_positive("alpha", alpha, "limit_transition_matrix")
    if alpha > alpha0 * (1 + 1e-12):
        raise ValueError(f"limit_transition_matrix: alpha={alpha!r} exceeds alpha0={alpha0!r}; T̃ would have negative entries")
    T = alpha * U
    T[np.diag_indices_from(T)] = 1.0 - alpha * U.sum(axis=1)
    return T


def _check_stochastic(T, where) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or T.shape[0] == 0:
        raise ValueError(f"{where}: T must be a non-empty square matrix, got shape {T.shape}")
    if not np.all(np.isfinite(T)) or T.min() < -1e-12:
        raise ValueError(f"{where}: T must have finite non-negative entries (min {T.min()!r})")
    rows = T.sum(axis=1)
    if np.max(np.abs(rows - 1.0)) > 1e-9:
        raise ValueError(f"{where}: T must be row-stochastic (rows sum to 1); max |row sum − 1| = {np.max(np.abs(rows - 1)):.3g}")
    return T


def stationary_distribution(T) -> np.ndarray:
    """The unique π with π T = π, Σ π = 1, for a row-stochastic T.

    Solves πQ = 0 for the generator Q = T − I, whose diagonal is formed as minus the
    off-diagonal row sums (accurate when T ≈ I, i.e. small α), with Σπ = 1 replacing one
    equation. Raises ValueError if the stationary distribution is not unique (more than one
    closed class), detected from the second-smallest singular value of Q. This also happens
    for chains that are irreducible in exact arithmetic but whose uphill probabilities underflow
    to 0 (e.g. the toy problem's T_α with σ = Δ = 0.25).
    """
    T = _check_stochastic(T, "stationary_distribution")
    k = T.shape[0]
    if k == 1:
        return np.ones(1)
    Q = T.copy()
    np.fill_diagonal(Q, 0.0)
    np.fill_diagonal(Q, -Q.sum(axis=1))
    sv = np.linalg.svd(Q, compute_uv=False)
    if sv[-2] <= 1e-12 * sv[0]:
        raise ValueError("stationary_distribution: T has more than one stationary distribution (reducible chain)")
    A = Q.T.copy()
    A[-1, :] = 1.0
    rhs = np.zeros(k)
    rhs[-1] = 1.0
    pi = np.linalg.solve(A, rhs)
    pi = np.maximum(pi, 0.0)
    return pi / pi.sum()


def tv_distance(p, q) -> np.ndarray:
    """Total variation ½ Σ_j |p_j − q_j| along the last axis (= max over sets A of |p(A) − q(A)|)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"tv_distance: last axes differ, {p.shape} versus {q.shape}")
    return 0.5 * np.abs(p - q).sum(axis=-1)


def _worst_tv(P, pi) -> float:
    return float(tv_distance(P, pi[None, :]).max())


def mixing_time(T, eps=0.25, *, max_steps=10**12) -> int:
    """ε-mixing time in total variation, max over starting states (seed 002 eq. 10):
    the smallest M ≥ 0 with max_i TV(T^M[i, :], π) ≤ ε. T row-stochastic, 0 < ε < 1."""
    T = _check_stochastic(T, "mixing_time")
    eps = check_positive("eps", eps, "mixing_time")
    if eps >= 1:
        raise ValueError(f"mixing_time: eps must be < 1, got {eps!r}")
    pi = stationary_distribution(T)
    if _worst_tv(np.eye(T.shape[0]), pi) <= eps:
        return 0
    powers = [T]  # powers[b] = T^(2^b)
    while _worst_tv(powers[-1], pi) > eps:
        if 2 ** len(powers) > max_steps:
            raise ValueError(f"mixing_time: the chain does not mix to eps={eps} within max_steps={max_steps}")
        powers.append(powers[-1] @ powers[-1])
    # largest M with TV > eps lies in [2^(b−1), 2^b − 1], b = len(powers) − 1; find its bits
    b = len(powers) - 1
    if b == 0:
        return 1
    P, m = powers[b - 1], 2 ** (b - 1)
    for bit in range(b - 2, -1, -1):
        cand = P @ powers[bit]
        if _worst_tv(cand, pi) > eps:
            P, m = cand, m + 2**bit
    return m + 1


def up_move_probability(T) -> np.ndarray:
    """P(move up | move) from each state: Σ_{j>i} T[i, j] / (1 − T[i, i]) (nan if T[i, i] = 1).
    Seed 002 §5 argues this ratio does not depend on α for small α."""
    T = _check_stochastic(T, "up_move_probability")
    up = np.triu(T, k=1).sum(axis=1)
    off = 1.0 - np.diag(T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(off > 0, up / np.where(off > 0, off, 1.0), np.nan)


def three_state_example():
    """A 3-state chain T and its "halved" version T½ = (I + T)/2 (every off-diagonal probability
    halved, the remainder on the self-loops), as in seed 002 Figure 3. The figure's own numbers
    are not in the extracted text; these are ours. π is unchanged because
    π T½ = (π + π T)/2 = π, while mixing slows down."""
    T = np.array([
        [0.60, 0.30, 0.10],
        [0.20, 0.50, 0.30],
        [0.10, 0.20, 0.70],
    ])  # not doubly stochastic, so π is not uniform
    return T, 0.5 * (np.eye(3) + T)


def main(argv=None) -> int:
    """``python -m toy_problems.markov``: SR as a Markov chain: T_α, π_α, π̃, TV distances, mixing times, Figure 3 (``--fast``, ``--out DIR``)."""
    from .sr_vs_bc import run_command

    return run_command(argv, parts=("markov",), prog="python -m toy_problems.markov", description="SR as a Markov chain: T_α, π_α, π̃, TV distances, mixing times, Figure 3")


if __name__ == "__main__":
    raise SystemExit(main())
