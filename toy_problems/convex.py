"""Convex guarantees for SR and BC (seed 002 §4: Lemma 1, Theorems 1–4, Corollary 1), measured.

Problems (all with minimum value F(w*) = 0 and noisy gradients ∇f̃(w) = ∇F(w) + σ ξ,
ξ ~ N(0, I_d)):

* :func:`strongly_convex_quadratic` — F(w) = ½ (w − w*)ᵀ A (w − w*), A = R diag(λ) Rᵀ with a
  random rotation R and eigenvalues λ evenly spaced in [μ, L]; Hessian constant, so L₂ = 0.
* :func:`weakly_convex_quadratic` — the same with only ``rank`` non-zero eigenvalues: convex,
  L-smooth, not strongly convex (a subspace of minimizers).
* :func:`strongly_convex_logcosh` — F(w) = Σ_i ½ μ (w_i − w*_i)² + β log cosh(w_i − w*_i):
  μ-strongly convex, L = μ + β, Hessian Lipschitz with L₂ = β · max_x |d/dx sech² x|
  = β · 4/(3√3) (the maximum of 2 sech²x |tanh x|, at tanh²x = 1/3).

Methods (seed 002 eqs. 2, 6, 7), iterates clipped to the box [−R, R]^d when a radius is given:

* "SGD": w ← w − α_t ∇f̃(w) (reference),
* "SR":  w ← Qs(w − α_t ∇f̃(w)),
* "BC":  w_r ← w_r − α_t ∇f̃(Q(w_r)), Q = Qd ("deterministic") or Qs ("stochastic").

Schedules: ``("strong", μ)`` α_t = 1/(μ (t + 1)), t = 0 … T − 1 (Theorems 1, 4, Corollary 1);
``("sqrt", c)`` α_t = c/√t, t = 1 … T (Theorems 2, 3).

Measured quantities, all averaged over independent chains (standard errors alongside):
E[F(w̄_T)] for the average iterate w̄_T = (1/T) Σ_{t=1}^T w^t at checkpoints T (for BC both the
real-valued average of w_r and the quantized average of Q(w_r)); E[F(w^T)] of the last
iterate; G² = max_t E‖∇f̃(w^t)‖² (the assumption E‖∇f̃‖² ≤ G² estimated from the run); and for
SR the rounding error r_t = w^{t+1} − (w^t − α_t ∇f̃(w^t)) with E‖r_t‖² per step (Lemma 1),
estimated as the chain mean of the exact expectation over the rounding, Δ² Σ_i q_i (1 − q_i)
(a per-step sample mean of ‖r_t‖² is a rare-event estimate whose maximum over 10⁴ steps
overshoots its mean several times; it is kept in ``extra["r2_sampled"]``). Clipping is not
rounding error: Lemma 1 is checked on unclipped runs.

Bounds (seed 002):

* Lemma 1:      E‖r_t‖² ≤ √d Δ α_t G
* Theorem 1:    E[F(w̄_T) − F*] ≤ (1 + log(T + 1)) G²/(2 μ T) + √d Δ G / 2
* Theorem 2:    E[F(w̄_T) − F*] ≤ D²/(c √T) + √(T + 1) c G²/(2T) + √d Δ G / 2
* Theorem 3:    E[F(w̄_T) − F*] ≤ D²/(2 c √T) + √(T + 1) c G²/(2T) + √d Δ L D
* Theorem 4:    E[F(w̄_T) − F*] ≤ (1 + log(T + 1)) G²/(2 μ T) + D L₂ √d Δ / 2
* Corollary 1:  E[F(w̄_T) − F*] ≤ (1 + log(T + 1)) G²/(2 μ T)       (F quadratic, L₂ = 0)

D is the diameter of the domain, 2R√d for the box. The loops run over time only; every step
acts on all configurations (grid spacings) × chains × coordinates at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .checks import as_generator, check_choice, check_count, check_nonnegative, check_positive

__all__ = [
    "Problem",
    "strongly_convex_quadratic",
    "weakly_convex_quadratic",
    "strongly_convex_logcosh",
    "log_cosh",
    "run",
    "RunResult",
    "lemma1_bound",
    "theorem1_bound",
    "theorem2_bound",
    "theorem3_bound",
    "theorem4_bound",
    "corollary1_bound",
    "theorem1_floor",
    "bc_deterministic_floor",
    "sr_limit_floor",
]

_HESSIAN_LIP_LOGCOSH = 4.0 / (3.0 * np.sqrt(3.0))  # max_x |d/dx sech²(x)|


@dataclass
class Problem:
    """A convex objective with F(w*) = 0, its gradient and constants μ (0 if not strongly
    convex), L (smoothness) and L₂ (Lipschitz constant of the Hessian)."""

    name: str
    d: int
    w_star: np.ndarray
    mu: float
    L: float
    L2: float
    sigma: float
    A: np.ndarray | None = None  # quadratic: the Hessian
    beta: float = 0.0  # log-cosh weight

    def value(self, w):
        e = np.asarray(w) - self.w_star
        if self.A is not None:
            return 0.5 * np.einsum("...i,ij,...j->...", e, self.A, e)
        return np.sum(0.5 * self.mu * e**2 + self.beta * log_cosh(e), axis=-1)

    def grad(self, w):
        e = np.asarray(w) - self.w_star
        if self.A is not None:
            return e @ self.A
        return self.mu * e + self.beta * np.tanh(e)


def log_cosh(x):
    """log cosh x, finite and accurate to a few ulp for every finite x: logaddexp(x, −x) − log 2
    for |x| ≥ 1 (np.log(np.cosh(x)) overflows to inf from |x| ≈ 710), and
    log1p(2 sinh²(x/2)) below (the subtraction of log 2 would cancel as x → 0)."""
    x = np.asarray(x, dtype=np.float64)
    xs = np.where(np.abs(x) < 1.0, x, 0.0)
    return np.where(np.abs(x) < 1.0, np.log1p(2.0 * np.sinh(0.5 * xs) ** 2), np.logaddexp(x, -x) - np.log(2.0))


def _rotation(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def strongly_convex_quadratic(d=10, mu=0.5, L=2.0, sigma=1.0, seed=0, rotate=True) -> Problem:
    """½ (w − w*)ᵀ A (w − w*), eigenvalues evenly spaced in [μ, L], a random rotation (or the
    coordinate axes with ``rotate=False``: A diagonal), w* ~ U[−1, 1]^d."""
    d = check_count("d", d, "strongly_convex_quadratic")
    mu = check_positive("mu", mu, "strongly_convex_quadratic")
    L = check_positive("L", L, "strongly_convex_quadratic")
    if L < mu:
        raise ValueError(f"strongly_convex_quadratic: L={L!r} must be >= mu={mu!r}")
    rng = as_generator(seed, "strongly_convex_quadratic")
    R = _rotation(d, rng)
    if not rotate:
        R = np.eye(d)
    lam = np.linspace(mu, L, d)
    A = (R * lam) @ R.T
    A = 0.5 * (A + A.T)
    w_star = rng.uniform(-1.0, 1.0, d)
    return Problem("strongly convex quadratic", d, w_star, mu, L, 0.0, check_nonnegative("sigma", sigma, "strongly_convex_quadratic"), A=A)


def weakly_convex_quadratic(d=10, rank=5, L=2.0, sigma=1.0, seed=0) -> Problem:
    """½ (w − w*)ᵀ A (w − w*) with only ``rank`` non-zero eigenvalues (evenly spaced in (0, L]):
    convex and L-smooth but not strongly convex."""
    d = check_count("d", d, "weakly_convex_quadratic")
    rank = check_count("rank", rank, "weakly_convex_quadratic")
    if rank >= d:
        raise ValueError(f"weakly_convex_quadratic: rank={rank} must be < d={d} (otherwise strongly convex)")
    L = check_positive("L", L, "weakly_convex_quadratic")
    rng = as_generator(seed, "weakly_convex_quadratic")
    R = _rotation(d, rng)
    lam = np.concatenate([np.linspace(L / rank, L, rank), np.zeros(d - rank)])
    A = (R * lam) @ R.T
    A = 0.5 * (A + A.T)
    w_star = rng.uniform(-1.0, 1.0, d)
    return Problem("weakly convex quadratic", d, w_star, 0.0, L, 0.0, check_nonnegative("sigma", sigma, "weakly_convex_quadratic"), A=A)


def strongly_convex_logcosh(d=10, mu=0.5, beta=1.0, sigma=1.0, seed=0) -> Problem:
    """Σ_i ½ μ (w_i − w*_i)² + β log cosh(w_i − w*_i): μ-strongly convex, L = μ + β,
    L₂ = β · 4/(3√3), w* ~ U[−1, 1]^d."""
    d = check_count("d", d, "strongly_convex_logcosh")
    mu = check_positive("mu", mu, "strongly_convex_logcosh")
    beta = check_positive("beta", beta, "strongly_convex_logcosh")
    rng = as_generator(seed, "strongly_convex_logcosh")
    w_star = rng.uniform(-1.0, 1.0, d)
    return Problem("strongly convex log-cosh", d, w_star, mu, mu + beta, beta * _HESSIAN_LIP_LOGCOSH,
                   check_nonnegative("sigma", sigma, "strongly_convex_logcosh"), beta=beta)


@dataclass
class RunResult:
    """Measurements of one :func:`run` (arrays have a leading axis over the grid spacings)."""

    method: str
    forward: str
    deltas: np.ndarray
    checkpoints: np.ndarray
    alphas: np.ndarray  # α_t for the T steps
    f_avg: np.ndarray  # (n_delta, n_check) E[F(w̄_T)], real-valued average
    f_avg_se: np.ndarray
    f_avg_q: np.ndarray  # (n_delta, n_check) E[F(Q-average)] — BC only (nan otherwise)
    f_avg_q_se: np.ndarray
    f_last: np.ndarray  # (n_delta,) E[F(w^T)]
    g2_max: np.ndarray  # (n_delta,) max_t E‖∇f̃(w^t)‖²
    g2_mean: np.ndarray  # (n_delta,) (1/T) Σ_t E‖∇f̃(w^t)‖²
    g2_late: np.ndarray  # (n_delta,) the same over the second half of the run (t ≥ T/2)
    r2: np.ndarray | None = None  # (n_delta, T) E‖r_t‖² (exact over the rounding, mean over chains) — SR only
    extra: dict = field(default_factory=dict)

    @property
    def G(self):
        return np.sqrt(self.g2_max)


def _schedule(schedule, steps):
    kind, value = schedule
    kind = check_choice("schedule", kind, ("strong", "sqrt", "constant"), "run")
    value = check_positive("schedule constant", value, "run")
    if kind == "strong":
        return 1.0 / (value * (np.arange(steps) + 1.0))  # α_t = 1/(μ(t+1)), t = 0 … T−1
    if kind == "sqrt":
        return value / np.sqrt(np.arange(1, steps + 1.0))  # α_t = c/√t, t = 1 … T
    return np.full(steps, value)


def run(problem: Problem, method, schedule, steps, *, deltas=(0.5,), chains=100, seed=0,
        forward="deterministic", radius=None, checkpoints=None, w0=None) -> RunResult:
    """Run SGD / SR / BC on ``problem`` for every grid spacing in ``deltas`` side by side.

    ``schedule`` is ("strong", μ), ("sqrt", c) or ("constant", α); ``radius`` R clips the
    iterates to [−R, R]^d (each R must be a multiple of every Δ); ``checkpoints`` are the T at
    which E[F(w̄_T)] is recorded (default: ``steps``). ``w0`` defaults to the origin (a grid point).
    """
    where = "run"
    method = check_choice("method", method, ("SGD", "SR", "BC"), where)
    forward = check_choice("forward", forward, ("deterministic", "stochastic"), where)
    steps = check_count("steps", steps, where)
    chains = check_count("chains", chains, where)
    deltas = np.array([check_positive("delta", x, where) for x in np.atleast_1d(deltas)])
    alphas = _schedule(schedule, steps)
    checkpoints = np.array(sorted({int(c) for c in (checkpoints if checkpoints is not None else [steps])}))
    if checkpoints.min() < 1 or checkpoints.max() > steps:
        raise ValueError(f"{where}: checkpoints must lie in [1, steps={steps}], got {checkpoints.tolist()}")
    if radius is not None:
        radius = check_positive("radius", radius, where)
        ratios = radius / deltas
        if not np.allclose(ratios, np.round(ratios)):
            raise ValueError(f"{where}: radius={radius} must be a multiple of every delta {deltas.tolist()}")
    rng = as_generator(seed, where)
    d, nd = problem.d, deltas.size
    dl = deltas[:, None, None]
    w = np.zeros((nd, chains, d)) if w0 is None else np.broadcast_to(np.asarray(w0, float), (nd, chains, d)).copy()
    sum_w = np.zeros_like(w)
    sum_q = np.zeros_like(w)
    f_avg = np.full((nd, checkpoints.size), np.nan)
    f_avg_se = np.full_like(f_avg, np.nan)
    f_avg_q = np.full_like(f_avg, np.nan)
    f_avg_q_se = np.full_like(f_avg, np.nan)
    g2 = np.empty((nd, steps))
    r2 = np.empty((nd, steps)) if method == "SR" else None
    r2_sampled = np.empty((nd, steps)) if method == "SR" else None
    sigma = problem.sigma

    def quantize(x, stochastic):
        v = x / dl
        low = np.floor(v)
        k = low + (rng.random(v.shape) < v - low) if stochastic else np.rint(v)
        return dl * k  # Qs / Qd of seed 002 eqs. 5 / 3

    def clip(x):
        return x if radius is None else np.clip(x, -radius, radius, out=x)

    ci = 0
    for t in range(steps):
        a = alphas[t]
        if method == "BC":
            q = quantize(w, forward == "stochastic")
            g = problem.grad(q) + sigma * rng.standard_normal(w.shape)
            w = clip(w - a * g)  # seed 002, eq. 7
            sum_q += quantize(w, forward == "stochastic")
        else:
            g = problem.grad(w) + sigma * rng.standard_normal(w.shape)
            v = w - a * g
            w = clip(quantize(v, True)) if method == "SR" else clip(v)  # eq. 6 / eq. 2
            if r2 is not None:
                # E_p‖r_t‖² given v, exactly: Δ² Σ_i q_i (1 − q_i), q_i = frac(v_i/Δ) (Lemma 1's
                # proof); a far less noisy estimate of E‖r_t‖² than the sampled ‖r_t‖², which
                # is also kept (r2_sampled)
                q = v / dl - np.floor(v / dl)
                r2[:, t] = np.mean(np.sum(dl**2 * q * (1 - q), axis=-1), axis=1)
                r2_sampled[:, t] = np.mean(np.sum((w - v) ** 2, axis=-1), axis=1)
        g2[:, t] = np.mean(np.sum(g * g, axis=-1), axis=1)
        sum_w += w
        if ci < checkpoints.size and t + 1 == checkpoints[ci]:
            fv = problem.value(sum_w / (t + 1))  # (nd, chains)
            f_avg[:, ci] = fv.mean(axis=1)
            f_avg_se[:, ci] = fv.std(axis=1, ddof=1) / np.sqrt(chains) if chains > 1 else np.nan
            if method == "BC":
                fq = problem.value(sum_q / (t + 1))
                f_avg_q[:, ci] = fq.mean(axis=1)
                f_avg_q_se[:, ci] = fq.std(axis=1, ddof=1) / np.sqrt(chains) if chains > 1 else np.nan
            ci += 1
    return RunResult(method, forward, deltas, checkpoints, alphas, f_avg, f_avg_se, f_avg_q, f_avg_q_se,
                     problem.value(w).mean(axis=1), g2.max(axis=1), g2.mean(axis=1), g2[:, steps // 2:].mean(axis=1), r2,
                     extra={"r2_sampled": r2_sampled})


def lemma1_bound(d, delta, alpha, G):
    """√d Δ α_t G (seed 002, Lemma 1)."""
    return np.sqrt(d) * delta * np.asarray(alpha) * G


def theorem1_bound(T, *, mu, G, d, delta):
    """(1 + log(T + 1)) G²/(2 μ T) + √d Δ G / 2 (seed 002, Theorem 1)."""
    T = np.asarray(T, dtype=float)
    return (1 + np.log(T + 1)) * G**2 / (2 * mu * T) + np.sqrt(d) * delta * G / 2


def theorem2_bound(T, *, c, D, G, d, delta):
    """D²/(c √T) + √(T + 1) c G²/(2T) + √d Δ G / 2 (seed 002, Theorem 2)."""
    T = np.asarray(T, dtype=float)
    return D**2 / (c * np.sqrt(T)) + np.sqrt(T + 1) * c * G**2 / (2 * T) + np.sqrt(d) * delta * G / 2


def theorem3_bound(T, *, c, D, G, d, delta, L):
    """D²/(2 c √T) + √(T + 1) c G²/(2T) + √d Δ L D (seed 002, Theorem 3)."""
    T = np.asarray(T, dtype=float)
    return D**2 / (2 * c * np.sqrt(T)) + np.sqrt(T + 1) * c * G**2 / (2 * T) + np.sqrt(d) * delta * L * D


def theorem4_bound(T, *, mu, G, d, delta, D, L2):
    """(1 + log(T + 1)) G²/(2 μ T) + D L₂ √d Δ / 2 (seed 002, Theorem 4)."""
    T = np.asarray(T, dtype=float)
    return (1 + np.log(T + 1)) * G**2 / (2 * mu * T) + D * L2 * np.sqrt(d) * delta / 2


def theorem1_floor(*, G, d, delta):
    """lim_{T→∞} of Theorem 1's bound: √d Δ G / 2, the accuracy floor the theory predicts for SR."""
    return np.sqrt(d) * delta * np.asarray(G, dtype=float) / 2


