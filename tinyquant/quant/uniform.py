"""Multi-bit uniform quantizers: UniQ (weights, activations), LSQ, DoReFa, and rounding on ΔZ.

Notation (seed 003, §4.1): N reconstruction levels, step size Δ, clip_N(u) = min(max(u, 0), N − 1),
⌊·⌉ rounding to the nearest integer with ties to even (``np.round``; the papers leave ties
unspecified, and ties have probability zero for continuous inputs).

* ``uniq``  Q_w(x) = ⌊clip_N((x + α)/Δ)⌉·Δ − α,  α = Δ·(N − 1)/2     (seed 003, eq. 3)
            = q̂_w·Δ/2 with q̂_w = 2⌊clip_N((x + α)/Δ)⌉ − N + 1       (eq. 4)
  Levels ±Δ/2, ±3Δ/2, …, ±α: an odd function of x. The paper's symmetric quantizer is
  symmetric "in the strict sense" and does not have 0 as a level, and q̂_w is encoded in
  ⌈log₂N⌉ bits with ±1 digits, which gives odd integers only: N must be *even*. An odd N
  (whose grid would contain 0) raises a ValueError; use ``bits`` (N = 2^bits) or an even
  ``levels``. Learned Δ with the gradient of eq. 6; Δ initialized to Δᵤ(N)·std(w) (eq. 9),
  Δᵤ from the MSE-optimal step-size solver :func:`.functional.optimal_unit_step`.
* ``uniq_activation``  Q_a(x) = ⌊clip_N(x/Δ)⌉·Δ (eq. 5), levels 0, Δ, …, (N − 1)Δ;
  Δ initialized to Δᵤ_a(N)·√(2E[x²]) (eq. 10), the maximum over the first ``init_batches``.
* ``lsq``, ``lsq_activation``  LSQ (Esser et al. 2019): Q(x) = ⌊clip(x/s, −Q_n, Q_p)⌉·s,
  semi-symmetric for weights (Q_n = 2^(b−1), Q_p = 2^(b−1) − 1), unsigned for activations
  (Q_n = 0, Q_p = 2^b − 1); step gradient scaled by 1/√(N·Q_p); s initialized to
  2·E|x|/√Q_p (seed 003, §5.2).
* ``dorefa``  w_q = 2·quantize_k(tanh(w)/(2·max|tanh(w)|) + 1/2) − 1 (seed 003, eq. 2), with
  quantize_k(x) = ⌊x·(2^k − 1)⌉/(2^k − 1); ``dorefa_activation`` quantize_k(clip(x, 0, 1)).
* ``deterministic_round``, ``stochastic_round``  seed 002's Qd (eq. 3) and Qs (eq. 5) on the
  grid ΔZ, from :mod:`tinyquant.quant.rounding`, with the identity STE of BinaryConnect
  (eq. 7: the gradient at Q(w_r) updates w_r).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import Function
from ..nn.module import Parameter
from ..rng import as_generator
from . import functional as F
from .base import Quantizer, check_bits, check_positive, check_tensor, scalar_parameter
from .functional import optimal_unit_step  # noqa: F401 - re-exported (seed 003, eqs. 7–10)
from .registry import MAX_BITS, register_quantizer
from .rounding import check_ties, deterministic_round, stochastic_round
from .ste import staircase_derivative


STEP_INITS = ("optimal", "lsq")

#: the smallest initial step: an all-zero first input (a zero-initialized layer, a dead ReLU)
#: would give Δ = 0 and then 0/0 = NaN in every forward; with the floor it quantizes to 0
STEP_FLOOR = 1e-8


def floored_step(step):
    """An initial step (a scalar, or one per channel), at least :data:`STEP_FLOOR` (no NaN
    from an all-zero input)."""
    return np.maximum(np.asarray(step, dtype=np.float64), STEP_FLOOR)


def check_step_init(owner: str, step_init):
    """``step_init``: "optimal" (eqs. 9–10), "lsq" (LSQ's 2·E|x|/√Q_P) or a fixed positive step
    (seed 003, §5.2 and Table 5 compare 0.1, 0.2, LSQ's and the optimal initialization).
    Returns the name, or the step as a float."""
    if isinstance(step_init, str):
        if step_init in STEP_INITS:
            return step_init
        try:
            step_init = float(step_init)
        except ValueError:
            raise ValueError(f"{owner}: step_init must be one of {', '.join(STEP_INITS)} or a "
                             f"positive number, got {step_init!r}") from None
    if isinstance(step_init, bool) or not isinstance(step_init, numbers.Real) \
            or not (math.isfinite(step_init) and step_init > 0):
        raise ValueError(f"{owner}: step_init must be one of {', '.join(STEP_INITS)} or a "
                         f"positive finite number, got {step_init!r}")
    return float(step_init)


def lsq_unit_step(x, qp: int) -> float:
    """LSQ's step initialization 2·E|x|/√Q_P (LSQ, Esser et al. 2020, §2.1; seed 003, §5.2:
    Q_P = 2^b − 1 for activations, 2^(b−1) − 1 for weights)."""
    return float(F.lsq_init_step(mean_abs(x), qp))


GRANULARITIES = ("layer", "channel")


def step_parameter(owner: str, granularity: str, channels) -> Parameter:
    """The learnable step: 0-d for ``granularity="layer"``, one per output channel (shape (C,))
    for ``"channel"``, seed 003 §5.1's kernel-wise weight quantization. ``channels`` = C,
    ``weight.shape[0]``, is needed up front so that a checkpoint loads before the first forward."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"{owner}: granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    if granularity == "layer":
        if channels is not None:
            raise ValueError(f"{owner}: channels={channels!r} needs granularity='channel'")
        return scalar_parameter(1.0)
    if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels < 1:
        raise ValueError(f"{owner}: granularity='channel' needs channels, the number of output channels "
                         f"(weight.shape[0]), as an integer >= 1, got {channels!r}")
    return Parameter(np.ones(int(channels), dtype=np.float32))


def per_channel(owner: str, step, w):
    """``step`` (Tensor or array) shaped to broadcast against ``w``: as is when 0-d, else
    (C, 1, …, 1), one step per output channel (the autograd engine sums the step's gradient
    back over each channel's weights)."""
    if step.ndim == 0:
        return step
    check_channels(owner, step, w)
    return step.reshape((-1,) + (1,) * (w.ndim - 1))


def check_channels(owner: str, step, w) -> None:
    if step.ndim and (w.ndim < 2 or w.shape[0] != step.shape[0]):
        raise ValueError(f"{owner}: the weight has shape {tuple(w.shape)} but the step is per output channel "
                         f"for {step.shape[0]} channels (granularity='channel', channels={step.shape[0]})")


def channel_statistic(fn, w, step):
    """``fn(w)`` for a layer-wise step; ``fn`` over each output channel's weights, shape (C,),
    for a kernel-wise one; a channel whose statistic is 0 (all its weights equal) takes the
    layer's value instead."""
    if step.ndim == 0:
        return fn(w)
    per = fn(w.reshape(step.shape[0], -1), axis=1)
    return np.where(per > 0, per, fn(w))


def mean_abs(x, axis=None):
    """E|x| in float64 (over ``axis``)."""
    return np.mean(np.abs(x), axis=axis, dtype=np.float64)


def std(x, axis=None):
    """The standard deviation in float64 (over ``axis``): x² overflows float32 past |x| ≈ 1.8e19."""
    return np.std(x, axis=axis, dtype=np.float64)


def symmetric_levels(owner: str, bits=None, levels=None, bounds=(1, MAX_BITS)) -> int:
    """N for a symmetric quantizer: 2^bits (``bounds`` on bits), or ``levels`` which must be
    even, >= 2 and <= 2^(the largest bit width)."""
    if (bits is None) == (levels is None):
        raise TypeError(f"{owner}: give exactly one of bits or levels, got bits={bits!r}, levels={levels!r}")
    if bits is not None:
        return 2 ** check_bits(owner, bits, *bounds)
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"{owner}: levels must be an integer, got {levels!r}")
    if levels > 2 ** bounds[1]:
        raise ValueError(f"{owner}: levels must be <= 2^{bounds[1]} = {2 ** bounds[1]}, got {levels}")
    if levels < 2 or levels % 2:
        raise ValueError(
            f"{owner}: levels must be an even integer >= 2, got {levels}: seed 003's symmetric "
            f"quantizer (eqs. 3-4) has the odd reconstruction levels q̂·Δ/2, q̂ = ±1, ±3, …, ±(N−1), "
            f"and no level at 0; an odd N would put a level at 0 (use a ternary quantizer for that)")
    return int(levels)


