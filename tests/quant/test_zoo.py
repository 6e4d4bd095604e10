"""Tests generated from the registry: every registered quantizer, and every quantizer × STE pair.

Each quantizer has a :class:`Reference` below, written here from its paper (not from the code
under test): the forward, the level set, the decision points, the backward with a given STE
kernel, the gradient of each learned parameter, its initial value and its integer codes. The
factories at the bottom turn a registry entry and its reference into forward, level-set,
symmetry, idempotence, code, backward, parameter-gradient (formula and finite differences
in float64 where the quantizer is smooth in the parameter) and initialization tests; the
declared facts (``cls.facts``: symmetric, idempotent, stochastic, parameters, takes_ste) decide
which apply. Registering a new quantizer is enough to get it tested: without a reference here,
:func:`test_every_registered_quantizer_has_a_reference_formula` fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from strategies import float_arrays, near, shapes

from tinyquant import Tensor
from tinyquant.quant import QUANTIZERS, STES, get_quantizer

TIE = 1e-7      # entries this close to a decision point or an STE kink are left out of exact checks


def nearest(x, levels):
    """The level nearest to each entry of x (levels a 1-D sequence): the uniform quantizer
    with clipping is the nearest-level map onto its reconstruction levels."""
    levels = np.asarray(levels, dtype=float)
    return levels[np.argmin(np.abs(np.asarray(x)[..., None] - levels), axis=-1)]


def midpoints(levels):
    levels = np.asarray(levels, dtype=float)
    return (levels[1:] + levels[:-1]) / 2


def kernel_sum(ste, x, centres, width, height):
    """Σ_k (h/(2s))·F'((x − t_k)/s): each step of height h as a sign of height 2 (seed 000 STE
    on sign, centred on the step's threshold and scaled to it)."""
    return sum(height / (2 * width) * ste.dF((x - t) / width) for t in np.asarray(centres).reshape(-1))


def sign(x):
    return np.where(x >= 0, 1.0, -1.0)       # sign(0) = +1 (seed 004, eq. 1)


def per_filter_mean(a):
    return a.mean(axis=tuple(range(1, a.ndim)), keepdims=True) if a.ndim > 1 else a.mean()


@dataclass
class Reference:
    """A quantizer's paper formulas (x float64, q the module after its first training forward)."""

    forward: Callable                      # (x, q) -> Q(x), evaluation mode
    levels: Callable                       # (x, q) -> the allowed values (1-D, or per entry on a last axis)
    ties: Callable                         # (x, q) -> mask: too close to a decision point or a jump of dQ/dx
    grad_x: Callable                       # (x, q, g) -> ∂L/∂x for L = Σ g·Q(x), with q.ste
    code: Callable                         # (Q(x), q) -> the paper's integer for each level
    kernel: Callable = lambda x, q: ([0.0], 1.0)   # (x, q) -> STE kernel centres and width
    param_grads: Callable | None = None    # (x, q, g) -> {name: ∂L/∂p}
    smooth: Callable | None = None         # (x, q) -> inputs where Q is smooth in its parameters
    fd_scale: Callable = lambda x, q, name: 1.0   # the gradient's declared scale (LSQ's g)
    initial: Callable | None = None        # (x, q) -> {name: (value, rtol)} after the first forward
    mean: Callable | None = None           # stochastic: (x, q) -> E[Q(x)] in training
    var_bound: Callable | None = None      # stochastic: (x, q) -> a bound on Var[Q(x)]
    valid: Callable = lambda x: bool(np.std(x) > 1e-3 and np.count_nonzero(np.abs(x) > 1e-3) >= 2)
    variants: tuple = ({},)                # constructor keywords to test besides the defaults


# ------------------------------------------------------------------ binary


def bc_ref(stochastic=False):
    return Reference(
        forward=lambda x, q: sign(x),                                  # seed 002 §3
        levels=lambda x, q: [-1.0, 1.0],
        ties=lambda x, q: near(x, [0.0], TIE),
        grad_x=lambda x, q, g: g * q.ste.dF(x),                        # ∂sign/∂w ≈ F'(w)
        code=lambda v, q: sign(v).astype(np.int64),
        mean=(lambda x, q: np.clip(x, -1, 1)) if stochastic else None,   # E = 2σ_h(w) − 1
        var_bound=(lambda x, q: 1 - np.clip(x, -1, 1) ** 2) if stochastic else None,
    )


