"""Rounding onto a uniform grid ΔZ: deterministic (Qd) and stochastic (Qs) rounding.

These are the two quantization functions of seed 002 (Li et al., "Training Quantized Nets: A
Deeper Understanding"), written in plain NumPy so that they can be used both by the theory
sandboxes in ``toy_problems/`` and, wrapped with a straight-through estimator, by the autograd
quantizers of :mod:`tinyquant.quant`.

Deterministic rounding, seed 002 eq. 3::

    Qd(w) = sign(w) · Δ · ⌊|w|/Δ + 1/2⌋                     (as printed: ties away from zero)

We implement ``Qd(w) = Δ · round_half_even(w/Δ)`` (``Δ * np.round(w / Δ)``). The two agree
everywhere except at exact ties w/Δ ∈ Z + 1/2, where eq. 3 rounds away from zero and we round
to the even multiple (so that ties are not biased in one direction). Ties have probability
zero under any continuous law, and the choice is pinned by a test. ``ties="away"`` gives the
printed rule (``deterministic_round(x, Δ, ties="away")``, ``DeterministicRounding(ties="away")``).

Stochastic rounding, seed 002 eq. 5::

    Qs(w) = Δ · (⌊w/Δ⌋ + 1)   if p < w/Δ − ⌊w/Δ⌋,
            Δ · ⌊w/Δ⌋         otherwise,                    p ~ Uniform[0, 1)

The printed condition is ``p ≤ w/Δ − ⌊w/Δ⌋``; with p ∈ [0, 1) the strict inequality gives the
same law (P(p < q) = q) and never moves a value that already lies on the grid (q = 0).
Hence E[Qs(w)] = Δ(⌊w/Δ⌋ + q) = w (unbiased) and Var[Qs(w)] = Δ² q (1 − q) ≤ Δ²/4.

Floating point: for a grid point w = kΔ the quotient fl(w/Δ) can land one ulp below k (for
example 0.3 / 0.1 = 2.9999999999999996). Quotients within a few ulps of an integer are
therefore snapped to that integer before rounding, so both functions are exactly idempotent
on their own outputs. The snapping moves E[Qs(w)] by at most ~1e-15·|w|.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["deterministic_round", "stochastic_round", "TIES"]

# quotients within this many ulps of an integer count as lying on the grid
_SNAP_ULPS = 4.0


def _check_delta(delta, where: str) -> float:
    if isinstance(delta, (bool, np.bool_)) or not isinstance(delta, numbers.Real):
        raise TypeError(f"{where}: delta must be a real number, got {delta!r} of type {type(delta).__name__}")
    delta = float(delta)
    if not np.isfinite(delta) or delta <= 0.0:
        raise ValueError(f"{where}: delta must be a finite number > 0, got {delta!r}")
    return delta


def _check_x(x, where: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{where}: x must be an array of real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: x must be finite, got {np.count_nonzero(~np.isfinite(arr))} non-finite value(s)")
    return arr


def _grid_quotient(arr: np.ndarray, delta: float) -> np.ndarray:
    """w/Δ with quotients within a few ulps of an integer snapped onto it."""
    q = arr / delta
    k = np.round(q)
    tol = _SNAP_ULPS * np.finfo(q.dtype).eps * np.maximum(np.abs(q), 1.0)
    return np.where(np.abs(q - k) <= tol, k, q)


def _like_input(out: np.ndarray, x):
    return out[()] if np.ndim(x) == 0 else out


TIES = ("even", "away")


def check_ties(ties, where: str) -> str:
    if ties not in TIES:
        raise ValueError(f"{where}: ties must be one of {', '.join(TIES)}, got {ties!r}")
    return ties


def deterministic_round(x, delta, ties: str = "even"):
    """Qd(x) = Δ · round_half_even(x / Δ): the nearest multiple of Δ (seed 002, eq. 3).

    Ties (x/Δ exactly halfway between two integers) go to the even multiple, unlike eq. 3's
    ``sign(x)·Δ·⌊|x|/Δ + 1/2⌋`` which rounds ties away from zero; elsewhere the two agree.
    ``ties="away"`` computes eq. 3 as printed.

    Parameters
    ----------
    x : array_like of real numbers (finite)
    delta : float > 0, the grid spacing Δ
    ties : "even" (default) or "away" (eq. 3 as printed)

    Returns
    -------
    ndarray (or scalar for scalar input) of the same floating dtype as ``x`` (integers → float64).
    """
    delta = _check_delta(delta, "deterministic_round")
    arr = _check_x(x, "deterministic_round")
    q = _grid_quotient(arr, delta)
    if check_ties(ties, "deterministic_round") == "away":
        k = np.sign(q) * np.floor(np.abs(q) + 0.5)                 # eq. 3 as printed
    else:
        k = np.round(q)                                             # half to even
    out = (delta * k).astype(arr.dtype, copy=False)
    return _like_input(out, x)


def stochastic_round(x, delta, rng):
    """Qs(x): round x down or up to a neighbouring multiple of Δ, unbiasedly (seed 002, eq. 5).

    With q = x/Δ − ⌊x/Δ⌋ ∈ [0, 1) the result is Δ(⌊x/Δ⌋ + 1) with probability q and Δ⌊x/Δ⌋
    otherwise, so E[Qs(x)] = x, |Qs(x) − x| < Δ and Var[Qs(x)] = Δ² q(1 − q). Each entry uses
    its own uniform number drawn from ``rng`` (one ``rng.random(x.shape)`` call).

    Parameters
    ----------
    x : array_like of real numbers (finite)
    delta : float > 0, the grid spacing Δ
    rng : numpy.random.Generator — required, so that the same seed gives the same numbers

    Returns
    -------
    ndarray (or scalar for scalar input) of the same floating dtype as ``x`` (integers → float64).
    """
    delta = _check_delta(delta, "stochastic_round")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"stochastic_round: rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    arr = _check_x(x, "stochastic_round")
    q = _grid_quotient(arr, delta)
    low = np.floor(q)
    up = rng.random(q.shape) < (q - low)  # seed 002, eq. 5 (strict '<', see module docstring)
    out = (delta * (low + up)).astype(arr.dtype, copy=False)
    return _like_input(out, x)
