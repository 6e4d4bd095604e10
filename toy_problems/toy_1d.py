"""The 1-D non-convex toy problem of seed 002 (eq. 8, Figure 2) and the three quantized
training methods R, SR and BC run on it, vectorized across independent chains.

Loss (seed 002, eq. 8)::

    f(w) = w² + 2                 for w < 1
           (w − 2.5)² + 0.75      for 1 ≤ w < 3.5
           (w − 4.75)² + 0.19     for w ≥ 3.5

with derivative f′(w) = 2 (w − c(w)), c(w) ∈ {0, 2.5, 4.75} the centre of the active piece.
f is continuous at w = 1 (both pieces give 3) and almost at w = 3.5 (1.75 versus 1.7525).
Its global minimum is f(4.75) = 0.19, a local one f(2.5) = 0.75, another f(0) = 2.

Stochastic gradient: g(w) = f′(w) + σ ξ with ξ ~ N(0, 1) by default (any law of
:mod:`toy_problems.noise_laws`).

The grid is the set of multiples of Δ inside the domain [lo, hi] (default Δ = 0.5 on
[−2, 7]: 19 points). The three methods, seed 002 eqs. 4, 6, 7, with iterates kept on / clipped
to the grid:

* R  (eq. 4):  w_{t+1} = clip(Qd(w_t − α g(w_t)))
* SR (eq. 6):  w_{t+1} = clip(Qs(w_t − α g(w_t)))
* BC (eq. 7):  w_r ← clip(w_r − α g(Q(w_r))),  quantized iterate w_b = Q(w_r), Q = Qd or Qs

"clip" sends a value beyond the end of the grid to its end point (seed 002 §4: "the rounding
algorithm clips values that leave the domain"); for BC the real buffer is clipped to
[first grid point, last grid point] so that Q(w_r) stays on the grid.

Vectorization: the t-loop is sequential, but every step acts on a whole array of
(learning rates × chains). The gradient is only ever evaluated at grid points (SR and R
iterates are grid points, BC evaluates at Q(w_r)), so f′ is tabulated on the grid once and the
state is kept as a grid index; the rounding is written in grid units,
Qs: v ↦ ⌊v⌋ + [u < v − ⌊v⌋] and Qd: v ↦ rint(v), which is exactly what
:func:`tinyquant.quant.rounding.stochastic_round` / ``deterministic_round`` compute for
Δ·v (a test checks this with shared uniform numbers).
"""

from __future__ import annotations

import numpy as np

from .checks import as_generator, check_choice, check_count, check_domain, check_nonnegative, check_positive
from .noise_laws import as_noise_law

__all__ = [
    "DOMAIN",
    "DELTA",
    "W0",
    "ALPHAS",
    "MIN_CELL",
    "loss",
    "grad",
    "grid_points",
    "stochastic_gradient",
    "simulate",
    "simulate_histograms",
    "grid_histogram",
    "cell_mass",
    "qs_grid_units",
    "qd_grid_units",
]

DOMAIN = (-2.0, 7.0)  # seed 002 §5.1 / this project's issue #4
DELTA = 0.5  # seed 002 §5.1: "quantization resolution of 0.5"
W0 = 4.0  # seed 002 §5.1: "we initialize at w = 4.0"
ALPHAS = (1.0, 0.1, 0.01, 0.001)  # Figure 2
MIN_CELL = (4.5, 5.0)  # the grid points next to the global minimizer 4.75; f = 0.2525 at both

_BREAKS = np.array([1.0, 3.5])
_CENTRES = np.array([0.0, 2.5, 4.75])
_OFFSETS = np.array([2.0, 0.75, 0.19])
_BLOCK = 4096  # steps per block of pre-drawn random numbers
METHODS = ("R", "SR", "BC")


def _as_real_array(w, where: str) -> np.ndarray:
    arr = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: w must be finite")
    return arr


def loss(w):
    """f(w) of seed 002, eq. 8 (elementwise)."""
    w = _as_real_array(w, "loss")
    piece = np.searchsorted(_BREAKS, w, side="right")
    out = (w - _CENTRES[piece]) ** 2 + _OFFSETS[piece]
    return out[()] if out.ndim == 0 else out


def grad(w):
    """f′(w) = 2 (w − c(w)), the derivative of eq. 8 on the active piece (elementwise)."""
    w = _as_real_array(w, "grad")
    piece = np.searchsorted(_BREAKS, w, side="right")
    out = 2.0 * (w - _CENTRES[piece])
    return out[()] if out.ndim == 0 else out