def xnor_grad(x, q, g):
    # XNOR-Net eq. 4: w_b = α·sign(w), α = mean|w| per filter; chain rule through α as well
    # (scale_grad=False: α held constant, BWN-style)
    a = per_filter_mean(np.abs(x))
    through_alpha = sign(x) * per_filter_mean(g * sign(x)) if q.scale_grad else 0.0
    return a * q.ste.dF(x) * g + through_alpha


XNOR_REF = Reference(
    forward=lambda x, q: per_filter_mean(np.abs(x)) * sign(x),
    levels=lambda x, q: np.stack(np.broadcast_arrays(-per_filter_mean(np.abs(x)), per_filter_mean(np.abs(x)))
                                 , axis=-1) * np.ones(x.shape + (1,)),
    ties=lambda x, q: near(x, [0.0], TIE),
    grad_x=xnor_grad,
    code=lambda v, q: sign(v).astype(np.int64),
    variants=({}, {"scale_grad": False}),
)



def sign_act_scale(x, q):
    return per_filter_mean(np.abs(x)) if q.scaled else 1.0          # XNOR-Net's K per sample


def sign_act_grad(x, q, g):
    # BinaryNet: g·F'(x); scaled (XNOR-Net BinActive): K·F'·g plus the exact path through K
    if not q.scaled:
        return g * q.ste.dF(x)
    return sign_act_scale(x, q) * q.ste.dF(x) * g + sign(x) * per_filter_mean(g * sign(x))


SIGN_ACT_REF = Reference(
    forward=lambda x, q: sign_act_scale(x, q) * sign(x),               # seed 004, eq. 1
    levels=lambda x, q: np.stack(np.broadcast_arrays(-sign_act_scale(x, q) * np.ones(x.shape),
                                                     sign_act_scale(x, q) * np.ones(x.shape)), axis=-1),
    ties=lambda x, q: near(x, [0.0], TIE),
    grad_x=sign_act_grad,
    code=lambda v, q: sign(v).astype(np.int64),
    variants=({}, {"scaled": True}),
)

# ----------------------------------------------------------------- ternary


def twn_stats(x):
    delta = 0.7 * np.mean(np.abs(x))                                    # TWN eq. 11
    alpha = np.mean(np.abs(x)[np.abs(x) > delta])                       # TWN eq. 9
    return delta, alpha


def twn_kernel(x, q):
    delta, _ = twn_stats(x)
    return ([-delta, delta], delta) if getattr(q, "staircase", False) else ([0.0], 1.0)


def twn_grad(x, q, g):
    delta, alpha = twn_stats(x)
    if getattr(q, "staircase", False):   # two steps of height α at ±Δ, kernel width Δ
        return g * kernel_sum(q.ste, x, [-delta, delta], delta, alpha)
    return g * q.ste.dF(x)                                              # α, Δ held constant


TWN_REF = Reference(
    forward=lambda x, q: twn_stats(x)[1] * np.sign(x) * (np.abs(x) > twn_stats(x)[0]),
    levels=lambda x, q: [-twn_stats(x)[1], 0.0, twn_stats(x)[1]],
    ties=lambda x, q: near(x, [-twn_stats(x)[0], twn_stats(x)[0]], TIE),
    grad_x=twn_grad,
    kernel=twn_kernel,
    code=lambda v, q: np.sign(v).astype(np.int64),
    variants=({}, {"staircase": True, "ste": "clipped"}, {"staircase": True, "ste": "polynomial"}),
)


def ttq_delta(x, q):
    return q.t * np.max(np.abs(x))                                      # TTQ: Δ = t·max|w|


def ttq_grad(x, q, g):
    d, wp, wn = ttq_delta(x, q), float(q.w_p.data), float(q.w_n.data)
    if getattr(q, "staircase", False):
        return g * (kernel_sum(q.ste, x, [d], d, wp) + kernel_sum(q.ste, x, [-d], d, wn))
    return g * q.ste.dF(x) * np.where(x > d, wp, np.where(x < -d, wn, 1.0))   # TTQ eq. 8


