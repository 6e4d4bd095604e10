"""Big-batch stochastic rounding (seed 002 §6.1) on a small least-squares problem.

Claim (§6.1): a larger batch shrinks the variance of the gradient distribution of Figure 1
without changing its mean, so SR becomes greedier and concentrates closer to the minimizer.

Problem: F(w) = (1/2m) ‖X w − y‖², X ∈ R^{m×d} with N(0, 1) entries, y = X w_true + 0.5 ε,
minimizer w* = argmin F (least squares), F* = F(w*). A minibatch gradient of size B draws B
rows uniformly with replacement: ∇f̃(w) = (1/B) X_Bᵀ (X_B w − y_B), unbiased, covariance ∝ 1/B.

SR with a constant learning rate α (so that the chain reaches its stationary regime):
w ← Qs(w − α ∇f̃(w)), seed 002 eq. 6. BC (w_r ← w_r − α ∇f̃(Qd(w_r)), eq. 7) runs alongside for
comparison. Measured: the long-run excess loss E[F(w_t)] − F* and distance E‖w_t − w*‖ over
the second half of the iterates and all chains (for BC at the quantized weights Qd(w_r)), and
the excess loss of the best grid point near w* (the floor no grid method can beat).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_generator, check_count, check_positive

__all__ = ["LeastSquares", "least_squares_problem", "run_batch_sizes", "BatchResult"]


@dataclass
class LeastSquares:
    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray
    f_star: float

    def value(self, w):
        r = np.asarray(w) @ self.X.T - self.y
        return 0.5 * np.mean(r * r, axis=-1)


def least_squares_problem(m=4096, d=4, seed=0) -> LeastSquares:
    """X with N(0, 1) entries, y = X w_true + 0.5 ε, w_true ~ U[−1, 1]^d."""
    m = check_count("m", m, "least_squares_problem")
    d = check_count("d", d, "least_squares_problem")
    rng = as_generator(seed, "least_squares_problem")
    X = rng.standard_normal((m, d))
    w_true = rng.uniform(-1.0, 1.0, d)
    y = X @ w_true + 0.5 * rng.standard_normal(m)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    prob = LeastSquares(X, y, w_star, 0.0)
    prob.f_star = float(prob.value(w_star))
    return prob


@dataclass
class BatchResult:
    batch_sizes: np.ndarray
    sr_excess: np.ndarray  # E[F(w_t)] − F*, long run
    sr_excess_se: np.ndarray
    sr_dist: np.ndarray  # E‖w_t − w*‖
    bc_excess: np.ndarray
    bc_dist: np.ndarray
    grid_floor: float  # excess loss of the best grid point among the 2^d corners around w*


def _grid_floor(prob, delta):
    d = prob.w_star.size
    low = delta * np.floor(prob.w_star / delta)
    corners = low + delta * ((np.arange(2**d)[:, None] >> np.arange(d)) & 1)
    return float(prob.value(corners).min() - prob.f_star)


def run_batch_sizes(prob: LeastSquares, batch_sizes=(1, 4, 16, 64, 256, 1024), *, alpha=0.05, delta=0.25,
                    steps=4000, chains=32, seed=0) -> BatchResult:
    """SR and BC with each batch size (constant α), all chains side by side; the loop over
    batch sizes is over configurations (each has its own array shapes)."""
    where = "run_batch_sizes"
    alpha = check_positive("alpha", alpha, where)
    delta = check_positive("delta", delta, where)
    steps = check_count("steps", steps, where, minimum=2)
    chains = check_count("chains", chains, where)
    batch_sizes = np.array([check_count("batch size", int(b) if float(b).is_integer() else b, where) for b in batch_sizes])
    rng = as_generator(seed, where)
    m, d = prob.X.shape
    burn = steps // 2
    out = {k: [] for k in ("sr", "sr_se", "sr_dist", "bc", "bc_dist")}
    for B in batch_sizes:
        w = np.zeros((chains, d))  # SR iterate (on the grid)
        wr = np.zeros((chains, d))  # BC buffer
        f_sr = np.zeros(chains)
        dist_sr = 0.0
        f_bc = 0.0
        dist_bc = 0.0
        for t in range(steps):
            idx = rng.integers(0, m, size=(2, chains, B))
            Xb, yb = prob.X[idx], prob.y[idx]  # (2, chains, B, d), (2, chains, B)
            wb = delta * np.rint(wr / delta)  # Qd(w_r)
            both = np.stack([w, wb])  # gradients at the SR iterate and at BC's quantized weights
            res = np.einsum("kcbd,kcd->kcb", Xb, both) - yb
            g = np.einsum("kcbd,kcb->kcd", Xb, res) / B
            v = (w - alpha * g[0]) / delta
            low = np.floor(v)
            w = delta * (low + (rng.random(v.shape) < v - low))  # seed 002, eq. 6 (Qs)
            wr = wr - alpha * g[1]  # seed 002, eq. 7
            if t >= burn:
                f_sr += prob.value(w) - prob.f_star
                dist_sr += np.linalg.norm(w - prob.w_star, axis=-1).mean()
                wq = delta * np.rint(wr / delta)
                f_bc += (prob.value(wq) - prob.f_star).mean()
                dist_bc += np.linalg.norm(wq - prob.w_star, axis=-1).mean()
        n = steps - burn
        per_chain = f_sr / n
        out["sr"].append(per_chain.mean())
        out["sr_se"].append(per_chain.std(ddof=1) / np.sqrt(chains) if chains > 1 else np.nan)
        out["sr_dist"].append(dist_sr / n)
        out["bc"].append(f_bc / n)
        out["bc_dist"].append(dist_bc / n)
    return BatchResult(batch_sizes, *(np.array(out[k]) for k in ("sr", "sr_se", "sr_dist", "bc", "bc_dist")),
                       grid_floor=_grid_floor(prob, delta))


if __name__ == "__main__":   # the command lives in sr_vs_bc_commands: a part never imports its hub
    from .sr_vs_bc_commands import big_batch_main

    raise SystemExit(big_batch_main())
