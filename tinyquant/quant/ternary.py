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
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from .base import Quantizer, check_tensor, scalar_parameter
from .functional import (  # noqa: F401 - inverse_mills_ratio is re-exported
    clip_threshold,
    clip_threshold_grad,
    inverse_mills_ratio,
    ternarize,
    truncated_gaussian_scale,
    truncated_gaussian_scale_grad,
)

# ---------------------------------------------------------------------- TWN


class TWNFunction(Function):
    """ŵ = α·sign(w)·1[|w| > Δ], Δ = r·E|w| (r = 0.7), α = mean|w| over |w| > Δ; ∂ŵ/∂w ≈ F'(w)."""

    @staticmethod
    def forward(ctx, w, ste=None, ratio=0.7):
        delta = ratio * np.mean(np.abs(w))                       # TWN eq. 11
        tern = ternarize(w, delta)
        alpha = np.mean(np.abs(w)[tern != 0]) if tern.any() else 0.0  # TWN eq. 9
        ctx.save_for_backward(w)
        ctx.ste = ste
        return (alpha * tern).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved
        return grad * ctx.ste.dF(w)                              # α and Δ held constant


class TWN(Quantizer):
    """Ternary Weight Networks: threshold 0.7·E|w|, scale α = mean of the surviving |w|."""

    name = "twn"
    num_levels = 3

    def __init__(self, ste="identity", ratio: float = 0.7):
        super().__init__(ste)
        if not (isinstance(ratio, numbers.Real) and ratio >= 0):
            raise ValueError(f"twn: ratio must be a number >= 0, got {ratio!r}")
        self.ratio = float(ratio)

    def forward(self, w):
        check_tensor(self.name, w)
        return TWNFunction.apply(w, ste=self.ste, ratio=self.ratio)


# ---------------------------------------------------------------------- TTQ


class TTQFunction(Function):
    """ŵ = W_p·1[w > Δ] − W_n·1[w < −Δ],  Δ = t·max|w|  (TTQ eqs. 6–7).

    Backward (TTQ eq. 8):  ∂L/∂w = g·F'(w)·{W_p if w > Δ; 1 if |w| ≤ Δ; W_n if w < −Δ}
    (F' = 1 for the ``identity`` STE gives TTQ exactly);  ∂L/∂W_p = Σ_{w > Δ} g,
    ∂L/∂W_n = −Σ_{w < −Δ} g. TTQ prints the latter without the minus sign; the chain
    rule on ŵ = −W_n gives it (gradcheck confirms), and we store W_n > 0 as TTQ does.
    """

    @staticmethod
    def forward(ctx, w, w_p, w_n, t=0.05, ste=None):
        tern = ternarize(w, t * np.max(np.abs(w)))
        pos, neg = tern > 0, tern < 0
        ctx.save_for_backward(w, pos, neg, w_p, w_n)
        ctx.ste = ste
        return (w_p * pos - w_n * neg).astype(w.dtype)

    @staticmethod
    def backward(ctx, grad):
        w, pos, neg, w_p, w_n = ctx.saved
        dw = grad * ctx.ste.dF(w) * np.where(pos, w_p, np.where(neg, w_n, 1))
        dw_p = np.sum(grad * pos)                               # ∂ŵ/∂W_p = 1[w > Δ]
        dw_n = -np.sum(grad * neg)                              # ∂ŵ/∂W_n = −1[w < −Δ]
        return dw, dw_p, dw_n


class TTQ(Quantizer):
    """Trained Ternary Quantization: Δ = t·max|w| (t = 0.05), learned scales W_p, W_n.

    W_p and W_n are initialized on the first training forward to the mean of the weights
    above Δ and of |w| below −Δ (TWN's α, taken on each side).
    """

    name = "ttq"
    num_levels = 3

    def __init__(self, t: float = 0.05, ste="identity"):
        super().__init__(ste)
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t < 1:
            raise ValueError(f"ttq: threshold factor t must be in [0, 1), got {t!r}")
        self.t = float(t)
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
        return TTQFunction.apply(w, w_p, w_n, t=self.t, ste=self.ste)

    def scale(self, w):
        return np.where(np.asarray(w) < 0, self.w_n.data, self.w_p.data)