TTQ_REF = Reference(
    forward=lambda x, q: float(q.w_p.data) * (x > ttq_delta(x, q)) - float(q.w_n.data) * (x < -ttq_delta(x, q)),
    levels=lambda x, q: [-float(q.w_n.data), 0.0, float(q.w_p.data)],
    ties=lambda x, q: near(x, [-ttq_delta(x, q), ttq_delta(x, q)], TIE),
    grad_x=ttq_grad,
    kernel=lambda x, q: (([-ttq_delta(x, q), ttq_delta(x, q)], ttq_delta(x, q))
                         if getattr(q, "staircase", False) else ([0.0], 1.0)),
    code=lambda v, q: np.sign(v).astype(np.int64),
    # ∂L/∂W_p = Σ_{w > Δ} g (TTQ eq. 8); ŵ = −W_n below −Δ, so ∂L/∂W_n = −Σ_{w < −Δ} g
    param_grads=lambda x, q, g: {"w_p": np.sum(g * (x > ttq_delta(x, q))),
                                 "w_n": -np.sum(g * (x < -ttq_delta(x, q)))},
    smooth=lambda x, q: x,                                              # linear in W_p, W_n
    # W_p, W_n start at the mean of the weights above Δ and of |w| below −Δ
    initial=lambda x, q: {"w_p": (np.mean(x[x > ttq_delta(x, q)]), 1e-12),
                          "w_n": (np.mean(-x[x < -ttq_delta(x, q)]), 1e-12)},
    valid=lambda x: bool(np.std(x) > 1e-3 and np.any(x > 0.05 * np.abs(x).max() + 1e-3)
                         and np.any(x < -0.05 * np.abs(x).max() - 1e-3)),
    variants=({}, {"t": 0.2}, {"staircase": True, "ste": "clipped"}, {"staircase": True, "ste": "tanh"}),
)


def tg_stats(x, q):
    """Seed 001: μ, σ (ddof 1, PyTorch's std), δ_c = hardtanh(|δ|, 0, 3σ), S = μ + σ·φ(a)/(1 − Φ(a))."""
    mu, sigma = np.mean(x), np.std(x, ddof=1)
    delta = float(q.delta.data)
    dc = min(abs(delta), 3 * sigma)
    a = dc / sigma
    return mu, sigma, delta, dc, mu + sigma * norm.pdf(a) / norm.sf(a)


def tg_forward(x, q):
    mu, _, _, dc, S = tg_stats(x, q)
    return S * ((x > mu + dc).astype(float) - (x < mu - dc))           # eqs. 2, 11


def tg_param_grads(x, q, g):
    mu, sigma, delta, dc, S = tg_stats(x, q)
    a = dc / sigma
    lam = norm.pdf(a) / norm.sf(a)
    dS = lam * (lam - a)                       # d/dδ [μ + σλ(δ/σ)] = λ'(a) = λ(λ − a)
    tern = (x > mu + dc).astype(float) - (x < mu - dc)
    return {"delta": np.sum(g * tern) * dS * np.sign(delta) * (0 < abs(delta) < 3 * sigma)}


def tg_grad(x, q, g):
    mu, _, _, dc, S = tg_stats(x, q)
    if getattr(q, "staircase", False):         # Tern's two unit steps at μ ± δ_c, width δ_c
        d = kernel_sum(q.ste, x, [mu - dc, mu + dc], dc, 1.0)
    else:
        d = q.ste.dF(x)
    return g * d if q.gradient_correctness else g * S * d               # eq. 15: ∂Tern/∂w = F'/S


TG_REF = Reference(
    forward=tg_forward,
    levels=lambda x, q: [-tg_stats(x, q)[4], 0.0, tg_stats(x, q)[4]],
    ties=lambda x, q: near(x, [tg_stats(x, q)[0] - tg_stats(x, q)[3], tg_stats(x, q)[0] + tg_stats(x, q)[3]], TIE),
    grad_x=tg_grad,
    kernel=lambda x, q: (([tg_stats(x, q)[0] - tg_stats(x, q)[3], tg_stats(x, q)[0] + tg_stats(x, q)[3]],
                          tg_stats(x, q)[3]) if getattr(q, "staircase", False) else ([0.0], 1.0)),
    code=lambda v, q: np.sign(v).astype(np.int64),
    param_grads=tg_param_grads,
    smooth=lambda x, q: x,      # S is smooth in δ; the finite step must not move a weight across μ ± δ_c
    initial=lambda x, q: {"delta": (0.1 * np.max(np.abs(x)), 1e-12)},  # seed 001 Table I
    valid=lambda x: bool(x.size >= 4 and np.std(x) > 1e-2),
    variants=({}, {"gradient_correctness": False}, {"staircase": True, "ste": "polynomial"},
              {"staircase": True, "ste": "clipped", "gradient_correctness": False}),
)

# ------------------------------------------------------------ uniform: UniQ

# seed 003, Table 1 (3 decimals as printed): N -> Δ_w^u, Δ_a^u for a unit Gaussian
TABLE1 = {2: (1.596, 1.224), 4: (0.996, 0.651), 8: (0.586, 0.353), 16: (0.335, 0.193)}