# ------------------------------------------------------------------ UniQ


class UniQWeightFunction(Function):
    """Q_w(x) = ⌊clip_N((x + α)/Δ)⌉·Δ − α, α = Δ(N − 1)/2  (seed 003, eq. 3).

    Backward, STE on ⌊·⌉ (unit derivative inside the clipping range):
      ∂Q_w/∂x = 1[|x| < α]      (or, with an STE kernel, the staircase rule over the N − 1
                                 thresholds (j + 1/2)Δ − α, heights Δ, width Δ/2)
      ∂Q_w/∂Δ = −x/Δ + ⌊x/Δ − 1/2⌉ + 1/2   if |x| < α        (eq. 6, N even)
              = sign(x)·(N − 1)/2            otherwise
    What eq. 6 prints for the clipped branch is "sign(x)α"; there Q_w = ±α = ±Δ(N − 1)/2, so
    the derivative is sign(x)·α/Δ = sign(x)(N − 1)/2 (dimensionless, as it must be: the
    printed sign(x)α has the units of x and scales the step's gradient by Δ). We compute the
    derivative; ``eq6="printed"`` computes sign(x)·α, for a reader reproducing the paper's
    formula literally (the finite-difference tests show it is not the derivative). Inside, we
    compute eq. 6's value as ⌊u⌉ − (N − 1)/2 − x/Δ with u = (x + α)/Δ.
    """

    @staticmethod
    def forward(ctx, x, step, levels=2, ste=None, eq6="derived"):
        r = F.weight_index(x, step, levels)                              # ⌊clip_N(·)⌉
        ctx.save_for_backward(x, step, r)
        ctx.levels, ctx.ste, ctx.eq6 = levels, ste, eq6
        return F.weight_level(r, step, levels).astype(x.dtype)          # eq. 3

    @staticmethod
    def backward(ctx, grad):
        x, step, r = ctx.saved
        n1 = ctx.levels - 1
        alpha = step * n1 / 2
        inside = np.abs(x) < alpha
        if ctx.ste is None:
            dx = grad * inside
        else:
            thresholds = (np.arange(n1) + 0.5) * step - alpha
            dx = grad * staircase_derivative(ctx.ste, x, thresholds, np.full(n1, step), step / 2)
        clipped = alpha if ctx.eq6 == "printed" else n1 / 2              # sign(x)·α vs sign(x)·α/Δ
        dq_dstep = np.where(inside, r - n1 / 2 - x / step, np.sign(x) * clipped)   # eq. 6
        return dx, grad * dq_dstep          # summed to the step's shape (per layer or channel)


