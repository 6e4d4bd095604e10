"""Argument checks shared by the theory sandboxes: each raises early, naming the argument,
its value and what was expected."""

from __future__ import annotations

import numbers

import numpy as np

from tinyquant.quant.functional import SIGNALS

__all__ = [
    "check_positive",
    "check_nonnegative",
    "check_count",
    "check_domain",
    "check_choice",
    "check_levels",
    "check_signal",
    "as_generator",
]


def _real(name: str, value, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return value


def check_positive(name: str, value, where: str) -> float:
    """A finite real number > 0 (learning rates α, grid spacings Δ, ...)."""
    value = _real(name, value, where)
    if value <= 0.0:
        raise ValueError(f"{where}: {name} must be > 0, got {value!r}")
    return value


def check_nonnegative(name: str, value, where: str) -> float:
    """A finite real number ≥ 0 (noise levels σ, ...)."""
    value = _real(name, value, where)
    if value < 0.0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
    return value


def check_count(name: str, value, where: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (numbers of steps, chains, ...)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_domain(domain, where: str) -> tuple[float, float]:
    """A pair (lo, hi) of finite reals with lo < hi."""
    try:
        lo, hi = domain
    except (TypeError, ValueError):
        raise ValueError(f"{where}: domain must be a pair (lo, hi) with lo < hi, got {domain!r}") from None
    lo = _real("domain[0]", lo, where)
    hi = _real("domain[1]", hi, where)
    if not lo < hi:
        raise ValueError(f"{where}: domain must satisfy lo < hi (non-empty, not inverted), got {domain!r}")
    return lo, hi


def check_choice(name: str, value, choices, where: str):
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_levels(levels, where: str) -> int:
    """N, the number of reconstruction levels: an integer >= 2."""
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"{where}: levels (the number N of reconstruction levels) must be an integer >= 2, "
                        f"got {levels!r} of type {type(levels).__name__}")
    if levels < 2:
        raise ValueError(f"{where}: levels (the number N of reconstruction levels) must be >= 2, got {levels!r}")
    return int(levels)


def check_signal(signal, where: str) -> str:
    """"weight" (Q_w on the input) or "activation" (Q_a on its ReLU)."""
    if not isinstance(signal, str) or signal not in SIGNALS:
        raise ValueError(f"{where}: signal must be one of {list(SIGNALS)}, got {signal!r}")
    return signal


def as_generator(seed, where: str) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an integer seed (or the Generator itself)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{where}: seed must be a non-negative integer or numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))