def uniq_levels(q):
    n, d = q.num_levels, float(q.step.data)
    return np.array([(2 * j - n + 1) * d / 2 for j in range(n)])       # seed 003 eq. 4: q̂·Δ/2


def uniq_grad(x, q, g):
    lv, d = uniq_levels(q), float(q.step.data)
    if q.ste is None:
        return g * (np.abs(x) < lv[-1])                                  # STE on ⌊·⌉ inside [−α, α]
    return g * kernel_sum(q.ste, x, midpoints(lv), d / 2, d)           # staircase: height Δ, width Δ/2


def uniq_param_grads(x, q, g):
    n, d = q.num_levels, float(q.step.data)
    alpha = d * (n - 1) / 2
    # eq. 6 (N even); the clipped branch as derived, sign(x)·α/Δ (eq. 6 prints sign(x)α)
    inside = -x / d + np.rint(x / d - 0.5) + 0.5
    return {"step": np.sum(g * np.where(np.abs(x) < alpha, inside, np.sign(x) * (n - 1) / 2))}


def beyond(x, top):
    """x moved past ±top (where a clipped quantizer is linear in its step)."""
    return sign(x) * (np.abs(x) + 2 * top)


UNIQ_REF = Reference(
    forward=lambda x, q: nearest(x, uniq_levels(q)),
    levels=lambda x, q: uniq_levels(q),
    ties=lambda x, q: near(x, np.concatenate([midpoints(uniq_levels(q)), uniq_levels(q)[[0, -1]]]), TIE),
    grad_x=uniq_grad,
    kernel=lambda x, q: (midpoints(uniq_levels(q)), float(q.step.data) / 2),
    code=lambda v, q: np.rint(2 * v / float(q.step.data)).astype(np.int64),   # q̂ of eq. 4
    param_grads=uniq_param_grads,
    smooth=lambda x, q: beyond(x, uniq_levels(q)[-1]),
    initial=lambda x, q: {"step": (TABLE1[q.num_levels][0] * np.std(x), 6e-4 / TABLE1[q.num_levels][0])},  # eq. 9
    variants=({}, {"bits": 1}, {"bits": 3}, {"bits": 4}),
)


def uniq_act_levels(q):
    return np.arange(q.num_levels) * float(q.step.data)                # seed 003 eq. 5


def uniq_act_grad(x, q, g):
    lv, d = uniq_act_levels(q), float(q.step.data)
    if q.ste is None:
        return g * ((x > 0) & (x < lv[-1]))
    return g * kernel_sum(q.ste, x, midpoints(lv), d / 2, d)


def uniq_act_param_grads(x, q, g):
    d, top = float(q.step.data), uniq_act_levels(q)[-1]
    dq = np.where((x > 0) & (x < top), np.rint(x / d) - x / d, np.where(x >= top, q.num_levels - 1, 0.0))
    return {"step": np.sum(g * dq)}


UNIQ_ACT_REF = Reference(
    forward=lambda x, q: nearest(x, uniq_act_levels(q)),
    levels=lambda x, q: uniq_act_levels(q),
    ties=lambda x, q: near(x, np.concatenate([midpoints(uniq_act_levels(q)), uniq_act_levels(q)[[0, -1]]]), TIE),
    grad_x=uniq_act_grad,
    kernel=lambda x, q: (midpoints(uniq_act_levels(q)), float(q.step.data) / 2),
    code=lambda v, q: np.rint(v / float(q.step.data)).astype(np.int64),
    param_grads=uniq_act_param_grads,
    smooth=lambda x, q: np.abs(x) + 2 * uniq_act_levels(q)[-1],
    # eq. 10: Δ = Δ_a^u(N)·√(2·E[x²]) from the first batch
    initial=lambda x, q: {"step": (TABLE1[q.num_levels][1] * math.sqrt(2 * np.mean(x**2)),
                                   6e-4 / TABLE1[q.num_levels][1])},
    variants=({}, {"bits": 1}, {"bits": 3}, {"bits": 4}),
)

# -------------------------------------------------------------------- LSQ


def lsq_levels(q):
    return np.arange(-q.qn, q.qp + 1) * float(q.s.data)                # LSQ eq. 1: −Q_N … Q_P


def lsq_n(x, q):
    """N of LSQ's gradient scale g = 1/√(N·Q_P) (§2.2): the number of weights, or of features
    per sample for activations (the batch axis first)."""
    return x.size if q.signed else x.size // x.shape[0]


