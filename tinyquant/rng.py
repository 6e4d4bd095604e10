"""The one source of randomness for parameter initialization.

Every random choice in tinyquant takes a ``numpy.random.Generator``. Layers created
without one draw from a process-wide Generator that :func:`manual_seed` resets, so a
script that calls ``tinyquant.manual_seed(0)`` first builds the same model every run.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default Generator to ``seed`` and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def as_generator(rng) -> np.random.Generator:
    """``None`` → the default Generator; an int → a new seeded Generator; a Generator → itself."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng: expected None, an int seed or a numpy Generator, got {type(rng).__name__}")