def bc_deterministic_floor(problem: Problem, delta) -> float:
    """The T → ∞ limit of F(w̄_r) for BC with deterministic rounding Qd on an axis-aligned
    quadratic (A = diag(λ)): Σ_i λ_i/2 (b_i − w*_i)², b_i = Δ(⌊w*_i/Δ⌋ + ½) the rounding
    boundary between the two grid points around w*_i.

    Why: coordinate i of the buffer sees the gradient λ_i (Qd(w_r) − w*_i) + noise; it is pushed
    up while Qd(w_r) is the grid point below w*_i and down while it is the one above, so w_r,i
    settles on the boundary b_i between them; as α_t → 0 its fluctuations vanish and the
    real-valued average converges to b (the quantized iterates alternate so that their average
    goes to w*). Corollary 1's bound → 0 (seed 002 §4.2, "the results here hold for both
    stochastic and uniform rounding") misses this floor."""
    if problem.A is None or not np.allclose(problem.A, np.diag(np.diag(problem.A))):
        raise ValueError("bc_deterministic_floor: needs an axis-aligned quadratic (strongly_convex_quadratic(rotate=False))")
    delta = check_positive("delta", delta, "bc_deterministic_floor")
    b = delta * (np.floor(problem.w_star / delta) + 0.5)
    return float(0.5 * np.sum(np.diag(problem.A) * (b - problem.w_star) ** 2))