def lsq_param_grads(x, q, g):
    s = float(q.s.data)
    v = x / s
    dq = np.where(v <= -q.qn, -q.qn, np.where(v >= q.qp, q.qp, np.rint(v) - v))   # LSQ eq. 3
    return {"s": np.sum(g * dq) / math.sqrt(lsq_n(x, q) * q.qp)}


def lsq_ref(*variants):
    return Reference(
        forward=lambda x, q: nearest(x, lsq_levels(q)),
        levels=lambda x, q: lsq_levels(q),
        ties=lambda x, q: near(x, np.concatenate([midpoints(lsq_levels(q)), lsq_levels(q)[[0, -1]]]), TIE),
        grad_x=lambda x, q, g: g * ((x / float(q.s.data) > -q.qn) & (x / float(q.s.data) < q.qp)),
        code=lambda v, q: np.rint(v / float(q.s.data)).astype(np.int64),
        param_grads=lsq_param_grads,
        smooth=lambda x, q: np.abs(x) + 2 * lsq_levels(q)[-1],
        fd_scale=lambda x, q, name: 1 / math.sqrt(lsq_n(x, q) * q.qp),
        initial=lambda x, q: {"s": (2 * np.mean(np.abs(x)) / math.sqrt(q.qp), 1e-12)},   # LSQ §2.1
        variants=({},) + variants,
    )

# ----------------------------------------------------------------- DoReFa


def dorefa_grad(x, q, g):
    # w_q = 2·Q_k(u) − 1, u = t/(2m) + 1/2, t = tanh(w), m = max|t|; STE: dQ_k/du = 1
    t = np.tanh(x)
    m = np.max(np.abs(t))
    share = (np.abs(t) == m) / np.count_nonzero(np.abs(t) == m)       # ∂m/∂|t_i|, ties split
    dt = g / m - share * np.sign(t) * np.sum(g * t) / m**2
    return dt * (1 - t**2)


def dorefa_u(x):
    t = np.tanh(x)
    return t / np.max(np.abs(t))                                        # 2u − 1 ∈ [−1, 1]


DOREFA_REF = Reference(
    forward=lambda x, q: nearest(dorefa_u(x), 2 * np.arange(2**q.bits) / (2**q.bits - 1) - 1),   # seed 003 eq. 2
    levels=lambda x, q: 2 * np.arange(2**q.bits) / (2**q.bits - 1) - 1,
    ties=lambda x, q: near(dorefa_u(x), midpoints(2 * np.arange(2**q.bits) / (2**q.bits - 1) - 1), TIE),
    grad_x=dorefa_grad,
    code=lambda v, q: np.rint((v + 1) / 2 * (2**q.bits - 1)).astype(np.int64),
    variants=({}, {"bits": 1}, {"bits": 3}),
)

DOREFA_ACT_REF = Reference(
    forward=lambda x, q: nearest(x, np.arange(2**q.bits) / (2**q.bits - 1)),
    levels=lambda x, q: np.arange(2**q.bits) / (2**q.bits - 1),
    ties=lambda x, q: near(x, np.concatenate([midpoints(np.arange(2**q.bits) / (2**q.bits - 1)), [0.0, 1.0]]), TIE),
    grad_x=lambda x, q, g: g * ((x > 0) & (x < 1)),
    code=lambda v, q: np.rint(v * (2**q.bits - 1)).astype(np.int64),
    valid=lambda x: True,
    variants=({}, {"bits": 1}, {"bits": 3}),
)

# ---------------------------------------------------------- rounding on ΔZ


def qd_printed(x, delta):
    return np.sign(x) * delta * np.floor(np.abs(x) / delta + 0.5)       # seed 002 eq. 3 as printed


def rounding_ref(*variants, stochastic=False):
    def off_grid(x, q):
        frac = x / q.delta - np.floor(x / q.delta)
        return np.abs(frac - 0.5) * q.delta <= TIE

    return Reference(
        forward=lambda x, q: qd_printed(x, q.delta),                    # eval mode: Qd
        levels=lambda x, q: q.delta * (np.floor(x / q.delta)[..., None] + np.array([0.0, 1.0])),
        ties=off_grid,
        grad_x=lambda x, q, g: g,                                        # eq. 7: identity
        code=lambda v, q: np.rint(v / q.delta).astype(np.int64),
        mean=(lambda x, q: x) if stochastic else None,                   # eq. 5 is unbiased
        var_bound=(lambda x, q: np.full(x.shape, q.delta**2 / 4)) if stochastic else None,
        valid=lambda x: True,
        variants=({}, {"delta": 0.25}) + variants,
    )


