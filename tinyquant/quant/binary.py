"""Binary weight quantizers: BinaryConnect's sign (deterministic and stochastic) and XNOR/BWN.

Convention: sign(0) = +1 everywhere in tinyquant (a binary weight is never 0), as in
seed 004 eq. 1 (x_b = +1 if x ≥ 0).

* ``binary_connect``  w_b = sign(w)                                   (seed 002, §3, BC)
* ``stochastic_binary`` w_b = +1 with probability σ_h(w) = clip((w + 1)/2, 0, 1), else −1
  (BinaryConnect's stochastic binarization with the hard sigmoid; in eval mode the
  deterministic sign is used)
* ``xnor``  w_b = α_o·sign(w), α_o = mean|w| over output filter o (XNOR-Net / BWN)

Backward of sign: ∂w_b/∂w ≈ F'(w), the chosen STE (default ``clipped``: 1[|w| ≤ 1]).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..rng import as_generator
from .base import Quantizer, check_tensor
from .functional import sign
from .registry import register_quantizer


class SignFunction(Function):
    """w_b = sign(w) (or a stochastic sign); ∂w_b/∂w ≈ F'(w)."""

    @staticmethod
    def forward(ctx, w, ste=None, rng=None):
        ctx.save_for_backward(w)
        ctx.ste = ste
        if rng is None:
            return sign(w)
        p = np.clip((w + 1) / 2, 0, 1)                            # hard sigmoid σ_h(w)
        return np.where(rng.random(w.shape) < p, 1, -1).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved
        return grad * ctx.ste.dF(w)                               # STE: dsign/dw ≈ F'(w)


@register_quantizer(kind="weight", num_levels=2, levels="{−1, +1}, sign(0) = +1", symmetric=True,
                    idempotent=True, reference=("seed 002", "§3"),
                    formula="w_b = sign(w), sign(0) = +1 (stochastic=True: +1 with probability clip((w + 1)/2, 0, 1))")
class BinaryConnect(Quantizer):
    """sign(w) with an STE (default ``clipped``), deterministic or stochastic.

    ``stochastic=True`` draws +1 with probability clip((w + 1)/2, 0, 1) from ``rng``
    (a Generator or seed) in training mode; E[w_b] = clip(w, −1, 1).
    """

    name = "binary_connect"
    num_levels = 2

    def __init__(self, ste="clipped", stochastic: bool = False, rng=None):
        super().__init__(ste)
        self.stochastic = bool(stochastic)
        self.rng = as_generator(rng) if stochastic else None

    def forward(self, w):
        check_tensor(self.name, w)
        rng = self.rng if (self.stochastic and self.training) else None
        return SignFunction.apply(w, ste=self.ste, rng=rng)

    def scale(self, w):
        return np.ones((), dtype=np.asarray(w).dtype)


@register_quantizer(kind="weight", num_levels=2, levels="{−1, +1}", symmetric=False, idempotent=True,
                    stochastic=True, reference=("BinaryConnect (Courbariaux et al. 2015)", "stochastic binarization, hard sigmoid"),
                    formula="w_b = +1 with probability σ_h(w) = clip((w + 1)/2, 0, 1), else −1 (training)")
class StochasticBinary(BinaryConnect):
    """BinaryConnect's stochastic binarization (hard sigmoid); see :class:`BinaryConnect`."""

    name = "stochastic_binary"

    def __init__(self, ste="clipped", rng=None):
        super().__init__(ste, stochastic=True, rng=rng)


def filter_mean_abs(w: np.ndarray) -> np.ndarray:
    """α_o = mean of |w| over every axis but the first (one scale per output filter)."""
    if w.ndim < 2:
        return np.asarray(np.mean(np.abs(w)), dtype=w.dtype)
    return np.mean(np.abs(w), axis=tuple(range(1, w.ndim)), keepdims=True)


class XNORFunction(Function):
    """w_b = α·sign(w), α = mean|w| per output filter (XNOR-Net, Rastegari et al. 2016, eq. 4).

    Backward, exact chain rule through α (∂α/∂w_j = sign(w_j)/n, n entries per filter):

        ∂L/∂w_j = α·F'(w_j)·g_j  +  (sign(w_j)/n)·Σ_i g_i·sign(w_i)

    XNOR-Net prints ∂C/∂W_j = g_j·(1/n + α·∂sign/∂W_j), which keeps only the diagonal
    i = j of the second term; ``scale_grad=False`` drops the α path altogether (BWN-style).
    """

    @staticmethod
    def forward(ctx, w, ste=None, scale_grad=True):
        alpha = filter_mean_abs(w)
        s = sign(w)
        ctx.save_for_backward(w, alpha, s)
        ctx.ste, ctx.scale_grad = ste, scale_grad
        return (alpha * s).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        w, alpha, s = ctx.saved
        dw = alpha * ctx.ste.dF(w) * grad                          # through sign (STE)
        if ctx.scale_grad:
            axes = tuple(range(1, w.ndim)) if w.ndim > 1 else None
            dw = dw + s * np.mean(grad * s, axis=axes, keepdims=w.ndim > 1)  # through α
        return dw


@register_quantizer(kind="weight", num_levels=2, levels="{−α_o, +α_o}, α_o = mean|w| over output filter o",
                    symmetric=True, idempotent=True, reference=("XNOR-Net (Rastegari et al. 2016)", "eq. 4"),
                    formula="w_b = α_o·sign(w), α_o = mean|w| per output filter")
class XNOR(Quantizer):
    """XNOR-Net / BWN binary weights: α_o·sign(w) with α_o = mean|w| per output filter.

    ``ste`` (default ``identity``, seed 000's XNOR baseline) replaces ∂sign/∂w;
    ``scale_grad`` keeps the gradient through α (see :class:`XNORFunction`).
    """

    name = "xnor"
    num_levels = 2

    def __init__(self, ste="identity", scale_grad: bool = True):
        super().__init__(ste)
        self.scale_grad = bool(scale_grad)

    def forward(self, w):
        check_tensor(self.name, w)
        return XNORFunction.apply(w, ste=self.ste, scale_grad=self.scale_grad)

    def scale(self, w):
        return filter_mean_abs(np.asarray(w))


__all__ = ["BinaryConnect", "StochasticBinary", "XNOR", "SignFunction", "XNORFunction", "sign",
           "filter_mean_abs"]
