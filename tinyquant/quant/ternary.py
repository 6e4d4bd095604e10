"""Ternary weight quantizers: TWN, TTQ and seed 001's trainable-threshold ternarizer.

Every ternarizer outputs values in {−a, 0, +b}; thresholds decide which weights become 0.

* ``twn``  Δ = 0.7·E|w|, ŵ = α·sign(w)·1[|w| > Δ], α = mean of |w| over |w| > Δ
  (Li & Liu, Ternary Weight Networks, 2016, eqs. 9 and 11); per layer; STE ∂ŵ/∂w ≈ F'(w).
* ``ttq``  Δ = t·max|w| (t = 0.05), ŵ = W_p if w > Δ, 0 if |w| ≤ Δ, −W_n if w < −Δ, with
  learned W_p, W_n > 0 (Zhu et al., Trained Ternary Quantization, ICLR 2017, eqs. 6–8).
* ``truncated_gaussian_ternary``  seed 001, eqs. 2 and 9–11: a trainable threshold δ,
  ŵ = S(μ, σ, δ_c)·Tern(w, μ, δ_c) with δ_c = hardtanh(|δ|, 0, 3σ) and S the closed-form
  mean of a truncated Gaussian, differentiable in δ; STE with gradient correctness
  ∂Tern/∂w = 1/S (eq. 15).

The STE kernel. By default each ternarizer applies the sign kernel F'(w) centred at 0, as its
paper does (TWN and TTQ with the identity STE; seed 001's eq. 15): with a non-identity kernel
(``polynomial``, ``tanh``, …) the surrogate then peaks at w = 0, where the output is 0, not at
the thresholds ±Δ where it jumps. ``staircase=True`` applies instead the staircase rule of
:mod:`~tinyquant.quant.ste` to the ternary staircase -- two steps, at μ − Δ and μ + Δ, of the
heights of the output jumps (α and α for TWN, W_n and W_p for TTQ, 1 and 1 for seed 001's Tern),
with kernel width Δ (half the distance between the thresholds, as UniQ's Δ/2 is half a step):

    ∂ŵ/∂w ≈ (h₋/(2Δ))·F'((w − μ + Δ)/Δ) + (h₊/(2Δ))·F'((w − μ − Δ)/Δ)       (:func:`ternary_staircase`)

With the ``clipped`` kernel the two windows tile [μ − 2Δ, μ + 2Δ]. A threshold Δ = 0 merges the
steps into one sign step at μ of height h₋ + h₊, width 1.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from .ste import staircase_derivative
from .base import Quantizer, check_tensor, scalar_parameter
from .functional import (  # noqa: F401 - inverse_mills_ratio is re-exported
    clip_threshold,
    clip_threshold_grad,
    inverse_mills_ratio,
    ternarize,
    truncated_gaussian_scale,
    truncated_gaussian_scale_grad,
)
from .registry import register_quantizer



def ternary_staircase(ste, w, mu, delta, low, high):
    """The staircase rule on a ternary staircase (see the module docstring): steps of height
    ``low`` at μ − Δ and ``high`` at μ + Δ, kernel width Δ (one sign step at μ if Δ = 0)."""
    if delta > 0:
        d = staircase_derivative(ste, w, [mu - delta, mu + delta], [low, high], delta)
    else:
        d = staircase_derivative(ste, w, [mu], [low + high], 1.0)
    return d.astype(np.asarray(w).dtype)


def check_flag(owner: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


# ---------------------------------------------------------------------- TWN


class TWNFunction(Function):
    """ŵ = α·sign(w)·1[|w| > Δ], Δ = r·E|w| (r = 0.7), α = mean|w| over |w| > Δ.

    Backward, α and Δ held constant: ∂ŵ/∂w ≈ F'(w) (TWN's STE), or with ``staircase`` the
    two steps of height α at ±Δ (module docstring).
    """

    @staticmethod
    def forward(ctx, w, ste=None, ratio=0.7, staircase=False):
        delta = ratio * np.mean(np.abs(w))                       # TWN eq. 11
        tern = ternarize(w, delta)
        alpha = np.mean(np.abs(w)[tern != 0]) if tern.any() else 0.0  # TWN eq. 9
        ctx.save_for_backward(w)
        ctx.ste, ctx.staircase, ctx.delta, ctx.alpha = ste, staircase, float(delta), float(alpha)
        return (alpha * tern).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved
        if ctx.staircase:
            return grad * ternary_staircase(ctx.ste, w, 0.0, ctx.delta, ctx.alpha, ctx.alpha)
        return grad * ctx.ste.dF(w)                              # sign kernel at 0


@register_quantizer(kind="weight", num_levels=3, levels="{−α, 0, +α}, α = mean of |w| over |w| > Δ",
                    symmetric=True, idempotent=True, reference=("TWN (Li & Liu 2016)", "eqs. 9, 11"),
                    formula="ŵ = α·sign(w)·1[|w| > Δ], Δ = 0.7·E|w|")
class TWN(Quantizer):
    """Ternary Weight Networks: threshold 0.7·E|w|, scale α = mean of the surviving |w|.

    ``staircase=True`` centres the STE kernel on ±Δ (module docstring) instead of 0.
    """

    name = "twn"
    num_levels = 3

    def __init__(self, ste="identity", ratio: float = 0.7, staircase: bool = False):
        super().__init__(ste)
        if not (isinstance(ratio, numbers.Real) and ratio >= 0):
            raise ValueError(f"twn: ratio must be a number >= 0, got {ratio!r}")
        self.ratio = float(ratio)
        self.staircase = check_flag(self.name, "staircase", staircase)

    def forward(self, w):
        check_tensor(self.name, w)
        return TWNFunction.apply(w, ste=self.ste, ratio=self.ratio, staircase=self.staircase)


# ---------------------------------------------------------------------- TTQ


class TTQFunction(Function):
    """ŵ = W_p·1[w > Δ] − W_n·1[w < −Δ],  Δ = t·max|w|  (TTQ eqs. 6–7).

    Backward (TTQ eq. 8):  ∂L/∂w = g·F'(w)·{W_p if w > Δ; 1 if |w| ≤ Δ; W_n if w < −Δ}
    (F' = 1 for the ``identity`` STE gives TTQ exactly; ``staircase`` replaces this by the
    steps W_n at −Δ and W_p at +Δ, module docstring);  ∂L/∂W_p = Σ_{w > Δ} g and

        ∂L/∂W_n = −Σ_{w < −Δ} g.

    What TTQ prints: eq. 8 gives ∂L/∂W_n = Σ_{w < −Δ} g, without the minus sign. That is the
    derivative with respect to the *signed* level ŵ = W_n (W_n < 0); TTQ's eq. 6 writes the
    level as −W_n with W_n > 0, and so do we (W_n is a positive scale, as are the clipping
    bound f·W_n and the init from |w|), so the chain rule on ŵ = −W_n gives the minus sign
    (the finite-difference tests confirm it). Using the printed sign with W_n > 0 would move
    W_n the wrong way; there is no reason to offer it.
    """

    @staticmethod
    def forward(ctx, w, w_p, w_n, t=0.05, ste=None, staircase=False):
        delta = t * np.max(np.abs(w))
        tern = ternarize(w, delta)
        pos, neg = tern > 0, tern < 0
        ctx.save_for_backward(w, pos, neg, w_p, w_n)
        ctx.ste, ctx.staircase, ctx.delta = ste, staircase, float(delta)
        return (w_p * pos - w_n * neg).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        w, pos, neg, w_p, w_n = ctx.saved
        if ctx.staircase:
            dw = grad * ternary_staircase(ctx.ste, w, 0.0, ctx.delta, float(w_n), float(w_p))
        else:
            dw = grad * ctx.ste.dF(w) * np.where(pos, w_p, np.where(neg, w_n, 1))
        dw_p = np.sum(grad * pos)                               # ∂ŵ/∂W_p = 1[w > Δ]
        dw_n = -np.sum(grad * neg)                              # ∂ŵ/∂W_n = −1[w < −Δ]
        return dw, dw_p, dw_n


@register_quantizer(kind="weight", num_levels=3, levels="{−W_n, 0, +W_p}, learned W_p, W_n > 0",
                    symmetric=False, idempotent=False, parameters=("w_p", "w_n"),
                    reference=("TTQ (Zhu et al., ICLR 2017)", "eqs. 6–8"),
                    formula="ŵ = W_p·1[w > Δ] − W_n·1[w < −Δ], Δ = t·max|w| (t = 0.05)")
class TTQ(Quantizer):
    """Trained Ternary Quantization: Δ = t·max|w| (t = 0.05), learned scales W_p, W_n.

    W_p and W_n are initialized on the first training forward to the mean of the weights
    above Δ and of |w| below −Δ (TWN's α, taken on each side). ``staircase=True`` centres the
    STE kernel on ±Δ (module docstring) instead of TTQ's eq. 8.
    """

    name = "ttq"
    num_levels = 3

    def __init__(self, t: float = 0.05, ste="identity", staircase: bool = False):
        super().__init__(ste)
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t < 1:
            raise ValueError(f"ttq: threshold factor t must be in [0, 1), got {t!r}")
        self.t = float(t)
        self.staircase = check_flag(self.name, "staircase", staircase)
        self.w_p = scalar_parameter(1.0)
        self.w_n = scalar_parameter(1.0)

    def initialize(self, w):
        delta = self.t * np.max(np.abs(w))
        pos, neg = w[w > delta], -w[w < -delta]
        self.w_p.data[...] = pos.mean() if pos.size else np.max(np.abs(w))
        self.w_n.data[...] = neg.mean() if neg.size else np.max(np.abs(w))

    def forward(self, w):
        check_tensor(self.name, w)
        self.maybe_initialize(w.data)
        w_p, w_n = self.w_p, self.w_n
        if w_p.dtype != w.dtype:  # float64 gradient checks
            w_p, w_n = w_p.astype(w.dtype), w_n.astype(w.dtype)
        return TTQFunction.apply(w, w_p, w_n, t=self.t, ste=self.ste, staircase=self.staircase)

    def scale(self, w):
        return np.where(np.asarray(w) < 0, self.w_n.data, self.w_p.data)


# -------------------------------------------- seed 001: truncated Gaussian


class TruncatedGaussianTernaryFunction(Function):
    """Seed 001: ŵ = S(μ, σ, δ_c)·Tern(w, μ, δ_c), δ_c = hardtanh(|δ|, 0, 3σ) (eqs. 9–11).

    μ, σ are the layer's weight mean and standard deviation, held constant in backward.
    Backward:
      ∂L/∂w_i = g_i·S·∂Tern/∂w_i,  ∂Tern/∂w = F'(w)/S with gradient correctness (eq. 15),
                F'(w) without; so ∂L/∂w_i = g_i·F'(w_i) or g_i·S·F'(w_i)
                (``staircase``: F'(w) replaced by Tern's two unit steps at μ ± δ_c, width δ_c)
      ∂L/∂δ   = Σ_i g_i·Tern_i · ∂S/∂δ_c · ∂δ_c/∂δ,
                ∂δ_c/∂δ = sign(δ)·1[0 < |δ| < 3σ]   (hardtanh of |δ|, eq. 8)
    """

    @staticmethod
    def forward(ctx, w, delta, correctness=True, ste=None, ddof=1, staircase=False):
        mu = np.mean(w, dtype=np.float64)
        sigma = max(float(np.std(w, ddof=ddof if w.size > ddof else 0, dtype=np.float64)), 1e-30)
        dc = clip_threshold(delta, sigma)                                # eq. 9
        S = truncated_gaussian_scale(mu, sigma, dc)                      # eq. 10
        tern = ternarize(w, dc, mu)                                     # eq. 11
        ctx.save_for_backward(w, delta, tern)
        ctx.S, ctx.sigma, ctx.dc, ctx.mu = float(S), sigma, float(dc), mu
        ctx.correctness, ctx.ste, ctx.staircase = correctness, ste, staircase
        return (S * tern).astype(w.dtype)                               # eq. 2

    @staticmethod
    def backward(ctx, grad):
        w, delta, tern = ctx.saved
        if ctx.staircase:
            surrogate = ternary_staircase(ctx.ste, w, ctx.mu, ctx.dc, 1.0, 1.0)
        else:
            surrogate = ctx.ste.dF(w)                                   # sign kernel at 0
        dw = grad * surrogate if ctx.correctness else grad * ctx.S * surrogate   # eq. 15
        ddelta = (np.sum(grad * tern) * truncated_gaussian_scale_grad(ctx.mu, ctx.sigma, ctx.dc)
                  * clip_threshold_grad(delta, ctx.sigma))                # eq. 8
        return dw, ddelta


@register_quantizer(kind="weight", num_levels=3, levels="{−S, 0, +S}, S = μ + σ·λ(δ_c/σ)",
                    symmetric=False, idempotent=False, parameters=("delta",),
                    reference=("seed 001", "eqs. 2, 9–11, 15"),
                    formula="ŵ = S(μ, σ, δ_c)·Tern(w, μ, δ_c), δ_c = hardtanh(|δ|, 0, 3σ), "
                            "Tern = 1[w > μ + δ_c] − 1[w < μ − δ_c]")
class TruncatedGaussianTernary(Quantizer):
    """Seed 001's ternarizer with a trainable threshold δ (one per layer).

    δ is initialized to ``init_factor``·max|w| (0.1, the best row of seed 001's Table I) on
    the first training forward. ``gradient_correctness`` (default True) is eq. 15. ``ddof``
    = 1 matches PyTorch's ``w.std()`` used by the paper's Algorithm 1 (line 7). Do not put
    weight decay on δ (seed 001, §III-B): :func:`tinyquant.quant.config.param_groups` does not.
    ``staircase=True`` centres the STE kernel on μ ± δ_c (module docstring) instead of 0.
    """

    name = "truncated_gaussian_ternary"
    num_levels = 3

    def __init__(self, gradient_correctness: bool = True, ste="identity", init_factor: float = 0.1,
                 ddof: int = 1, staircase: bool = False):
        super().__init__(ste)
        if isinstance(init_factor, bool) or not isinstance(init_factor, numbers.Real) or init_factor < 0:
            raise ValueError(f"truncated_gaussian_ternary: init_factor must be >= 0 (a negative "
                             f"threshold is meaningless), got {init_factor!r}")
        self.gradient_correctness = bool(gradient_correctness)
        self.init_factor, self.ddof = float(init_factor), int(ddof)
        self.staircase = check_flag(self.name, "staircase", staircase)
        self.delta = scalar_parameter(0.0)

    def initialize(self, w):
        self.delta.data[...] = self.init_factor * np.max(np.abs(w))

    def forward(self, w):
        check_tensor(self.name, w)
        self.maybe_initialize(w.data)
        delta = self.delta if self.delta.dtype == w.dtype else self.delta.astype(w.dtype)
        return TruncatedGaussianTernaryFunction.apply(
            w, delta, correctness=self.gradient_correctness, ste=self.ste, ddof=self.ddof,
            staircase=self.staircase)

    def scale(self, w):
        return np.max(np.abs(self.quantize(w)))


__all__ = ["TWN", "TTQ", "TruncatedGaussianTernary", "inverse_mills_ratio", "ternary_staircase",
           "truncated_gaussian_scale", "truncated_gaussian_scale_grad"]