REFERENCES = {
    "binary_connect": bc_ref(),
    "stochastic_binary": bc_ref(stochastic=True),
    "xnor": XNOR_REF,
    "twn": TWN_REF,
    "ttq": TTQ_REF,
    "truncated_gaussian_ternary": TG_REF,
    "uniq": UNIQ_REF,
    "uniq_activation": UNIQ_ACT_REF,
    "lsq": lsq_ref({"bits": 3}, {"bits": 4}),
    "lsq_activation": lsq_ref({"bits": 1}, {"bits": 3}),
    "sign_activation": SIGN_ACT_REF,
    "dorefa": DOREFA_REF,
    "dorefa_activation": DOREFA_ACT_REF,
    "deterministic_round": rounding_ref({"ties": "away"}),
    "stochastic_round": rounding_ref(stochastic=True),
}

# ------------------------------------------------------------ the factories


def facts(name):
    return QUANTIZERS[name].facts


def build(name, **kwargs):
    if facts(name).stochastic:
        kwargs.setdefault("rng", 0)
    return get_quantizer(name, **kwargs)


def prepared(name, x, **kwargs):
    """The quantizer with float64 parameters, initialized by one training forward on x."""
    q = build(name, **kwargs)
    for p in q.parameters():
        p.data = p.data.astype(np.float64)
    q.train()
    q(Tensor(x))
    return q


def cases(*, ste=False, **wanted):
    """pytest parameters (name, kwargs) for every registered quantizer whose facts match
    ``wanted``, in each of its reference's variants; ``ste=True``: every quantizer × STE pair
    (its own estimator where it has one, every registered STE where it takes one), plus each
    non-default variant with the default estimator."""
    out = []
    for name in QUANTIZERS:
        f = facts(name)
        if not all(getattr(f, k) == v for k, v in wanted.items()):
            continue
        variants = REFERENCES[name].variants if name in REFERENCES else ({},)
        if ste:
            if not f.takes_ste or f.default_ste is None:
                out.append(pytest.param(name, {}, id=f"{name}-own"))
            if f.takes_ste:
                out += [pytest.param(name, {"ste": s}, id=f"{name}-{s}") for s in STES]
            variants = variants[1:]
        out += [pytest.param(name, dict(v), id=name + "".join(f"-{k}={val}" for k, val in v.items()))
                for v in variants]
    return out


def param_cases():
    return [pytest.param(name, kwargs, p, id=f"{c.id}-{p}")
            for c in cases() for name, kwargs in [c.values] for p in facts(name).parameters]


inputs = float_arrays(shapes(min_dims=1, max_dims=4, max_side=6, min_size=2))
EXACT = {"rtol": 1e-12, "atol": 1e-12}


def test_every_registered_quantizer_has_a_reference_formula():
    missing = sorted(set(QUANTIZERS) - set(REFERENCES))
    assert not missing, f"registered quantizers without a reference formula in {__file__}: {missing}"
    assert not set(REFERENCES) - set(QUANTIZERS), "references for quantizers that are not registered"


def test_every_learned_parameter_has_a_reference_gradient_and_initial_value():
    for name in QUANTIZERS:
        declared = set(facts(name).parameters)
        assert declared == {n for n, _ in build(name).named_parameters()}, name
        ref = REFERENCES[name]
        if declared:
            assert ref.param_grads and ref.initial and ref.smooth, name
        if facts(name).stochastic:
            assert ref.mean and ref.var_bound, name


@pytest.mark.parametrize("name,kwargs", cases())
@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_quantizer_forward_is_the_papers_formula(name, kwargs, x):
    ref = REFERENCES[name]
    assume(ref.valid(x))
    q = prepared(name, x, **kwargs)
    out = q.quantize(x)
    keep = ~ref.ties(x, q)
    np.testing.assert_allclose(out[keep], ref.forward(x, q)[keep], **EXACT)