def grid_points(delta: float = DELTA, domain=DOMAIN) -> np.ndarray:
    """The multiples of Δ inside [lo, hi], ascending. Raises if there are none."""
    delta = check_positive("delta", delta, "grid_points")
    lo, hi = check_domain(domain, "grid_points")
    tol = 1e-9
    n_lo = int(np.ceil(lo / delta - tol))
    n_hi = int(np.floor(hi / delta + tol))
    if n_hi < n_lo:
        raise ValueError(f"grid_points: the domain {domain!r} contains no multiple of delta={delta!r}")
    if n_hi - n_lo + 1 > 100_000:
        raise ValueError(f"grid_points: {n_hi - n_lo + 1} grid points for delta={delta!r} on {domain!r}; expected at most 100000")
    return delta * np.arange(n_lo, n_hi + 1, dtype=np.float64)


def stochastic_gradient(w, *, sigma: float, rng: np.random.Generator, noise=None):
    """g(w) = f′(w) + σ ξ, ξ drawn from ``noise`` (standard Gaussian by default)."""
    sigma = check_nonnegative("sigma", sigma, "stochastic_gradient")
    law = as_noise_law(noise)
    g = grad(w)
    return g + sigma * law.sample(rng, np.shape(g))


def qs_grid_units(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Stochastic rounding in grid units: ⌊v⌋ + [u < v − ⌊v⌋] (seed 002, eq. 5 with Δ = 1)."""
    low = np.floor(v)
    return low + (u < v - low)


def qd_grid_units(v: np.ndarray) -> np.ndarray:
    """Deterministic rounding in grid units, ties to even: rint(v) (seed 002, eq. 3 with Δ = 1)."""
    return np.rint(v)


def _check_alphas(alpha, where):
    alphas = np.atleast_1d(np.asarray(alpha, dtype=object))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"{where}: alpha must be a number or a non-empty 1-D sequence, got {alpha!r}")
    return np.array([check_positive("alpha", a, where) for a in alphas])


def _index_blocks(method, alphas, steps, *, sigma, delta, chains, seed, w0, domain, noise, forward):
    """Yield blocks (b, n_alpha, chains) of grid indices of the quantized iterates w_b^1 … w_b^steps."""
    where = "simulate"
    method = check_choice("method", method, METHODS, where)
    forward = check_choice("forward", forward, ("deterministic", "stochastic"), where)
    sigma = check_nonnegative("sigma", sigma, where)
    steps = check_count("steps", steps, where)
    chains = check_count("chains", chains, where)
    grid = grid_points(delta, domain)
    k = grid.size
    w0 = float(w0)
    if not grid[0] <= w0 <= grid[-1]:
        raise ValueError(f"{where}: w0={w0!r} must lie in [{grid[0]}, {grid[-1]}] (the grid of the domain)")
    rng = as_generator(seed, where)
    law = as_noise_law(noise, where)
    n_alpha = alphas.size

    # tables per learning rate, flattened so that one fancy index reads them:
    # step[a, i] = (α_a/Δ) f′(grid[i]) in grid units; noise scale (α_a σ/Δ)
    step = (alphas[:, None] / delta) * grad(grid)[None, :]
    step_flat = step.ravel()
    base_flat = (np.arange(k)[None, :] - step).ravel()  # i − (α/Δ) f′(x_i)
    offset = (np.arange(n_alpha) * k)[:, None]
    noise_scale = (alphas * sigma / delta)[:, None]
    rec_dtype = np.int16 if k < 2**15 else np.int32

    start = (w0 - grid[0]) / delta  # grid units from the first grid point
    if method == "BC":
        s = np.full((n_alpha, chains), start)  # the real-valued buffer w_r
        if forward == "deterministic":
            idx = np.full((n_alpha, chains), int(np.rint(start)))
        else:
            idx = qs_grid_units(s, rng.random(s.shape)).astype(np.intp)
    else:
        idx = np.full((n_alpha, chains), int(np.rint(start)), dtype=np.intp)  # w0 is rounded onto the grid

    done = 0
    while done < steps:
        b = min(_BLOCK, steps - done)
        z = noise_scale * law.sample(rng, (b, n_alpha, chains))  # (α σ / Δ) ξ
        u = rng.random((b, n_alpha, chains)) if (method == "SR" or (method == "BC" and forward == "stochastic")) else None
        out = np.empty((b, n_alpha, chains), dtype=rec_dtype)
        for t in range(b):
            if method == "BC":
                # seed 002, eq. 7: w_r ← w_r − α g(Q(w_r)), in grid units
                s -= step_flat[idx + offset] + z[t]
                np.clip(s, 0.0, k - 1.0, out=s)
                q = qd_grid_units(s) if u is None else qs_grid_units(s, u[t])
            else:
                v = base_flat[idx + offset] - z[t]  # (w − α g(w)) in grid units
                q = qs_grid_units(v, u[t]) if method == "SR" else qd_grid_units(v)  # eq. 6 / eq. 4
                np.clip(q, 0.0, k - 1.0, out=q)
            idx = q.astype(np.intp)
            out[t] = idx
        done += b
        yield out


def simulate(method, alpha, steps, *, sigma=1.0, delta=DELTA, chains=1, seed=0, w0=W0, domain=DOMAIN,
             noise=None, forward="deterministic"):
    """Run R, SR or BC on the toy problem and return the quantized iterates.

    Parameters
    ----------
    method : "R" | "SR" | "BC"
    alpha : float > 0, or a 1-D sequence of learning rates (all run side by side)
    steps : number of iterations per chain
    sigma : noise level σ ≥ 0 of g(w) = f′(w) + σ ξ
    delta, domain : grid spacing Δ and domain [lo, hi]; the grid is the multiples of Δ in it
    chains : number of independent chains per learning rate
    seed : int or numpy.random.Generator (same seed → same numbers)
    w0 : starting point (rounded onto the grid for R and SR; BC's buffer starts at w0 itself)
    noise : None (Gaussian) or a noise law / frozen scipy.stats distribution of mean 0
    forward : BC only — "deterministic" (Qd, the usual choice) or "stochastic" (Qs) rounding

    Returns
    -------
    ndarray of quantized iterates w_b^1 … w_b^steps, shape (steps, chains) for a scalar alpha,
    (steps, len(alpha), chains) for a sequence.
    """
    alphas = _check_alphas(alpha, "simulate")
    grid = grid_points(delta, domain)
    blocks = list(_index_blocks(method, alphas, steps, sigma=sigma, delta=delta, chains=chains, seed=seed,
                                w0=w0, domain=domain, noise=noise, forward=forward))
    out = grid[np.concatenate(blocks, axis=0)]
    return out[:, 0, :] if np.ndim(alpha) == 0 else out


def simulate_histograms(method, alpha, steps, *, sigma=1.0, delta=DELTA, chains=1, seed=0, w0=W0,
                        domain=DOMAIN, noise=None, forward="deterministic", burn_in=0):
    """Like :func:`simulate` but return only the visit counts of each grid point, without storing
    the iterates: an int array (len(alpha), chains, n_grid) counting w_b^t for t > burn_in.
    Same random numbers as :func:`simulate` for the same arguments."""
    alphas = _check_alphas(alpha, "simulate_histograms")
    burn_in = check_count("burn_in", burn_in, "simulate_histograms", minimum=0)
    k = grid_points(delta, domain).size
    n_alpha = alphas.size
    chains_ = check_count("chains", chains, "simulate_histograms")
    counts = np.zeros(n_alpha * chains_ * k, dtype=np.int64)
    flat_offset = (np.arange(n_alpha * chains_) * k).reshape(n_alpha, chains_)
    t0 = 0
    for block in _index_blocks(method, alphas, steps, sigma=sigma, delta=delta, chains=chains, seed=seed,
                               w0=w0, domain=domain, noise=noise, forward=forward):
        keep = block[max(0, burn_in - t0):]
        t0 += block.shape[0]
        if keep.size:
            counts += np.bincount((keep + flat_offset).ravel(), minlength=counts.size)
    return counts.reshape(n_alpha, chains_, k)


def grid_histogram(iterates, *, delta=DELTA, domain=DOMAIN) -> np.ndarray:
    """Empirical distribution (probabilities summing to 1) of iterates over :func:`grid_points`."""
    grid = grid_points(delta, domain)
    x = np.asarray(iterates, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("grid_histogram: iterates is empty")
    idx = np.rint((x - grid[0]) / float(delta)).astype(np.intp)
    if idx.min() < 0 or idx.max() >= grid.size or not np.allclose(grid[idx], x, atol=1e-9):
        raise ValueError("grid_histogram: iterates must be grid points of the domain")
    return np.bincount(idx, minlength=grid.size) / x.size


def cell_mass(probs, grid, cell=MIN_CELL) -> np.ndarray:
    """Mass a distribution (…, n_grid) puts on the grid points in ``cell`` (default {4.5, 5.0})."""
    probs = np.asarray(probs, dtype=np.float64)
    mask = np.isin(np.round(np.asarray(grid), 9), np.round(np.asarray(cell, dtype=np.float64), 9))
    if not mask.any():
        raise ValueError(f"cell_mass: none of the cell points {cell!r} is on the grid")
    return probs[..., mask].sum(axis=-1)


if __name__ == "__main__":   # the command lives in sr_vs_bc_commands: a part never imports its hub
    from .sr_vs_bc_commands import toy_1d_main

    raise SystemExit(toy_1d_main())
