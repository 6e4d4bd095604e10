"""Hypothesis strategies shared by the test suite (MyGrad's and minitorch's manner).

* :func:`shapes` -- array shapes (a batch axis first where a test needs one);
* :func:`broadcastable_pairs` -- two shapes that broadcast against each other, including
  the cases that break careless unbroadcasting: ``(1,)`` against ``(3, 1)``, a 0-d scalar;
* :func:`float_arrays` -- finite float64 arrays of a drawn shape;
* :func:`off_points` / :func:`move_off` -- keep values a margin away from kinks or decision
  levels (where a derivative jumps or a rounding ties), so that exact comparisons and finite
  differences are meaningful; :func:`near` is the mask of the values too close to them.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["shapes", "broadcastable_pairs", "float_arrays", "near", "move_off", "off_points"]


def shapes(min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 6, min_size: int = 1):
    """Array shapes with ``min_dims``–``max_dims`` axes of ``min_side``–``max_side`` entries."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side).filter(lambda s: int(np.prod(s)) >= min_size)


@st.composite
def broadcastable_pairs(draw, max_dims: int = 4, max_side: int = 5):
    """(shape_a, shape_b) that broadcast: one is drawn, the other drops leading axes and
    sets some axes to 1 (either way round), so the result has the larger shape."""
    big = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side))
    keep = draw(st.integers(0, len(big)))
    small = list(big[len(big) - keep:])
    for i in range(len(small)):
        if draw(st.booleans()):
            small[i] = 1
    pair = (tuple(big), tuple(small))
    return pair if draw(st.booleans()) else pair[::-1]


def float_arrays(shape_strategy=None, low: float = -3.0, high: float = 3.0, dtype=np.float64):
    """Finite arrays of a drawn shape with entries in [low, high] (float64 by default:
    gradient checks are meaningless in float32)."""
    shape_strategy = shapes() if shape_strategy is None else shape_strategy
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=32)
    return shape_strategy.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))


def near(x, points, tol: float) -> np.ndarray:
    """Mask of the entries of ``x`` within ``tol`` of any of ``points`` (scalars, a sequence,
    or an array broadcastable against ``x`` with the points on a new last axis)."""
    x = np.asarray(x, dtype=float)
    p = np.asarray(points, dtype=float)
    if p.size == 0:
        return np.zeros(x.shape, bool)
    if p.ndim <= 1:
        return np.any(np.abs(x[..., None] - p.reshape(-1)) <= tol, axis=-1)
    return np.any(np.abs(x[..., None] - p) <= tol, axis=-1)


def move_off(x, points, margin: float) -> np.ndarray:
    """``x`` with every entry closer than ``margin`` to one of the (fixed, 1-D) ``points``
    pushed to exactly ``2·margin`` from it, on its own side (points must be > 4·margin apart)."""
    x = np.array(x, dtype=float, copy=True)
    p = np.sort(np.asarray(points, dtype=float).reshape(-1))
    if p.size == 0:
        return x
    if p.size > 1 and np.min(np.diff(p)) <= 4 * margin:
        raise ValueError(f"move_off: points must be more than 4·margin = {4 * margin} apart")
    nearest = p[np.argmin(np.abs(x[..., None] - p), axis=-1)]
    side = np.where(x >= nearest, 1.0, -1.0)
    close = np.abs(x - nearest) < margin
    x[close] = nearest[close] + 2 * margin * side[close]
    return x


def off_points(arrays_strategy, points, margin: float = 1e-3):
    """Arrays drawn from ``arrays_strategy`` moved :func:`move_off` the fixed ``points``."""
    return arrays_strategy.map(lambda a: move_off(a, points, margin))
