"""Straight-through estimators (STEs): surrogate derivatives for sign and for staircases.

A quantizer Q is piecewise constant, so dQ/dx = 0 almost everywhere and backprop stops.
An STE keeps the exact forward Q(x) and replaces dQ/dx in the backward pass by the
derivative F'(x) of a *soft forward* F that approximates Q (seed 000, §3):

    ∂L/∂w = ∂L/∂ŵ · dQ(w)/dw  ≈  ∂L/∂ŵ · F'(w)

Every STE below is a small class written for ``sign`` (levels ±1, one threshold at 0,
F(−∞) = −1 … F(+∞) = +1 where it saturates) with its soft forward ``F(x)``, its derivative
``dF(x)``, its parameters with their defaults, and its formula and source in the
docstring. ``kinks`` lists the points where F' jumps (tests compare F' with a numerical
derivative of F away from them).

The staircase rule (one STE carried from sign to any staircase)
---------------------------------------------------------------
A staircase with thresholds t_k and step heights h_k is Q(x) = c + Σ_k h_k·H(x − t_k)
(H the Heaviside step). Since sign(x) = −1 + 2·H(x) is one step of height 2, each step of
a staircase is (h_k/2)·sign(x − t_k) + const, and its surrogate is the sign surrogate
centred on the threshold and scaled by the step's height. With a kernel width s (the
length that plays the role of sign's clip value 1):

    Q̃(x)  = c' + Σ_k (h_k/2) · F((x − t_k)/s)
    Q̃'(x) =      Σ_k (h_k/(2s)) · F'((x − t_k)/s)                     (staircase rule)

For sign (one threshold t = 0, height h = 2, width s = 1) the sum is the single kernel
F'(x). For the uniform staircase of step Δ with the ``clipped`` kernel and s = Δ/2 the
windows tile the range exactly and Q̃' = 1 on [−α, α]: UniQ's own STE (seed 003, §4.1).
:func:`staircase_derivative` computes the rule; both facts are tested.

Where each quantizer applies it (exactly):

* ``binary_connect``, ``stochastic_binary``, ``sign_activation``: the rule for sign itself, F'(w);
  ``xnor``: α·F'(w) (one step of height 2α at 0, width 1) plus the exact path through α.
* ``uniq``, ``uniq_activation`` with an ``ste``: the rule over their N − 1 thresholds, width Δ/2
  (``ste=None``, their default, is the paper's 1[inside the clipping range]).
* ``twn``, ``ttq``, ``truncated_gaussian_ternary``: by default the sign kernel F'(w) centred at
  0, as their papers do (TTQ also multiplies by W_p, 1, W_n, its eq. 8), which is *not* the
  staircase rule: with a peaked kernel the surrogate is largest at w = 0, where the output is 0.
  ``staircase=True`` applies the rule to the ternary staircase, steps at ±Δ of width Δ
  (:func:`tinyquant.quant.ternary.ternary_staircase`).
* ``lsq``, ``dorefa``, the rounding quantizers: no STE choice (their papers' identity in range).

Scheduled parameters (AB-STE's f, EDE's t and k, ReSTE's o) are plain attributes; the
schedules that move them with training progress are all in :mod:`tinyquant.quant.schedules`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .registry import STES, register_ste

__all__ = [
    "STE", "STES", "get_ste", "list_stes", "ste_table", "staircase_derivative",
    "Identity", "Clipped", "Leaky", "Polynomial", "Tanh", "Sigmoid", "Arctan", "Swish",
    "EDE", "ReSTE", "ABTanh", "ABArctan", "Fourier",
]


def _real(owner: str, name: str, value, low=None, high=None, low_open=False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value > high
    if bad:
        lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
        hi = "" if high is None else f"<= {high:g}"
        raise ValueError(f"{owner}: {name} must be a finite number {' and '.join(filter(None, (lo, hi)))}, "
                         f"got {value!r}")
    return value


class STE:
    """Base class: subclasses set ``name``, ``defaults``, and write ``F`` and ``dF``.

    Parameters are attributes named as in ``defaults`` (``STE(k=3.0)`` overrides one);
    ``check`` validates them. ``kinks`` are the points where F' is discontinuous.
    """

    name: str = ""
    defaults: dict = {}
    #: (name, low, low_open, high) bounds checked for each parameter
    bounds: dict = {}

    def __init__(self, **params):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"STE {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                            f"its parameters are {sorted(self.defaults) or 'none'}")
        for key, default in self.defaults.items():
            setattr(self, key, params.get(key, default))
        self.check()

    def check(self) -> None:
        for key, (low, low_open, high) in self.bounds.items():
            if isinstance(self.defaults[key], bool):
                continue
            setattr(self, key, _real(f"STE {self.name!r}", key, getattr(self, key), low, high, low_open))

    @property
    def params(self) -> dict:
        return {key: getattr(self, key) for key in self.defaults}

    @property
    def kinks(self) -> tuple[float, ...]:
        return ()

    def F(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def dF(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


# ------------------------------------------------------------------ the STEs


@register_ste(formula="F(x) = x, F'(x) = 1",
              reference="Bengio, Léonard, Courville 2013; seed 000")
class Identity(STE):
    """F(x) = x, F'(x) = 1: the plain straight-through estimator.

    Source: Bengio, Léonard, Courville 2013; seed 000's ``identity`` (the TTQ and XNOR
    baselines of its table). No soft forward saturates, so F is not a sign approximation.
    """

    name = "identity"

    def F(self, x):
        return np.asarray(x, dtype=float) * 1.0

    def dF(self, x):
        return np.ones_like(np.asarray(x, dtype=float))


@register_ste(formula="F(x) = clip(x, −c, c), F'(x) = 1[|x| ≤ c], c = 1",
              reference="seed 001, eq. 13; seed 004, eq. 2")
class Clipped(STE):
    """F(x) = clip(x, −c, c), F'(x) = 1[|x| ≤ c]  (``inclusive=False``: 1[|x| < c]).

    The hardtanh window of BinaryNet: seed 001 eq. 13, seed 004 eq. 2 (c = 1). The
    boundary |x| = c is included by default, as both papers print it.
    """

    name = "clipped"
    defaults = {"c": 1.0, "inclusive": True}
    bounds = {"c": (0.0, True, None)}

    @property
    def kinks(self):
        return (-self.c, self.c)

    def F(self, x):
        return np.clip(x, -self.c, self.c)

    def dF(self, x):
        inside = np.abs(x) <= self.c if self.inclusive else np.abs(x) < self.c
        return inside.astype(float)


@register_ste(formula="F(x) = clip(x, −c, c) + a·(x − clip(x, −c, c)), F'(x) = 1 on |x| ≤ c, a outside (c = 1, a = 0.1)",
              reference="seed 000")
class Leaky(STE):
    """F(x) = clip(x, −c, c) + a·(x − clip(x, −c, c)); F'(x) = 1 on |x| ≤ c, a outside.

    The clipped STE with a small slope a (default 0.1) outside the window, so that latent
    weights beyond the window still receive some gradient. Seed 000's ``leaky``.
    """

    name = "leaky"
    defaults = {"c": 1.0, "slope": 0.1}
    bounds = {"c": (0.0, True, None), "slope": (0.0, False, 1.0)}

    @property
    def kinks(self):
        return (-self.c, self.c)

    def F(self, x):
        inner = np.clip(x, -self.c, self.c)
        return inner + self.slope * (x - inner)

    def dF(self, x):
        return np.where(np.abs(x) <= self.c, 1.0, self.slope)


@register_ste(formula="F(x) = 2x − x·|x| on |x| ≤ 1, sign(x) outside; F'(x) = 2 − 2|x| on |x| ≤ 1, 0 outside",
              reference="Bi-Real Net (Liu et al., ECCV 2018), eq. 4; seed 000")
class Polynomial(STE):
    """Bi-Real Net's ApproxSign: F(x) = 2x − x·|x| on |x| ≤ 1, sign(x) outside.

    F'(x) = 2 − 2|x| on |x| ≤ 1, 0 outside (a triangle of area 2). Source: Liu et al.,
    Bi-Real Net, ECCV 2018, eq. 4; seed 000's ``polynomial`` (its most stable STE for TTQ).
    """

    name = "polynomial"

    @property
    def kinks(self):
        return (-1.0, 0.0, 1.0)

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(np.abs(x) <= 1, 2 * x - x * np.abs(x), np.where(x >= 0, 1.0, -1.0))

    def dF(self, x):
        return np.where(np.abs(x) <= 1, 2 - 2 * np.abs(x), 0.0)


def sech2(y):
    """sech²(y) = 1/cosh²(y) = 4e/(1 + e)² with e = exp(−2|y|): no overflow for any |y| (cosh²
    overflows above |y| ≈ 355) and full relative precision in the tail (1 − tanh² has none)."""
    e = np.exp(-2 * np.abs(y))
    return 4 * e / (1 + e) ** 2


@register_ste(formula="F(x) = tanh(k·x), F'(x) = k·sech²(k·x), k = 1",
              reference="seed 000")
class Tanh(STE):
    """F(x) = tanh(k·x), F'(x) = k·sech²(k·x), k = 1.

    The tanh surrogate (DSQ-style soft sign); seed 000's ``tanh`` (its best STE for XNOR).
    """

    name = "tanh"
    defaults = {"k": 1.0}
    bounds = {"k": (0.0, True, None)}

    def F(self, x):
        return np.tanh(self.k * np.asarray(x, dtype=float))

    def dF(self, x):
        return self.k * sech2(self.k * np.asarray(x, dtype=float))


@register_ste(formula="F(x) = 2·σ(k·x) − 1, F'(x) = 2k·σ(kx)·(1 − σ(kx)), k = 4",
              reference="seed 000")
class Sigmoid(STE):
    """F(x) = 2·σ(k·x) − 1, F'(x) = 2k·σ(kx)·(1 − σ(kx)), k = 4.

    Note 2σ(kx) − 1 = tanh(kx/2): this is the tanh surrogate parameterized through the
    logistic function, with a sharper default (F'(0) = k/2 = 2). Seed 000's ``sigmoid``
    (its smoothest STE for XNOR).
    """

    name = "sigmoid"
    defaults = {"k": 4.0}
    bounds = {"k": (0.0, True, None)}

    def _sigma(self, x):
        return 0.5 * (1 + np.tanh(self.k * np.asarray(x, dtype=float) / 2))  # σ(kx), overflow-free

    def F(self, x):
        return 2 * self._sigma(x) - 1

    def dF(self, x):
        s = self._sigma(x)
        return 2 * self.k * s * (1 - s)


@register_ste(formula="F(x) = (2/π)·arctan(k·x), F'(x) = (2k/π)/(1 + (k·x)²), k = π/2",
              reference="seed 000")
class Arctan(STE):
    """F(x) = (2/π)·arctan(k·x), F'(x) = (2k/π) / (1 + (k·x)²), k = π/2 (so F'(0) = 1).

    The arctan surrogate; heavier tails than tanh, so weights far from 0 keep some gradient.
    """

    name = "arctan"
    defaults = {"k": math.pi / 2}
    bounds = {"k": (0.0, True, None)}

    def F(self, x):
        return 2 / math.pi * np.arctan(self.k * np.asarray(x, dtype=float))

    def dF(self, x):
        return 2 * self.k / math.pi / (1 + (self.k * np.asarray(x, dtype=float)) ** 2)


@register_ste(formula="F(x) = 2σ(βx)·(1 + βx·(1 − σ(βx))) − 1, F'(x) = β·(2 − βx·tanh(βx/2))/(1 + cosh(βx)), β = 5",
              reference="BNN+ (Darabi et al. 2018), eqs. 5–6")
class Swish(STE):
    """BNN+'s SignSwish: F(x) = 2σ(βx)·(1 + βx·(1 − σ(βx))) − 1, β = 5;

    F'(x) = β·(2 − βx·tanh(βx/2)) / (1 + cosh(βx)).

    Derivation: with s = σ(βx), F' = 2βs(1−s)·(2 + βx(1 − 2s)), and 1 − 2s = −tanh(βx/2),
    s(1 − s) = 1/(2 + 2cosh(βx)). F overshoots ±1 slightly near |x| ≈ 2.4/β, so F' is
    negative there. Source: Darabi et al., BNN+, 2018, eqs. 5–6.
    """

    name = "swish"
    defaults = {"beta": 5.0}
    bounds = {"beta": (0.0, True, None)}

    def F(self, x):
        bx = self.beta * np.asarray(x, dtype=float)
        s = 0.5 * (1 + np.tanh(bx / 2))  # σ(βx), overflow-free
        return 2 * s * (1 + bx * (1 - s)) - 1

    def dF(self, x):
        bx = np.clip(self.beta * np.asarray(x, dtype=float), -700, 700)
        return self.beta * (2 - bx * np.tanh(bx / 2)) / (1 + np.cosh(bx))


@register_ste(formula="F(x) = k·tanh(t·x), F'(x) = k·t·(1 − tanh²(t·x)); t = 0.1 → 10, k = max(1/t, 1)",
              reference="IR-Net (Qin et al., CVPR 2020), eq. 13")
class EDE(STE):
    """IR-Net's error decay estimator: F(x) = k·tanh(t·x), F'(x) = k·t·(1 − tanh²(t·x)).

    Schedule (IR-Net, Qin et al., CVPR 2020, eq. 13), with p the fraction of training done:
    t = T_min · 10^(p·log10(T_max/T_min)) = T_min·(T_max/T_min)^p, k = max(1/t, 1),
    T_min = 0.1, T_max = 10: early on F' ≈ 1 (identity), at the end F ≈ sign. The defaults
    are the values at p = 0; :mod:`tinyquant.quant.schedules` moves them.
    """

    name = "ede"
    defaults = {"t": 0.1, "k": 10.0}
    bounds = {"t": (0.0, True, None), "k": (0.0, True, None)}

    def F(self, x):
        return self.k * np.tanh(self.t * np.asarray(x, dtype=float))

    def dF(self, x):
        return self.k * self.t * (1 - np.tanh(self.t * np.asarray(x, dtype=float)) ** 2)


@register_ste(formula="F(x) = sign(x)·|x|^(1/o) (chord x·a^(1/o − 1) on |x| ≤ a, constant beyond m), F'(x) = (1/o)·|x|^(1/o − 1) on a < |x| ≤ m, a^(1/o − 1) on |x| ≤ a, 0 beyond m; o = 1 → 3, a = 0.1, m = 1.5",
              reference="ReSTE (Wu et al., ICCV 2023)")
class ReSTE(STE):
    """Rectified STE (Wu et al., ICCV 2023): F(x) = sign(x)·|x|^(1/o), power o scheduled 1 → 3.

    Backward as in the authors' code: on a < |x| ≤ m, F'(x) = (1/o)·|x|^(1/o − 1); near zero
    (|x| ≤ a, a = 0.1) the derivative would blow up for o > 1, so F is replaced there by its
    chord, F(x) = x·a^(1/o − 1), F' = a^(1/o − 1); beyond the threshold m = 1.5 the gradient
    is 0 and F stays at sign(x)·m^(1/o). o = 1 is the clipped STE with window m.
    """

    name = "reste"
    defaults = {"o": 1.0, "threshold": 1.5, "interval": 0.1}
    bounds = {"o": (1.0, False, None), "threshold": (0.0, True, None), "interval": (0.0, True, None)}

    def check(self):
        super().check()
        if self.interval >= self.threshold:
            raise ValueError(f"STE 'reste': interval ({self.interval}) must be below the "
                             f"threshold ({self.threshold})")

    @property
    def kinks(self):
        return (-self.threshold, -self.interval, self.interval, self.threshold)

    def F(self, x):
        x = np.asarray(x, dtype=float)
        a, e = self.interval, 1.0 / self.o
        ax = np.clip(np.abs(x), a, self.threshold)
        outer = np.sign(x) * ax**e
        return np.where(np.abs(x) <= a, x * a ** (e - 1), outer)

    def dF(self, x):
        x = np.asarray(x, dtype=float)
        a, e, ax = self.interval, 1.0 / self.o, np.abs(x)
        middle = e * np.maximum(ax, a) ** (e - 1)
        return np.where(ax <= a, a ** (e - 1), np.where(ax <= self.threshold, middle, 0.0))


@register_ste(formula="F(x) = (1 − f)·x + f·tanh(k·x), F'(x) = (1 − f) + f·k·sech²(k·x); k = 10, f = 0.2 → 0.8",
              reference="seed 004, eqs. 3–4")
class ABTanh(STE):
    """AB-Tanh-STE: F(x) = (1 − f)·x + f·tanh(k·x), F'(x) = (1 − f) + f·k·sech²(k·x).

    Seed 004, eqs. 3–4; k = 10, f scheduled linearly 0.2 → 0.8 (§4.3). f = 0 is the
    identity STE, f = 1 is tanh(kx) with F' = k·sech²(kx). (Lemma 2 prints
    F'' = f·k²·sech²(kx)·tanh(kx); differentiating eq. 4 gives −2·f·k²·sech²(kx)·tanh(kx),
    whose maximum modulus is (4/(3√3))·f·k² ≈ 0.77·f·k², so the lemma's bound L ≤ f·k²
    still holds.)
    """

    name = "ab_tanh"
    defaults = {"f": 0.2, "k": 10.0}
    bounds = {"f": (0.0, False, 1.0), "k": (0.0, True, None)}

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return (1 - self.f) * x + self.f * np.tanh(self.k * x)

    def dF(self, x):
        x = np.asarray(x, dtype=float)
        return (1 - self.f) + self.f * self.k * sech2(self.k * x)


@register_ste(formula="F(x) = ((1 − f)/2)·x + (f/arctan(2k))·arctan(k·x), F'(x) = (1 − f)/2 + f·k/(arctan(2k)·(1 + (k·x)²)); k = 10, f = 0.2 → 0.8",
              reference="seed 004, eqs. 5–6")
class ABArctan(STE):
    """AB-ArcTan-STE: F(x) = ((1 − f)/2)·x + (f/arctan(2k))·arctan(k·x),

    F'(x) = (1 − f)/2 + f·k / (arctan(2k)·(1 + (k·x)²)).  Seed 004, eqs. 5–6 (and its
    Algorithm 1, which prints the same F'), k = 10, f scheduled 0.2 → 0.8.
    As printed, F(±2) = ±1 for every f (both parts are normalized at x = 2), so at f = 0
    this estimator is x/2 (slope 1/2), not the identity; we keep the paper's constants.
    """

    name = "ab_arctan"
    defaults = {"f": 0.2, "k": 10.0}
    bounds = {"f": (0.0, False, 1.0), "k": (0.0, True, None)}

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return (1 - self.f) / 2 * x + self.f / math.atan(2 * self.k) * np.arctan(self.k * x)

    def dF(self, x):
        x = np.asarray(x, dtype=float)
        return (1 - self.f) / 2 + self.f * self.k / (math.atan(2 * self.k) * (1 + (self.k * x) ** 2))


@register_ste(formula="F(x) = (4/π)·Σ_{i<n} sin((2i+1)·ω·x)/(2i+1), F'(x) = (4ω/π)·Σ_{i<n} cos((2i+1)·ω·x) on |x| ≤ 1 (0 beyond); ω = 0.1, n = 10",
              reference="FDA (Xu et al., NeurIPS 2021)")
class Fourier(STE):
    """FDA's Fourier-series surrogate (Xu et al., NeurIPS 2021):

    F(x) = (4/π)·Σ_{i=0}^{n−1} sin((2i+1)·ω·x) / (2i+1)   on |x| ≤ 1, constant beyond;
    F'(x) = (4ω/π)·Σ_{i=0}^{n−1} cos((2i+1)·ω·x)            on |x| ≤ 1, 0 beyond.

    The truncated sine series of the square wave of period 2π/ω, which is sign(x) on
    |x| < π/ω. Defaults follow the authors' code: ω = 0.1, n = 10 terms, gradient zero
    outside |x| ≤ 1 (their noise-adaptation module is not part of the estimator).
    """

    name = "fourier"
    defaults = {"terms": 10, "omega": 0.1}
    bounds = {"omega": (0.0, True, None)}

    def check(self):
        super().check()
        if isinstance(self.terms, bool) or not isinstance(self.terms, numbers.Integral) or self.terms < 1:
            raise ValueError(f"STE 'fourier': terms must be a positive integer, got {self.terms!r}")

    @property
    def kinks(self):
        return (-1.0, 1.0)

    def _odd(self):
        return 2 * np.arange(self.terms) + 1.0

    def F(self, x):
        x = np.clip(np.asarray(x, dtype=float), -1, 1)[..., None]
        n = self._odd()
        return 4 / math.pi * np.sum(np.sin(n * self.omega * x) / n, axis=-1)

    def dF(self, x):
        x = np.asarray(x, dtype=float)
        g = 4 * self.omega / math.pi * np.sum(np.cos(self._odd() * self.omega * x[..., None]), axis=-1)
        return np.where(np.abs(x) <= 1, g, 0.0)


# ------------------------------------------------------------------ registry
# STES (from tinyquant.quant.registry) holds every class above, filled by @register_ste.


def get_ste(ste, **params) -> STE:
    """An STE instance from a name (``"polynomial"``; seed 000's ``"polynomial_ste"`` too),
    a class, or an instance (returned as is). An unknown name lists the available ones."""
    if isinstance(ste, STE):
        if params:
            raise TypeError(f"get_ste: parameters {sorted(params)} given with an STE instance {ste!r}")
        return ste
    if isinstance(ste, type) and issubclass(ste, STE):
        return ste(**params)
    if not isinstance(ste, str):
        raise TypeError(f"get_ste: expected an STE name, class or instance, got {type(ste).__name__}")
    key = ste.lower().replace("-", "_")
    key = key[: -len("_ste")] if key.endswith("_ste") else key
    if key not in STES:
        raise ValueError(f"unknown STE {ste!r}; available: {', '.join(STES)}")
    return STES[key](**params)


def list_stes() -> list[dict]:
    """One row per registered STE: name, class, parameters with defaults, its declared
    formula (F and F') and reference."""
    return [{"name": n, "class": c.__name__, "params": dict(c.defaults), "formula": c.facts.formula,
             "reference": c.facts.reference} for n, c in STES.items()]


def ste_table() -> str:
    """The registry as a readable table (``print(ste_table())``): one STE per block, its
    parameters, its whole formula and its source (nothing cut)."""
    blocks = []
    for r in list_stes():
        params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items()) or "none"
        blocks.append(f"{r['name']}  ({params})\n    {r['formula']}\n    source: {r['reference']}")
    return "\n".join(blocks)


def staircase_derivative(ste: STE, x, thresholds, heights, width=1.0) -> np.ndarray:
    """The staircase rule: Q̃'(x) = Σ_k (h_k / (2·s)) · F'((x − t_k) / s).

    ``thresholds`` t_k and ``heights`` h_k are sequences (or arrays broadcastable against
    ``x`` with the steps on a new last axis); ``width`` s is a positive scalar or an array
    broadcastable against ``x``. For sign (t = [0], h = [2], s = 1) this is F'(x).
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    h = np.asarray(heights, dtype=float)
    s = np.asarray(width, dtype=float)[..., None] if np.ndim(width) else float(width)
    if np.any(np.asarray(width) <= 0):
        raise ValueError(f"staircase_derivative: width must be > 0, got {width!r}")
    kernels = ste.dF((x[..., None] - t) / s)                     # (..., steps)
    return np.sum(h / (2 * s) * kernels, axis=-1)