def sr_limit_floor(problem: Problem, delta, *, mu=None, cells=24) -> tuple[float, float]:
    """The T → ∞ floors of SR with α_t = 1/(μ(t+1)) on an axis-aligned quadratic, predicted by the
    limit chain of seed 002 Theorem 5: (lim E[F(w̄_T)], lim E[F(w_T)]) for the average and the
    last iterate; ``mu`` is the schedule's μ (default ``problem.mu``).

    With A = diag(λ) the coordinates of SR are independent 1-D chains on the multiples of Δ with
    gradient λ_i (x − w*_i) + σ ξ_i. For small α_t, T_α ≈ exp(α_t Q̃) (Q̃ the generator of the
    limit chain, ``toy_problems.markov.limit_generator``), so the chain runs in the continuous
    time s(t) = Σ_{u<t} α_u ≈ log(t)/μ and the law of w_t tends to the stationary π̃_i. Hence
    E F(w_T) → Σ_i λ_i/2 E_π̃_i (x − w*_i)². The average over steps weighs continuous time by
    dt/ds = μ t ∝ e^{μ s}: w̄_T is an exponentially weighted average of the last ~1/μ units of
    continuous time, Y = ∫_0^∞ μ e^{−μu} x(S − u) du, whose variance does not shrink with T:
    Var Y = μ ⟨f, (μI − Q̃)⁻¹ f⟩_π̃, f = x − E_π̃ x (from Cov(x(0), x(τ)) = ⟨f, e^{τQ̃} f⟩_π̃ and
    ∫∫ μ² e^{−μ(u+v)} C(|u − v|) du dv = μ ∫_0^∞ e^{−μτ} C(τ) dτ). So
    E F(w̄_T) → Σ_i λ_i/2 [(E_π̃_i x − w*_i)² + Var Y_i] — not 0, although E_π̃ x = w* (the limit
    chain's drift is −E[g] = −λ(x − w*), whose stationary mean is 0). Each chain lives on
    ``cells`` grid cells either side of w*_i (the mass beyond is far below float resolution for
    σ/Δ of order 1)."""
    from .markov import limit_generator, stationary_distribution
    from .toy_1d import grid_points

    if problem.A is None or not np.allclose(problem.A, np.diag(np.diag(problem.A))):
        raise ValueError("sr_limit_floor: needs an axis-aligned quadratic (strongly_convex_quadratic(rotate=False))")
    delta = check_positive("delta", delta, "sr_limit_floor")
    mu = problem.mu if mu is None else check_positive("mu", mu, "sr_limit_floor")
    cells = check_count("cells", cells, "sr_limit_floor", minimum=2)
    avg = last = 0.0
    for lam, ws in zip(np.diag(problem.A), problem.w_star):  # one 1-D chain per coordinate
        k0 = np.floor(ws / delta)
        domain = (delta * (k0 - cells), delta * (k0 + cells + 1))
        grid = grid_points(delta, domain)
        Q = limit_generator(sigma=problem.sigma, delta=delta, domain=domain, grad_fn=lambda x, lam=lam, ws=ws: lam * (x - ws))
        rate = np.abs(np.diag(Q)).max()
        pi = stationary_distribution(np.eye(grid.size) + Q / rate)  # same π̃ as T̃_α for any α
        mean = pi @ grid
        f = grid - mean
        var_y = mu * (pi * f) @ np.linalg.solve(mu * np.eye(grid.size) - Q, f)
        avg += 0.5 * lam * ((mean - ws) ** 2 + var_y)
        last += 0.5 * lam * (pi @ (grid - ws) ** 2)
    return float(avg), float(last)


def corollary1_bound(T, *, mu, G):
    """(1 + log(T + 1)) G²/(2 μ T) (seed 002, Corollary 1: F quadratic, so L₂ = 0)."""
    T = np.asarray(T, dtype=float)
    return (1 + np.log(T + 1)) * G**2 / (2 * mu * T)


if __name__ == "__main__":   # the command lives in sr_vs_bc_commands: a part never imports its hub
    from .sr_vs_bc_commands import convex_main

    raise SystemExit(convex_main())
