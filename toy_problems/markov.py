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

Tails. Those second differences of a nearly linear G leave ~1e-15 *absolute* round-off in every
entry, so entries (and stationary probabilities) below ~1e-11 would be noise. For Gaussian noise
the matrix is therefore computed entry by entry from tail functions in log space
(:meth:`toy_problems.noise_laws.GaussianNoise.log_hat`, ``log_clip``): with the symmetry ξ ~ −ξ,

    T_α[i, j]     = E[Λ(j − μ_i + cξ)]                   0 < j < K − 1
    T_α[i, 0]     = E[clip(1 − μ_i + cξ, 0, 1)]          T_α[i, K − 1] = E[clip(μ_i − K + 2 + cξ, 0, 1)]

each accurate to ~1e-13 relative however small (:func:`sr_log_transition_matrix` returns the
logs, so entries below the float range, e.g. a 10-cell jump at small α, keep their value too).
Other noise laws keep the second differences of their quadrature ramp (absolute accuracy ~1e-12).

Stationary distribution: by GTH (Grassmann–Taksar–Heyman) elimination, in log space. GTH
censors the chain state by state and forms every "diagonal" as the sum of the off-diagonal
probabilities, so it never subtracts; each stationary probability comes out with a small
*relative* error (O'Cinneide 1993, entrywise relative error ≲ K³ε for entrywise-accurate T),
however small it is and however close T is to I (small α). A solve of πQ = 0 with Q = T − I
(the earlier method) has errors relative to max π, which buries π(x) below ~1e-11. Detailed
balance (π_{i+1}/π_i = T[i, i+1]/T[i+1, i]) would be as accurate but holds only for a
tridiagonal chain; T_α has (tiny) jumps of two or more cells, T̃ does not (the tests use
detailed balance on T̃ as an independent check). Uniqueness is decided by graph reachability
on the support of T (exactly one closed communicating class), not by a numerical threshold.

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
from scipy.special import logsumexp

from .checks import check_domain, check_nonnegative, check_positive
from .noise_laws import as_noise_law
from .toy_1d import DELTA, DOMAIN, grad as toy_grad, grid_points

__all__ = [
    "sr_transition_matrix",
    "sr_log_transition_matrix",
    "communicating_classes",
    "is_irreducible",
    "log_stationary_distribution",
    "log_jump_probability",
    "limit_rate_matrix",
    "printed_limit_rate_matrix",
    "limit_alpha0",
    "limit_transition_matrix",
    "stationary_distribution",
    "tv_distance",
    "mixing_time",
    "up_move_probability",
    "spectral_gap",
    "relaxation_time",
    "limit_generator",
    "continuous_mixing_time",
    "expected_value",
    "limit_difference_matrix",
    "stationary_difference_to_limit",
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


def sr_log_transition_matrix(alpha, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """log T_α, entrywise (−inf where an entry is exactly 0): the logs of
    :func:`sr_transition_matrix`, accurate to ~1e-13 relative in every entry for Gaussian noise
    (module docstring, "Tails"), including entries below the float range."""
    where = "sr_log_transition_matrix"
    alpha = check_positive("alpha", alpha, where)
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    k = grid.size
    if k == 1:
        return np.zeros((1, 1))
    mu = np.arange(k) - (alpha / delta) * fprime  # mean of u in grid units
    c = alpha * sigma / delta
    if c > 0 and hasattr(law, "log_hat"):
        j = np.arange(k, dtype=np.float64)
        L = np.empty((k, k))
        L[:, 1:-1] = law.log_hat(j[None, 1:-1] - mu[:, None], c)
        L[:, 0] = law.log_clip(1.0 - mu, c)
        L[:, -1] = law.log_clip(mu - (k - 2), c)
        return L
    with np.errstate(divide="ignore"):
        return np.log(_second_difference_matrix(mu, c, law))


def _second_difference_matrix(mu, c, law):
    """T_α from second differences of G_i(a) = c J((μ_i − a)/c) (module docstring); used for
    σ = 0 (exact: G is piecewise linear) and for noise laws without tail functions."""
    k = mu.size
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


def sr_transition_matrix(alpha, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """Exact transition matrix T_α of SR on the grid (row-stochastic, K × K).

    ``T[i, j]`` = P(w_{t+1} = grid[j] | w_t = grid[i]) for w_{t+1} = clip(Qs(w_t − α g(w_t))),
    g = f′ + σ ξ; probability that leaves the domain goes to its end points. For Gaussian ξ
    every entry comes from tail functions (relative accuracy ~1e-13 down to the smallest
    normal float; entries below that underflow to 0 here, see :func:`sr_log_transition_matrix`);
    for other laws from second differences of the quadrature ramp (module docstring).
    ``grad_fn`` defaults to the toy problem's f′ (seed 002, eq. 8).
    """
    with np.errstate(under="ignore"):
        return np.exp(sr_log_transition_matrix(alpha, sigma=sigma, delta=delta, domain=domain, grad_fn=grad_fn, noise=noise))


def limit_rate_matrix(*, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None):
    """Ũ of Theorem 5 as derived from the SR update (module docstring): off-diagonal rates per
    unit α, Ũ[i, i+1] = E[(−g_i)⁺]/Δ, Ũ[i, i−1] = E[(g_i)⁺]/Δ, zero elsewhere and on the
    diagonal; moves off the grid are dropped."""
    where = "limit_rate_matrix"
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    k = grid.size
    neg_part, pos_part = _parts(fprime, sigma, law)
    U = np.zeros((k, k))
    i = np.arange(k - 1)
    U[i, i + 1] = neg_part[:-1] / delta
    U[i + 1, i] = pos_part[1:] / delta
    return U


def _parts(fprime, sigma, law):
    """(E[(−g)⁺], E[g⁺]) for g = f′ + σξ. E[(−g)⁺] = σ J(−m/σ); E[g⁺] = σ J(m/σ) for a
    symmetric law (each from the ramp directly, so a tail value keeps its digits), otherwise
    E[(−g)⁺] + m (the mean of ξ is 0)."""
    if sigma == 0:
        return np.maximum(-fprime, 0.0), np.maximum(fprime, 0.0)
    neg_part = sigma * law.ramp(-fprime / sigma)
    if getattr(law, "symmetric", False):
        return neg_part, sigma * law.ramp(fprime / sigma)
    return neg_part, np.maximum(neg_part + fprime, 0.0)


def printed_limit_rate_matrix(*, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None, noise=None, absolute=False):
    """Ũ exactly as printed in seed 002 (Theorem 5 / Appendix F) with p the law of ∇f̃:
    Ũ(x, x+Δ) = ∫_0^∞ p(z) z/Δ dz = E[g⁺]/Δ and Ũ(x, x−Δ) = ∫_{−∞}^0 p(z) z/Δ dz = −E[(−g)⁺]/Δ
    (non-positive). With ``absolute=True`` the second entry uses |z|. Kept to measure how far
    the printed formula is from the SR chain; see the claims ledger."""
    where = "printed_limit_rate_matrix"
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(noise, where)
    neg_part, pos_part = _parts(fprime, sigma, law)  # E[(−g)⁺], E[g⁺]
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


def communicating_classes(T) -> tuple[list, list]:
    """The communicating classes of the chain on the support of T (T[i, j] > 0 is an edge), by
    graph reachability (transitive closure by repeated Boolean squaring); returns
    (classes, closed) with ``closed[c]`` True when no state of class c reaches a state outside
    it. Zero entries are structural here: an entry that is positive in exact arithmetic but
    underflowed to 0 would cut an edge, so pass the logs (:func:`sr_log_transition_matrix`)
    to :func:`log_stationary_distribution` for chains with such entries."""
    A = np.asarray(T) > 0
    k = A.shape[0]
    R = A | np.eye(k, dtype=bool)
    for _ in range(max(1, int(np.ceil(np.log2(max(k, 2)))))):
        R = (R.astype(np.int64) @ R.astype(np.int64)) > 0
    mutual = R & R.T
    seen = np.zeros(k, dtype=bool)
    classes, closed = [], []
    for i in range(k):  # over states, to label classes (not an op on data)
        if seen[i]:
            continue
        members = np.flatnonzero(mutual[i])
        seen[members] = True
        classes.append(members)
        closed.append(bool(not R[members][:, ~np.isin(np.arange(k), members)].any()))
    return classes, closed


def is_irreducible(T) -> bool:
    """True when every state reaches every other on the support of T (graph reachability)."""
    classes, _ = communicating_classes(T)
    return len(classes) == 1


def log_stationary_distribution(log_T) -> np.ndarray:
    """log π for the chain with transition log-probabilities ``log_T`` (−inf for impossible
    moves; the diagonal is not used), by GTH elimination in log space (module docstring).

    The stationary distribution is unique iff the chain has exactly one closed communicating
    class (decided by reachability on the support); π is 0 (log −inf) off that class. Raises
    ValueError naming the closed classes otherwise.
    """
    L = np.array(log_T, dtype=np.float64)
    if L.ndim != 2 or L.shape[0] != L.shape[1] or L.shape[0] == 0:
        raise ValueError(f"log_stationary_distribution: log_T must be a non-empty square matrix, got shape {L.shape}")
    if np.any(np.isnan(L)) or np.any(L > 1e-9):
        raise ValueError("log_stationary_distribution: log_T must hold log-probabilities (≤ 0, no nan)")
    k = L.shape[0]
    classes, closed = communicating_classes(np.isfinite(L))
    if sum(closed) != 1:
        shown = [c.tolist() for c, cl in zip(classes, closed) if cl]
        raise ValueError(f"log_stationary_distribution: T has more than one stationary distribution ({len(shown)} closed classes: {shown})")
    members = classes[closed.index(True)]
    out = np.full(k, -np.inf)
    L = L[np.ix_(members, members)]
    m = members.size
    with np.errstate(divide="ignore", invalid="ignore"):
        for n in range(m - 1, 0, -1):  # GTH: censor state n out of the chain on 0 … n
            log_s = logsumexp(L[n, :n])  # P(leave n for a lower state), a sum — never 1 − T[n, n]
            L[:n, n] -= log_s
            L[:n, :n] = np.logaddexp(L[:n, :n], L[:n, n][:, None] + L[n, :n][None, :])
        x = np.zeros(m)
        for j in range(1, m):  # back substitution: x_j = Σ_{i<j} x_i L[i, j]
            x[j] = logsumexp(x[:j] + L[:j, j])
    out[members] = x - logsumexp(x)
    return out


def log_jump_probability(log_T, cells=2) -> np.ndarray:
    """log P(|move| ≥ ``cells`` grid cells) from each state: log Σ_{|j − i| ≥ cells} T[i, j]."""
    L = np.asarray(log_T, dtype=np.float64)
    cells = check_positive("cells", cells, "log_jump_probability")
    i, j = np.indices(L.shape)
    with np.errstate(divide="ignore"):
        return logsumexp(np.where(np.abs(j - i) >= cells, L, -np.inf), axis=1)


def stationary_distribution(T) -> np.ndarray:
    """The unique π with π T = π, Σ π = 1, for a row-stochastic T, by GTH elimination (module
    docstring): each π(x) to a small relative error, however small. Raises ValueError when the
    chain has more than one closed communicating class (graph reachability on the support of
    T). For entries that underflow in T, use :func:`log_stationary_distribution` on the logs."""
    T = _check_stochastic(T, "stationary_distribution")
    with np.errstate(divide="ignore", under="ignore"):
        logpi = log_stationary_distribution(np.log(np.maximum(T, 0.0)))
        return np.exp(logpi)


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


def spectral_gap(T) -> float:
    """1 − |λ₂|, λ₂ the eigenvalue of T of second-largest modulus (the eigenvalue 1 removed once).
    For a reversible chain, max_i TV(T^M[i, :], π) decays like |λ₂|^M."""
    T = _check_stochastic(T, "spectral_gap")
    if T.shape[0] == 1:
        return 1.0
    lam = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
    return float(1.0 - lam[1])


def relaxation_time(T) -> float:
    """t_rel = 1 / spectral gap (in steps); the ε-mixing time lies within a log(1/(ε π_min))
    factor of it for a reversible chain (Levin, Peres & Wilmer, Theorems 12.4–12.5)."""
    return 1.0 / spectral_gap(T)


def limit_generator(**kwargs) -> np.ndarray:
    """Q̃ = Ũ − diag(Ũ 1), the generator of the continuous-time limit: T̃_α = I + α Q̃, and T_α^t
    ≈ exp(α t Q̃) as α → 0. Keywords as :func:`limit_rate_matrix`."""
    U = limit_rate_matrix(**kwargs)
    return U - np.diag(U.sum(axis=1))


def continuous_mixing_time(Q, eps=0.25, *, rtol=1e-10) -> float:
    """τ(ε) = min{s ≥ 0 : max_i TV(exp(sQ)[i, :], π) ≤ ε} for a generator Q (rows sum to 0):
    the limit of α · M_ε(α) as α → 0 when T_α = I + αQ + o(α). Bracketed by doubling, then
    bisection to ``rtol`` (TV to π is non-increasing in s)."""
    from scipy.linalg import expm

    Q = np.asarray(Q, dtype=np.float64)
    eps = check_positive("eps", eps, "continuous_mixing_time")
    if eps >= 1:
        raise ValueError(f"continuous_mixing_time: eps must be < 1, got {eps!r}")
    off = Q - np.diag(np.diag(Q))
    if off.min() < 0 or np.max(np.abs(Q.sum(axis=1))) > 1e-9 * max(1.0, np.abs(Q).max()):
        raise ValueError("continuous_mixing_time: Q must have non-negative off-diagonal entries and zero row sums")
    rate = max(off.sum(axis=1).max(), 1e-300)
    with np.errstate(divide="ignore"):  # I + Q/rate is a chain with the same π (GTH reads only off-diagonals)
        pi = np.exp(log_stationary_distribution(np.log(off / rate)))

    def worst(s):
        return _worst_tv(expm(s * Q), pi)

    if worst(0.0) <= eps:
        return 0.0
    hi = 1.0 / max(np.abs(np.diag(Q)).max(), 1e-300)
    while worst(hi) > eps:
        hi *= 2.0
    lo = 0.0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if worst(mid) > eps else (lo, mid)
    return hi


def limit_difference_matrix(alpha, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None) -> np.ndarray:
    """E = T_α − T̃_α (same α) for Gaussian noise, every entry formed without subtracting T̃ from
    T_α, so each keeps its relative accuracy however small (the subtraction leaves ~1e-16
    absolute round-off). With s = −α g/Δ the move in grid units and E[(s − a)⁺] = c J((m − a)/c):
    the up-neighbour entry is −2 E[(s − 1)⁺] + E[(s − 2)⁺] (into the end point −E[(s − 1)⁺];
    module docstring: E[Λ(s − 1)] = E[s⁺] − 2E[(s − 1)⁺] + E[(s − 2)⁺] and α Ũ = E[s⁺]), likewise
    down with −s; jumps of two or more cells are T_α itself; the diagonal is minus the rest of
    its row (both matrices are stochastic)."""
    where = "limit_difference_matrix"
    alpha = check_positive("alpha", alpha, where)
    sigma, delta, grid, fprime = _tables(sigma, delta, domain, grad_fn, where)
    law = as_noise_law(None, where)
    k = grid.size
    with np.errstate(under="ignore"):
        T = np.exp(sr_log_transition_matrix(alpha, sigma=sigma, delta=delta, domain=domain, grad_fn=grad_fn))
    m = -(alpha / delta) * fprime  # mean move in grid units
    c = alpha * sigma / delta

    def excess(shift, sign):  # E[(sign·s − shift)⁺] per state (ξ symmetric)
        return c * law.ramp((sign * m - shift) / c) if c > 0 else np.maximum(sign * m - shift, 0.0)

    E = np.where(np.abs(np.subtract.outer(np.arange(k), np.arange(k))) >= 2, T, 0.0)
    i = np.arange(k - 1)
    up1, up2, down1, down2 = excess(1.0, 1), excess(2.0, 1), excess(1.0, -1), excess(2.0, -1)
    E[i, i + 1] = np.where(i + 1 == k - 1, -up1[i], -2.0 * up1[i] + up2[i])
    E[i + 1, i] = np.where(i == 0, -down1[i + 1], -2.0 * down1[i + 1] + down2[i + 1])
    np.fill_diagonal(E, 0.0)
    np.fill_diagonal(E, -E.sum(axis=1))
    return E


def stationary_difference_to_limit(alpha, *, sigma, delta=DELTA, domain=DOMAIN, grad_fn=None) -> np.ndarray:
    """π_α − π̃ for Gaussian noise, accurate to ~1e-12 *relative to its own size* (so TV(π_α, π̃)
    = ½ Σ |π_α − π̃| is right even at 1e-47, far below the resolution of π_α and π̃ themselves).

    With E = T_α − T̃_α (:func:`limit_difference_matrix`), δ = π_α − π̃ solves δ (I − T_α) = π̃ E,
    Σ δ = 0 (π̃ T̃_α = π̃ for every α), so δ = π̃ E (I − T_α + 1 π_α)⁻¹ (the fundamental matrix)."""
    kw = dict(sigma=sigma, delta=delta, domain=domain, grad_fn=grad_fn)
    E = limit_difference_matrix(alpha, **kw)
    L = sr_log_transition_matrix(alpha, **kw)
    with np.errstate(under="ignore"):
        T = np.exp(L)
    pi_a = np.exp(log_stationary_distribution(L))
    # π̃ does not depend on the α of T̃_α (eq. 20), so T̃_α₀ gives it even when α > α₀
    pi_lim = stationary_distribution(limit_transition_matrix(**kw))
    A = -T.copy()
    np.fill_diagonal(A, 0.0)
    np.fill_diagonal(A, -A.sum(axis=1))  # I − T_α, diagonal as the off-diagonal row sum
    A += pi_a[None, :]
    return np.linalg.solve(A.T, pi_lim @ E)


def expected_value(pi, f_values) -> float:
    """E_π f = Σ_i π_i f(x_i)."""
    pi = np.asarray(pi, dtype=np.float64)
    f_values = np.asarray(f_values, dtype=np.float64)
    if pi.shape != f_values.shape:
        raise ValueError(f"expected_value: pi has shape {pi.shape} but f_values has {f_values.shape}")
    return float(pi @ f_values)


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


if __name__ == "__main__":   # the command lives in sr_vs_bc_commands: a part never imports its hub
    from .sr_vs_bc_commands import markov_main

    raise SystemExit(markov_main())
