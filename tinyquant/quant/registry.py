"""The quantizer registry: every quantizer by name.

``get_quantizer("ttq", ste="polynomial")`` builds one; an unknown name raises a
ValueError listing the available ones. ``list_quantizers()`` describes them all.

    name                          kind        levels
    binary_connect                weights     {−1, +1}, sign(0) = +1            seed 002 §3
    stochastic_binary             weights     {−1, +1}, P(+1) = hard-sigmoid(w)  BinaryConnect
    xnor                          weights     {−α_o, +α_o}, α_o = mean|w| per filter  XNOR/BWN
    twn                           weights     {−α, 0, +α}, Δ = 0.7·E|w|          TWN
    ttq                           weights     {−W_n, 0, +W_p}, Δ = 0.05·max|w|    TTQ
    truncated_gaussian_ternary    weights     {−S, 0, +S}, trainable δ           seed 001
    uniq                          weights     N even, ±Δ/2 … ±Δ(N−1)/2           seed 003 eqs 3–4
    uniq_activation               activations 0 … (N−1)Δ                          seed 003 eq 5
    lsq / lsq_activation          either      −Q_n·s … Q_p·s                      LSQ
    dorefa / dorefa_activation    either      2^k levels in [−1, 1] / [0, 1]      seed 003 eq 2
    deterministic_round           weights     ΔZ, Qd                              seed 002 eq 3
    stochastic_round              weights     ΔZ, Qs                              seed 002 eq 5
    sign_activation               activations {−1, +1} (or ±K), sign(0) = +1      BinaryNet, XNOR-Net
"""

from __future__ import annotations

from .base import Quantizer
from .binary import XNOR, BinaryConnect, StochasticBinary
from .sign_activation import SignActivation
from .ternary import TTQ, TWN, TruncatedGaussianTernary
from .uniform import (
    LSQ,
    DeterministicRounding,
    DoReFa,
    DoReFaActivation,
    LSQActivation,
    StochasticRounding,
    UniQ,
    UniQActivation,
)

QUANTIZERS: dict[str, type[Quantizer]] = {
    cls.name: cls
    for cls in (BinaryConnect, StochasticBinary, XNOR, TWN, TTQ, TruncatedGaussianTernary, UniQ,
                UniQActivation, LSQ, LSQActivation, DoReFa, DoReFaActivation,
                DeterministicRounding, StochasticRounding)
}
QUANTIZERS[SignActivation.name] = SignActivation

#: quantizers meant for activations (the others quantize weights)
ACTIVATION_QUANTIZERS = ("uniq_activation", "lsq_activation", "dorefa_activation", "sign_activation")


def get_quantizer(name: str, **kwargs) -> Quantizer:
    """A new quantizer Module by registry name (keyword arguments go to its constructor)."""
    if not isinstance(name, str):
        raise TypeError(f"get_quantizer: name must be a string, got {type(name).__name__}")
    key = name.lower().replace("-", "_")
    if key not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {name!r}; available: {', '.join(QUANTIZERS)}")
    return QUANTIZERS[key](**kwargs)


def list_quantizers() -> list[dict]:
    """One row per registered quantizer: name, class and the first line of its docstring."""
    return [{"name": n, "class": c.__name__, "doc": (c.__doc__ or "").strip().splitlines()[0]}
            for n, c in QUANTIZERS.items()]