@pytest.mark.parametrize("name,kwargs", cases())
@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_quantizer_outputs_only_its_levels_and_at_most_n_of_them(name, kwargs, x):
    ref = REFERENCES[name]
    assume(ref.valid(x))
    q = prepared(name, x, **kwargs)
    out = q.quantize(x)
    levels = np.asarray(ref.levels(x, q), dtype=float)
    if levels.ndim <= 1:
        levels = np.broadcast_to(levels, out.shape + levels.shape)
    assert np.all(np.any(np.isclose(out[..., None], levels, rtol=1e-9, atol=1e-12), axis=-1))
    if facts(name).bounded:   # N levels: relative to its scale α (per filter, or W_p/W_n by side)
        scale = np.broadcast_to(np.asarray(q.scale(x), dtype=float), out.shape)
        ratios = np.round(out[scale > 0] / scale[scale > 0], 9)
        assert len(np.unique(ratios)) <= q.num_levels
        assert np.all(np.abs(out) <= scale * (1 + 1e-9))          # α is the largest magnitude


@pytest.mark.parametrize("name,kwargs", cases(symmetric=True))
@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_symmetric_quantizers_are_odd_functions(name, kwargs, x):
    ref = REFERENCES[name]
    assume(ref.valid(x))
    q = prepared(name, x, **kwargs)
    keep = ~ref.ties(x, q) & ~ref.ties(-x, q) & (x != 0)               # sign(0) = +1 is not odd
    np.testing.assert_allclose(q.quantize(-x)[keep], -q.quantize(x)[keep], **EXACT)