@register_quantizer(kind="weight", bits=(1, MAX_BITS), symmetric=True, idempotent=True, parameters=("step",),
                    levels="±Δ/2, ±3Δ/2, …, ±Δ(N − 1)/2 (N = 2^bits, or an even levels)",
                    reference=("seed 003", "eqs. 3–4, 6, 9"),
                    formula="Q_w(x) = ⌊clip_N((x + α)/Δ)⌉·Δ − α, α = Δ(N − 1)/2")
class UniQ(Quantizer):
    """UniQ's symmetric uniform weight quantizer with a learnable step Δ (seed 003, §4).

    N = 2^bits levels (or an even ``levels``); Δ initialized on the first training forward
    to Δᵤ(N)·std(w) (eq. 9), or by ``step_init`` to LSQ's heuristic or a fixed value (Table 5).
    ``ste=None`` is the paper's STE; a registry name applies the staircase rule
    (``"clipped"`` reproduces the paper's STE exactly). ``eq6="printed"`` uses eq. 6's clipped
    branch as printed, sign(x)·α, instead of its derivative sign(x)·(N − 1)/2
    (:class:`UniQWeightFunction`). ``granularity="channel"`` (with
    ``channels`` = weight.shape[0]) learns one Δ per output channel, initialized from that
    channel's weights alone: the kernel-wise quantization of seed 003 §5.1.
    """

    name = "uniq"

    def __init__(self, bits: int | None = 2, levels: int | None = None, ste=None,
                 step_init="optimal", eq6: str = "derived", granularity: str = "layer",
                 channels: int | None = None):
        super().__init__(ste)
        if eq6 not in ("derived", "printed"):
            raise ValueError(f"{self.name}: eq6 must be 'derived' or 'printed', got {eq6!r}")
        self.eq6 = eq6
        if levels is not None:
            bits = None
        self.num_levels = symmetric_levels(self.name, bits, levels, self.facts.bits)
        self.step_init = check_step_init(self.name, step_init)
        if self.step_init == "lsq" and self.num_levels < 4:
            raise ValueError(f"{self.name}: step_init 'lsq' needs >= 2 bits (Q_P = 2^(b-1) - 1 "
                             f"is 0 at {self.num_levels} levels)")
        self.step = step_parameter(self.name, granularity, channels)

    def initialize(self, w):
        if self.step_init == "optimal":                             # eq. 9, per layer or channel
            step = optimal_unit_step(self.num_levels, "weight") * channel_statistic(std, w, self.step)
        elif self.step_init == "lsq":                               # Q_P = 2^(b−1) − 1
            step = F.lsq_init_step(channel_statistic(mean_abs, w, self.step), self.num_levels // 2 - 1)
        else:
            step = self.step_init                                   # a fixed value (Table 5)
        self.step.data[...] = floored_step(step)

    def forward(self, w):
        check_tensor(self.name, w)
        check_channels(self.name, self.step, w)
        self.maybe_initialize(w.data)
        step = self.step if self.step.dtype == w.dtype else self.step.astype(w.dtype)
        return UniQWeightFunction.apply(w, per_channel(self.name, step, w), levels=self.num_levels, ste=self.ste,
                                        eq6=self.eq6)

    def scale(self, w):                                              # α, the largest level
        return per_channel(self.name, self.step.data, np.asarray(w)) * (self.num_levels - 1) / 2

    def codes(self, w):
        w = np.asarray(w)
        k = F.weight_index(w, per_channel(self.name, self.step.data, w), self.num_levels).astype(np.int64)
        return 2 * k - (self.num_levels - 1)                            # q̂_w, eq. 4

    def extra_repr(self):
        return (f"levels={self.num_levels}" + (f", ste={self.ste!r}" if self.ste else "")
                + (f", channels={self.step.shape[0]}" if self.step.ndim else ""))


class UniQActivationFunction(Function):
    """Q_a(x) = ⌊clip_N(x/Δ)⌉·Δ  (seed 003, eq. 5).

    Backward (STE on ⌊·⌉, derived like eq. 6):
      ∂Q_a/∂x = 1[0 < x < (N − 1)Δ]
      ∂Q_a/∂Δ = ⌊x/Δ⌉ − x/Δ   inside,   N − 1 for x ≥ (N − 1)Δ,   0 for x ≤ 0
    """

    @staticmethod
    def forward(ctx, x, step, levels=2, ste=None):
        r = F.activation_index(x, step, levels)
        ctx.save_for_backward(x, step, r)
        ctx.levels, ctx.ste = levels, ste
        return (r * step).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, step, r = ctx.saved
        n1 = ctx.levels - 1
        inside = (x > 0) & (x < n1 * step)
        if ctx.ste is None:
            dx = grad * inside
        else:
            thresholds = (np.arange(n1) + 0.5) * step
            dx = grad * staircase_derivative(ctx.ste, x, thresholds, np.full(n1, step), step / 2)
        dq_dstep = np.where(inside, r - x / step, np.where(x >= n1 * step, n1, 0.0))
        return dx, np.sum(grad * dq_dstep)


@register_quantizer(kind="activation", bits=(1, MAX_BITS), symmetric=False, idempotent=True,
                    parameters=("step",), levels="0, Δ, …, (N − 1)Δ (N = 2^bits)",
                    reference=("seed 003", "eqs. 5, 10"), formula="Q_a(x) = ⌊clip_N(x/Δ)⌉·Δ")
class UniQActivation(Quantizer):
    """UniQ's activation quantizer (eq. 5): N = 2^bits levels 0, Δ, …, (N − 1)Δ.

    Δ is initialized from the first ``init_batches`` training batches to
    Δᵤ_a(N)·max_b √(2·E_b[x²]) (eq. 10; the maximum over batches as in §4.2), or by
    ``step_init`` to LSQ's 2·E|x|/√Q_P (maximum over the batches) or a fixed value (Table 5).
    """

    name = "uniq_activation"

    def __init__(self, bits: int = 2, ste=None, init_batches: int = 1, step_init="optimal"):
        super().__init__(ste)
        self.num_levels = 2 ** check_bits(self.name, bits, *self.facts.bits)
        if isinstance(init_batches, bool) or not isinstance(init_batches, numbers.Integral) or init_batches < 1:
            raise ValueError(f"{self.name}: init_batches (batches that estimate the step, seed 003 uses "
                             f"100-1000) must be an integer >= 1, got {init_batches!r}")
        self.init_batches = int(init_batches)
        self.step_init = check_step_init(self.name, step_init)
        self.step = scalar_parameter(1.0)
        self.register_buffer("seen_batches", np.zeros((), dtype=np.int64))
        self.register_buffer("sigma", np.zeros((), dtype=np.float64))

    def maybe_initialize(self, x):
        if self.training and int(self.seen_batches) < self.init_batches:
            if self.step_init == "optimal":
                self.sigma[...] = max(float(self.sigma), math.sqrt(2 * np.mean(np.square(x, dtype=np.float64))))
                self.step.data[...] = floored_step(
                    optimal_unit_step(self.num_levels, "activation") * self.sigma)           # eq. 10
            elif self.step_init == "lsq":   # 2·E|x|/√Q_P, Q_P = 2^b − 1; the max over batches
                step = floored_step(lsq_unit_step(x, self.num_levels - 1))
                self.step.data[...] = step if int(self.seen_batches) == 0 else max(float(self.step.data), step)
            else:
                self.step.data[...] = self.step_init
            self.seen_batches[...] += 1
            self.initialized[...] = True

    def forward(self, x):
        check_tensor(self.name, x)
        self.observe(x.data)
        self.maybe_initialize(x.data)
        step = self.step if self.step.dtype == x.dtype else self.step.astype(x.dtype)
        return UniQActivationFunction.apply(x, step, levels=self.num_levels, ste=self.ste)

    def scale(self, x):
        return self.step.data * (self.num_levels - 1)

    def codes(self, x):
        return F.activation_index(np.asarray(x), self.step.data, self.num_levels).astype(np.int64)


# ------------------------------------------------------------------- LSQ


class LSQFunction(Function):
    """Q(x) = ⌊clip(x/s, −Q_n, Q_p)⌉·s  (LSQ, Esser et al. 2019, eqs. 1–2).

    Backward (LSQ eq. 3, with the gradient scale g = 1/√(N·Q_p) of §2.2):
      ∂Q/∂x = 1[−Q_n < x/s < Q_p]
      ∂L/∂s = g · Σ_i g_i·{ ⌊x_i/s⌉ − x_i/s inside;  −Q_n below;  Q_p above }
    """

    @staticmethod
    def forward(ctx, x, s, qn=1, qp=1, grad_scale=1.0):
        v = x / s
        r = F.lsq_index(x, s, qn, qp)
        ctx.save_for_backward(v, r)
        ctx.qn, ctx.qp, ctx.grad_scale = qn, qp, grad_scale
        return (r * s).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        v, r = ctx.saved
        inside = (v > -ctx.qn) & (v < ctx.qp)
        dq_ds = np.where(inside, r - v, np.where(v <= -ctx.qn, -ctx.qn, ctx.qp))
        return grad * inside, ctx.grad_scale * grad * dq_ds      # summed to the step's shape


@register_quantizer(kind="weight", bits=(2, MAX_BITS), symmetric=False, idempotent=True, parameters=("s",),
                    levels="−Q_n·s, …, Q_p·s, Q_n = 2^(b−1), Q_p = 2^(b−1) − 1",
                    reference=("LSQ (Esser et al., ICLR 2020)", "eqs. 1–3, §2.2"),
                    formula="Q(x) = ⌊clip(x/s, −Q_n, Q_p)⌉·s")
class LSQ(Quantizer):
    """Learned Step Size Quantization (Esser, McKinstry, Bablani, Appuswamy, Modha, ICLR 2020;
    seed 003 [11], §5.2 and Table 5): Q(x) = ⌊clip(x/s, −Q_n, Q_p)⌉·s (LSQ eqs. 1–2) with a
    learned step s whose gradient is LSQ eq. 3 (:class:`LSQFunction`).

    ``signed=True`` (weights) is semi-symmetric, levels −Q_n·s … Q_p·s with Q_n = 2^(b−1),
    Q_p = 2^(b−1) − 1 (needs bits >= 2: at 1 bit Q_p = 0); ``signed=False`` (activations) has
    levels 0 … (2^b − 1)·s. s is initialized to 2·E|x|/√Q_p (LSQ §2.1). The step's gradient
    is scaled by g = 1/√(N·Q_p) (LSQ §2.2), N the number of weights, or of features per sample.
    ``granularity="channel"`` (weights, with ``channels`` = weight.shape[0]): one s per output
    channel (seed 003 §5.1), initialized from that channel alone; N is then the number of
    weights of one channel, the weights that share the step.
    """

    name = "lsq"

    def __init__(self, bits: int = 2, signed: bool = True, granularity: str = "layer",
                 channels: int | None = None):
        super().__init__(None)
        self.signed = bool(signed)
        facts = LSQ.facts if self.signed else LSQActivation.facts
        bits = check_bits(facts.name, bits, *facts.bits)
        self.qn, self.qp = F.lsq_bounds(bits, self.signed)
        self.num_levels = self.qn + self.qp + 1
        if granularity != "layer" and not self.signed:
            raise ValueError(f"lsq_activation: granularity must be 'layer' (seed 003 §5.1 quantizes "
                             f"activations layer-wise), got {granularity!r}")
        self.s = step_parameter(self.name, granularity, channels)

    def initialize(self, x):
        self.s.data[...] = floored_step(F.lsq_init_step(channel_statistic(mean_abs, x, self.s), self.qp))

    def forward(self, x):
        check_tensor(self.name, x)
        check_channels(self.name, self.s, x)
        self.observe(x.data)
        self.maybe_initialize(x.data)
        n = x.data.size // self.s.data.size if self.signed else x.data.size // max(x.shape[0], 1)
        s = self.s if self.s.dtype == x.dtype else self.s.astype(x.dtype)
        return LSQFunction.apply(x, per_channel(self.name, s, x), qn=self.qn, qp=self.qp,
                                 grad_scale=1 / math.sqrt(n * self.qp))

    def scale(self, x):
        return per_channel(self.name, self.s.data, np.asarray(x)) * max(self.qn, self.qp)

    def codes(self, x):
        x = np.asarray(x)
        return F.lsq_index(x, per_channel(self.name, self.s.data, x), self.qn, self.qp).astype(np.int64)


@register_quantizer(kind="activation", bits=(1, MAX_BITS), symmetric=False, idempotent=True,
                    parameters=("s",), levels="0, s, …, (2^b − 1)·s",
                    reference=("LSQ (Esser et al., ICLR 2020)", "eqs. 1–3, §2.2"),
                    formula="Q(x) = ⌊clip(x/s, 0, 2^b − 1)⌉·s")
class LSQActivation(LSQ):
    """LSQ for activations: ``LSQ(bits, signed=False)``, levels 0 … (2^b − 1)·s; N in the
    gradient scale 1/√(N·Q_p) is the number of features per sample (LSQ §2.2)."""

    name = "lsq_activation"

    def __init__(self, bits: int = 2):
        super().__init__(bits, signed=False)


# ----------------------------------------------------------------- DoReFa


class QuantizeK(Function):
    """quantize_k(x) = ⌊x·(2^k − 1)⌉ / (2^k − 1) on [0, 1]; backward: identity (STE)."""

    @staticmethod
    def forward(ctx, x, bits=1):
        n = 2**bits - 1
        return (np.round(x * n) / n).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


@register_quantizer(kind="weight", bits=(1, MAX_BITS), symmetric=True, idempotent=False,
                    levels="2j/(2^k − 1) − 1, j = 0 … 2^k − 1, in [−1, 1]",
                    reference=("seed 003", "eq. 2 (DoReFa-Net, Zhou et al. 2016)"),
                    formula="w_q = 2·quantize_k(tanh(w)/(2·max|tanh(w)|) + 1/2) − 1")
class DoReFa(Quantizer):
    """DoReFa-Net weights (seed 003, eq. 2): 2·quantize_k(tanh(w)/(2·max|tanh(w)|) + 1/2) − 1.

    Built from graph ops (tanh, abs, max, division) around :class:`QuantizeK`, so the
    gradient flows through the normalization by max|tanh(w)| exactly as in the paper's
    TensorFlow code. 2^k levels in [−1, 1], symmetric.
    """

    name = "dorefa"

    def __init__(self, bits: int = 2):
        super().__init__(None)
        self.bits = check_bits(self.name, bits, *self.facts.bits)
        self.num_levels = 2**self.bits

    def forward(self, w):
        check_tensor(self.name, w)
        t = w.tanh()
        # max|tanh(w)| floored: an all-zero w gives 0/0 = NaN otherwise (then every w_q = 0)
        x = t / (t.abs().max().clip(STEP_FLOOR, None) * 2) + 0.5
        return QuantizeK.apply(x, bits=self.bits) * 2 - 1

    def scale(self, w):
        return np.ones((), dtype=np.asarray(w).dtype)

    def codes(self, w):
        return np.round((self.quantize(w) + 1) / 2 * (2**self.bits - 1)).astype(np.int64)


@register_quantizer(kind="activation", bits=(1, MAX_BITS), symmetric=False, idempotent=True,
                    levels="j/(2^k − 1), j = 0 … 2^k − 1, in [0, 1]",
                    reference=("DoReFa-Net (Zhou et al. 2016)", "quantize_k of seed 003, eq. 2, on clip(x, 0, 1)"),
                    formula="x_q = quantize_k(clip(x, 0, 1)), quantize_k(x) = ⌊x·(2^k − 1)⌉/(2^k − 1)")
class DoReFaActivation(Quantizer):
    """DoReFa-Net activations: quantize_k(clip(x, 0, 1)); gradient 1 on 0 < x < 1."""

    name = "dorefa_activation"

    def __init__(self, bits: int = 2):
        super().__init__(None)
        self.bits = check_bits(self.name, bits, *self.facts.bits)
        self.num_levels = 2**self.bits

    def forward(self, x):
        check_tensor(self.name, x)
        return QuantizeK.apply(x.clip(0.0, 1.0), bits=self.bits)

    def scale(self, x):
        return np.ones((), dtype=np.asarray(x).dtype)

    def codes(self, x):
        return np.round(self.quantize(x) * (2**self.bits - 1)).astype(np.int64)


# ------------------------------------------------------- rounding on ΔZ


class RoundingFunction(Function):
    """Qd(w) or Qs(w) on the grid ΔZ (seed 002, eqs. 3, 5); backward: identity (eq. 7)."""

    @staticmethod
    def forward(ctx, w, delta=1.0, rng=None, ties="even"):
        if rng is None:
            return deterministic_round(w, delta, ties)
        return stochastic_round(w, delta, rng)

    @staticmethod
    def backward(ctx, grad):
        return grad


@register_quantizer(kind="weight", bounded=False, symmetric=True, idempotent=True, levels="ΔZ (unbounded grid)",
                    reference=("seed 002", "eq. 3"), formula="Qd(w) = Δ·⌊w/Δ⌉ (ties to even)")
class DeterministicRounding(Quantizer):
    """Seed 002's Qd on ΔZ: Δ·⌊w/Δ⌉, ties to even; ``ties="away"`` is eq. 3 as printed
    (ties away from zero; see :mod:`tinyquant.quant.rounding`)."""

    name = "deterministic_round"

    def __init__(self, delta: float = 0.1, ties: str = "even"):
        super().__init__(None)
        self.delta = check_positive(self.name, "delta", delta)
        self.ties = check_ties(ties, self.name)

    def forward(self, w):
        check_tensor(self.name, w)
        return RoundingFunction.apply(w, delta=self.delta, ties=self.ties)

    def scale(self, w):
        return np.asarray(np.inf)  # an unbounded grid: weight clipping does nothing

    def codes(self, w):
        return np.round(deterministic_round(np.asarray(w), self.delta, self.ties) / self.delta).astype(np.int64)


@register_quantizer(kind="weight", bounded=False, symmetric=False, idempotent=True, stochastic=True,
                    levels="ΔZ (unbounded grid)", reference=("seed 002", "eq. 5"),
                    formula="Qs(w) = Δ·(⌊w/Δ⌋ + 1[p < w/Δ − ⌊w/Δ⌋]), p ~ U[0, 1) (training)")
class StochasticRounding(DeterministicRounding):
    """Seed 002's Qs on ΔZ in training mode (unbiased; ``rng`` a Generator or seed); Qd in eval."""

    name = "stochastic_round"

    def __init__(self, delta: float = 0.1, rng=None, ties: str = "even"):
        super().__init__(delta, ties)
        self.rng = as_generator(rng)

    def forward(self, w):
        check_tensor(self.name, w)
        return RoundingFunction.apply(w, delta=self.delta, rng=self.rng if self.training else None,
                                      ties=self.ties)


__all__ = ["UniQ", "UniQActivation", "LSQ", "LSQActivation", "DoReFa", "DoReFaActivation",
           "DeterministicRounding", "StochasticRounding", "UniQWeightFunction",
           "UniQActivationFunction", "LSQFunction", "QuantizeK", "optimal_unit_step",
           "symmetric_levels"]
