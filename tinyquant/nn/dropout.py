"""Dropout (Srivastava et al., 2014), inverted: scaled in training, the identity in eval.

In training each element is kept with probability 1 − p, independently, and the kept ones
are scaled by 1/(1 − p), so that E[y] = x and evaluation needs no rescaling:

    m ~ Bernoulli(1 − p) elementwise,    y = x · m / (1 − p),    dL/dx = g · m / (1 − p)

(PyTorch's ``nn.Dropout``; with p = 1 every element is dropped, y = 0.) The functional
:func:`dropout` draws the mask from the Generator the caller passes. The :class:`Dropout`
module draws its k-th mask from ``default_rng(SeedSequence(seed, spawn_key=(k,)))`` and
keeps ``seed`` and k as buffers, so its randomness is state in the ``state_dict``: a run
resumed from a checkpoint drops the same units as the uninterrupted one.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from ..ops import check_floating
from ..rng import as_generator
from ..tensor import Tensor
from .module import Module


class DropoutFunction(Function):
    """y = x · scale where scale = m / (1 − p) is drawn by the caller (0 or 1/(1 − p))."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved
        return grad * scale                          # dL/dx = g · m / (1 − p)


def check_probability(p, where: str) -> float:
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout of ``x`` (module docstring); the identity unless ``training``.

    ``rng``: a numpy Generator or an int seed (None: tinyquant's default Generator)."""
    p = check_probability(p, "dropout")
    check_floating("dropout", "input", x)
    if not training or p == 0.0:
        return x
    keep = as_generator(rng).random(x.shape) >= p    # P(keep) = 1 − p
    scale = keep * np.asarray(0.0 if p == 1.0 else 1.0 / (1.0 - p), dtype=x.dtype)
    return DropoutFunction.apply(x, scale=scale.astype(x.dtype, copy=False))


class Dropout(Module):
    """``Dropout(p=0.5, rng=None)``: inverted dropout in training, the identity in eval.

    ``rng``: an int seed, or a Generator (or None: tinyquant's default Generator) from which
    the seed is drawn once, here. Buffers: ``seed`` and ``draws`` (masks drawn so far);
    mask k comes from its own child stream of ``seed`` (module docstring).
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        self.p = check_probability(p, "Dropout")
        seed = rng if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) \
            else as_generator(rng).integers(2**63)
        if seed < 0:
            raise ValueError(f"Dropout: an int rng is a seed and must be >= 0, got {rng!r}")
        self.register_buffer("seed", np.array(seed, dtype=np.int64))
        self.register_buffer("draws", np.zeros((), dtype=np.int64))

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return dropout(x, self.p, False)
        rng = np.random.default_rng(np.random.SeedSequence(int(self.seed), spawn_key=(int(self.draws),)))
        self.draws += 1
        return dropout(x, self.p, True, rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