@pytest.mark.parametrize("name,kwargs", cases(idempotent=True))
@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_idempotent_quantizers_leave_their_outputs_unchanged(name, kwargs, x):
    assume(REFERENCES[name].valid(x))
    q = prepared(name, x, **kwargs)
    once = q.quantize(x)
    np.testing.assert_allclose(q.quantize(once), once, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", cases())
@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_codes_are_the_papers_integer_of_each_level(name, kwargs, x):
    ref = REFERENCES[name]
    assume(ref.valid(x))
    q = prepared(name, x, **kwargs)
    keep = ~ref.ties(x, q)
    codes = q.codes(x)
    assert codes.dtype == np.int64 and codes.shape == x.shape
    np.testing.assert_array_equal(codes[keep], ref.code(q.quantize(x), q)[keep])


@pytest.mark.parametrize("name,kwargs", cases(ste=True))
@settings(max_examples=15, deadline=None)
@given(x=inputs, seed=st.integers(0, 2**16))
def test_backward_of_every_quantizer_ste_pair_is_the_papers_rule(name, kwargs, x, seed):
    ref = REFERENCES[name]
    assume(ref.valid(x))
    q = prepared(name, x, **kwargs)
    if "ste" in kwargs:
        assert q.ste.name == kwargs["ste"]
    g = np.random.default_rng(seed).standard_normal(x.shape)
    xt = Tensor(x, requires_grad=True)
    out = q(xt)
    (out * Tensor(g)).sum().backward()
    keep = ~ref.ties(x, q)
    if q.ste is not None:      # leave out the entries where the kernel F' jumps
        centres, width = ref.kernel(x, q)
        kinks = [c + width * k for c in np.asarray(centres).reshape(-1) for k in q.ste.kinks]
        keep &= ~near(x, kinks, 1e-6 * max(1.0, width))
    if not facts(name).stochastic:
        np.testing.assert_allclose(out.data[keep], ref.forward(x, q)[keep], **EXACT)
    np.testing.assert_allclose(xt.grad[keep], ref.grad_x(x, q, g)[keep], rtol=1e-9, atol=1e-12)


def random_input(seed, shape=(6, 5), mean=0.1):
    return np.random.default_rng(seed).normal(mean, 1.0, size=shape)


@pytest.mark.parametrize("name,kwargs,param", param_cases())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parameter_gradient_is_the_papers_formula(name, kwargs, param, seed):
    ref = REFERENCES[name]
    x = random_input(seed)
    q = prepared(name, x, **kwargs)
    assert not np.any(ref.ties(x, q))
    g = np.random.default_rng(seed + 10).standard_normal(x.shape)
    (q(Tensor(x)) * Tensor(g)).sum().backward()
    p = dict(q.named_parameters())[param]
    assert float(p.grad) == pytest.approx(float(ref.param_grads(x, q, g)[param]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name,kwargs,param", param_cases())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parameter_gradient_matches_central_differences_where_smooth(name, kwargs, param, seed):
    # float64 central differences of L(p) = Σ g·Q(x; p) on inputs where Q is smooth in p
    ref = REFERENCES[name]
    x0 = random_input(seed)
    q = prepared(name, x0, **kwargs)
    x = ref.smooth(x0, q)
    g = np.random.default_rng(seed + 20).standard_normal(x.shape)
    p = dict(q.named_parameters())[param]
    q.eval()                    # parameters fixed: no re-initialization from the new inputs
    (q(Tensor(x)) * Tensor(g)).sum().backward()
    v, eps = float(p.data), 1e-6 * max(1.0, abs(float(p.data)))

    def quantized_at(value):
        p.data[...] = value
        return q.quantize(x)

    up, down, base = quantized_at(v + eps), quantized_at(v - eps), quantized_at(v)
    numeric = np.sum(g * (up - down)) / (2 * eps)
    # the finite step moved no entry across a decision point (else Q is not smooth here)
    assert not np.any(ref.ties(x, q))
    assert np.array_equal(np.sign(up), np.sign(base)) and np.array_equal(np.sign(down), np.sign(base))
    assert float(p.grad) == pytest.approx(ref.fd_scale(x, q, param) * numeric, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name,kwargs", [c for c in cases() if facts(c.values[0]).parameters])
@pytest.mark.parametrize("seed", [0, 1])
def test_learned_parameters_start_at_the_papers_initial_value(name, kwargs, seed):
    x = random_input(seed, (16, 12))
    x = np.maximum(x, 0) if facts(name).kind == "activation" else x    # post-ReLU activations
    q = prepared(name, x, **kwargs)
    for param, (value, rtol) in REFERENCES[name].initial(x, q).items():
        assert float(dict(q.named_parameters())[param].data) == pytest.approx(value, rel=rtol), param


@pytest.mark.parametrize("name,kwargs", cases(stochastic=True))
def test_stochastic_quantizers_are_unbiased_for_their_papers_mean(name, kwargs):
    ref = REFERENCES[name]
    x = np.array([-1.7, -0.61, -0.05, 0.0, 0.03, 0.4, 0.93, 2.2])
    n = 40_000
    q = prepared(name, x, rng=np.random.default_rng(5), **kwargs)
    draws = q(Tensor(np.broadcast_to(x, (n, x.size)).copy())).data
    sd = np.sqrt(ref.var_bound(x, q) / n)
    assert np.all(np.abs(draws.mean(axis=0) - ref.mean(x, q)) <= 5 * sd + 1e-12)
    levels = np.asarray(ref.levels(draws, q), dtype=float)
    levels = np.broadcast_to(levels, draws.shape + levels.shape[-1:]) if levels.ndim <= 1 else levels
    assert np.all(np.any(np.isclose(draws[..., None], levels, rtol=1e-9, atol=1e-12), axis=-1))


@pytest.mark.parametrize("name,kwargs", cases(stochastic=True))
def test_quantize_and_codes_never_draw_from_the_training_stream(name, kwargs):
    x = np.linspace(-1.5, 1.5, 31)
    q = prepared(name, x, rng=7, **kwargs)
    state = q.rng.bit_generator.state
    q.quantize(x), q.codes(x), q.scale(x)
    assert q.rng.bit_generator.state == state and q.training
    np.testing.assert_allclose(q.quantize(x), REFERENCES[name].forward(x, q), **EXACT)


@pytest.mark.parametrize("name,kwargs", cases())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_all_zero_input_gives_finite_outputs_and_gradients(name, kwargs, dtype):
    # issue 12: a zero first input made the initial step 0 and every forward 0/0 = NaN
    x = np.zeros((4, 6), dtype=dtype)
    q = build(name, **kwargs)
    xt = Tensor(x, requires_grad=True)
    with np.errstate(divide="raise", invalid="raise"):       # no 0/0, no x/0
        out = q(xt)
        (out * Tensor(np.ones_like(x))).sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(xt.grad))
    assert all(np.isfinite(p.data).all() and (p.grad is None or np.isfinite(p.grad).all())
               for p in q.parameters())
    later = q(Tensor(np.linspace(-1, 1, 24, dtype=dtype).reshape(4, 6))).data   # and after it
    assert np.all(np.isfinite(later))


@pytest.mark.parametrize("name,kwargs", cases())
@pytest.mark.parametrize("magnitude", [1e20, 1e30])
def test_huge_float32_inputs_give_finite_steps_and_outputs(name, kwargs, magnitude):
    # issue 12: UniQ's step init squared float32 weights (x² overflows past 1.8e19)
    x = (magnitude * np.random.default_rng(0).standard_normal((8, 5))).astype(np.float32)
    q = build(name, **kwargs)
    out = q(Tensor(x)).data
    assert np.all(np.isfinite(out))
    assert all(np.isfinite(p.data).all() and p.data > 0 for p in q.parameters() if p.size == 1
               and name not in ("truncated_gaussian_ternary",))