# -------------------------------------------- seed 001: truncated Gaussian


class TruncatedGaussianTernaryFunction(Function):
    """Seed 001: ŵ = S(μ, σ, δ_c)·Tern(w, μ, δ_c), δ_c = hardtanh(|δ|, 0, 3σ) (eqs. 9–11).

    μ, σ are the layer's weight mean and standard deviation, held constant in backward.
    Backward:
      ∂L/∂w_i = g_i·S·∂Tern/∂w_i,  ∂Tern/∂w = F'(w)/S with gradient correctness (eq. 15),
                F'(w) without; so ∂L/∂w_i = g_i·F'(w_i) or g_i·S·F'(w_i)
      ∂L/∂δ   = Σ_i g_i·Tern_i · ∂S/∂δ_c · ∂δ_c/∂δ,
                ∂δ_c/∂δ = sign(δ)·1[0 < |δ| < 3σ]   (hardtanh of |δ|, eq. 8)
    """

    @staticmethod
    def forward(ctx, w, delta, correctness=True, ste=None, ddof=1):
        mu = np.mean(w, dtype=np.float64)
        sigma = max(float(np.std(w, ddof=ddof if w.size > ddof else 0, dtype=np.float64)), 1e-30)
        dc = clip_threshold(delta, sigma)                                # eq. 9
        S = truncated_gaussian_scale(mu, sigma, dc)                      # eq. 10
        tern = ternarize(w, dc, mu)                                     # eq. 11
        ctx.save_for_backward(w, delta, tern)
        ctx.S, ctx.sigma, ctx.dc, ctx.mu = float(S), sigma, float(dc), mu
        ctx.correctness, ctx.ste = correctness, ste
        return (S * tern).astype(w.dtype)                               # eq. 2

    @staticmethod
    def backward(ctx, grad):
        w, delta, tern = ctx.saved
        surrogate = ctx.ste.dF(w)
        dw = grad * surrogate if ctx.correctness else grad * ctx.S * surrogate   # eq. 15
        ddelta = (np.sum(grad * tern) * truncated_gaussian_scale_grad(ctx.mu, ctx.sigma, ctx.dc)
                  * clip_threshold_grad(delta, ctx.sigma))                # eq. 8
        return dw, ddelta


class TruncatedGaussianTernary(Quantizer):
    """Seed 001's ternarizer with a trainable threshold δ (one per layer).

    δ is initialized to ``init_factor``·max|w| (0.1, the best row of seed 001's Table I) on
    the first training forward. ``gradient_correctness`` (default True) is eq. 15. ``ddof``
    = 1 matches PyTorch's ``w.std()`` used by the paper's Algorithm 1 (line 7). Do not put
    weight decay on δ (seed 001, §III-B): :func:`tinyquant.quant.config.param_groups` does not.
    """

    name = "truncated_gaussian_ternary"
    num_levels = 3

    def __init__(self, gradient_correctness: bool = True, ste="identity", init_factor: float = 0.1,
                 ddof: int = 1):
        super().__init__(ste)
        if isinstance(init_factor, bool) or not isinstance(init_factor, numbers.Real) or init_factor < 0:
            raise ValueError(f"truncated_gaussian_ternary: init_factor must be >= 0 (a negative "
                             f"threshold is meaningless), got {init_factor!r}")
        self.gradient_correctness = bool(gradient_correctness)
        self.init_factor, self.ddof = float(init_factor), int(ddof)
        self.delta = scalar_parameter(0.0)

    def initialize(self, w):
        self.delta.data[...] = self.init_factor * np.max(np.abs(w))

    def forward(self, w):
        check_tensor(self.name, w)
        self.maybe_initialize(w.data)
        delta = self.delta if self.delta.dtype == w.dtype else self.delta.astype(w.dtype)
        return TruncatedGaussianTernaryFunction.apply(
            w, delta, correctness=self.gradient_correctness, ste=self.ste, ddof=self.ddof)

    def scale(self, w):
        return np.max(np.abs(self.quantize(w)))


__all__ = ["TWN", "TTQ", "TruncatedGaussianTernary", "inverse_mills_ratio",
           "truncated_gaussian_scale", "truncated_gaussian_scale_grad"]
