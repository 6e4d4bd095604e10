"""What a trained quantized layer holds, as integers and scales: the facts every deploy tool uses.

A weight quantizer maps the latent float weight w to w_q (evaluated in eval mode). For
deployment w_q is written as integers times float32 scales:

* **binary** (2 levels, ``num_levels == 2``): w_q[o] = α_o·b, b ∈ {−1, +1} (sign(0) = +1);
  α_o one per output channel (1 for BinaryConnect, mean|w_o| for XNOR).
* **ternary** (3 levels): w_q[o] = p_o·P − n_o·N with two bit planes P = 1[w_q > 0],
  N = 1[w_q < 0] and two scales (TTQ's W_p ≠ W_n; TWN and seed 001 have p = n).
* **k-bit** (any other quantizer): w_q = s·c with integer codes c and one scale s. The codes
  come from the quantizer's own ``codes()``; s (and an offset, folded away) are solved from
  two code/value pairs and every entry is verified, so a quantizer whose output is not
  such a grid is refused rather than exported wrong.

An activation quantizer is described the same way: ``sign_activation`` is binary (±1, or ±K
per sample); a k-bit activation quantizer is c = ⌊clip(x/s, lo, hi)⌉ with value s·c.

Bits: binary 1, ternary 2 (two planes or a 2-bit code), k-bit the width of the smallest
signed integer holding every code (for the unbounded grids of seed 002's rounding, read off
the trained weights), float 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn.layers import QuantizableLayer

FLOAT_BITS = 32


@dataclass
class WeightForm:
    """A layer's quantized weight as integers and scales (module docstring)."""

    kind: str                       # "float" | "binary" | "ternary" | "kbit"
    bits: int                       # precision: ⌈log₂ levels⌉ (ternary 2, float 32)
    values: np.ndarray              # w_q, float32, what the float model computes with
    codes: np.ndarray | None = None  # binary: ±1; ternary: −1/0/+1; kbit: integers
    scale: np.ndarray | None = None  # binary/kbit: (O,) or (); ternary: positive scale (O,)
    scale_neg: np.ndarray | None = None  # ternary: negative scale (O,)


@dataclass
class ActivationForm:
    """A layer's input quantizer: kind "float" | "binary" | "kbit" and its constants."""

    kind: str
    bits: int
    scaled: bool = False            # binary: multiplied by K = mean|x| per sample
    step: float = 1.0               # kbit: value = step·code
    low: int = 0                    # kbit: codes clipped to [low, high]
    high: int = 0


def signed_bits(codes: np.ndarray) -> int:
    """The width of the smallest two's-complement integer holding every code (at least 2)."""
    lo, hi = int(codes.min(initial=0)), int(codes.max(initial=0))
    bits = 2
    while not (-(2 ** (bits - 1)) <= lo and hi <= 2 ** (bits - 1) - 1):
        bits += 1
    return bits


def level_bits(codes: np.ndarray, num_levels: int | None = None) -> int:
    """⌈log₂ L⌉ for L levels: the quantizer's ``num_levels``, or (for an unbounded grid) the
    levels spanned by the codes, (max − min)/g + 1 with g the grid's spacing in codes."""
    if num_levels is None:
        c = np.unique(codes)
        g = int(np.gcd.reduce(np.diff(c))) if c.size > 1 else 1
        num_levels = (int(c[-1]) - int(c[0])) // g + 1
    return max(1, int(np.ceil(np.log2(num_levels))))


def storage_bits(form) -> int:
    """Bits per weight in the packed file: 1 (binary), 2 (ternary planes), the code's integer
    width (k-bit), 32 (float)."""
    if form.kind in ("binary", "ternary", "float"):
        return form.bits
    return np.dtype(form.codes.dtype).itemsize * 8


def smallest_int_dtype(bits: int):
    """int8 / int16 / int32 for a signed code of ``bits`` bits."""
    for dtype in (np.int8, np.int16, np.int32):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"smallest_int_dtype: {bits} bits do not fit in int32")


def _affine_fit(owner, codes, values):
    """(s, b) with values = s·codes + b, from two distinct codes; every entry is checked."""
    c, v = codes.ravel().astype(np.float64), values.ravel().astype(np.float64)
    lo, hi = np.argmin(c), np.argmax(c)
    if c[lo] == c[hi]:
        return (float(np.max(np.abs(v))) or 1.0) / max(abs(c[lo]), 1.0), 0.0
    s = (v[hi] - v[lo]) / (c[hi] - c[lo])
    b = v[lo] - s * c[lo]
    err = np.max(np.abs(s * c + b - v))
    if not err <= 1e-5 * max(np.max(np.abs(v)), 1e-30):
        raise ValueError(f"{owner}: quantized values are not a uniform grid of its codes "
                         f"(max error {err:.3g}); it cannot be exported as integers")
    return s, (0.0 if abs(b) <= 1e-6 * abs(s) else b)     # an offset within rounding is none


def two_level_form(q, values: np.ndarray) -> WeightForm:
    """Binary or ternary: per output channel the larger nonzero level is the +1 plane (scale p),
    the smaller the −1 plane (scale n, value −n), so that w_q = p·P − n·N holds whatever the
    signs of the learned levels (TTQ's W_n can cross zero in training); checked entry by entry."""
    flat = values.reshape(values.shape[0], -1)
    nonzero = flat != 0
    hi = np.where(nonzero, flat, -np.inf).max(axis=1)
    lo = np.where(nonzero, flat, np.inf).min(axis=1)
    single_negative = (hi == lo) & (hi <= 0)
    plus = nonzero & (flat == hi[:, None]) & ~single_negative[:, None]
    minus = nonzero & ~plus
    p = np.where(plus.any(axis=1), hi, 0).astype(np.float32)
    n = np.where(minus.any(axis=1), -lo, 0).astype(np.float32)
    codes = plus.astype(np.int8) - minus.astype(np.int8)
    if not np.array_equal(p[:, None] * plus - n[:, None] * minus, flat):
        raise ValueError(f"{q.name}: quantized weights take more than two nonzero levels per output "
                         f"channel; cannot be stored as bit planes")
    codes = codes.reshape(values.shape)
    if q.num_levels == 3:
        return WeightForm("ternary", 2, values, codes, p, n)
    p, n = np.where(plus.any(axis=1), p, n), np.where(minus.any(axis=1), n, p)  # one-sided filters
    if np.any(codes == 0) or not np.array_equal(p, n):
        raise ValueError(f"{q.name}: binary weights must be ±α per output channel")
    return WeightForm("binary", 1, values, codes, p)


def weight_form(layer: QuantizableLayer) -> WeightForm:
    """The layer's weight as integers and scales (module docstring)."""
    q = layer.weight_quantizer
    w = layer.weight.data
    if q is None:
        return WeightForm("float", FLOAT_BITS, w.astype(np.float32))
    was_training = q.training
    q.eval()
    try:
        values = q.quantize(w).astype(np.float32)
        if q.num_levels in (2, 3):
            return two_level_form(q, values)
        codes = np.asarray(q.codes(w)).astype(np.int64)
        s, b = _affine_fit(q.name, codes, values)
        if b != 0.0:   # an offset grid (DoReFa's 2j/n − 1): double the codes to centre it
            shift = round(2 * b / s)
            if abs(2 * b / s - shift) > 1e-4:
                raise ValueError(f"{q.name}: grid offset {b!r} is not a half-multiple of its step {s!r}")
            codes, s = 2 * codes + shift, s / 2
        dtype = smallest_int_dtype(signed_bits(codes))
        return WeightForm("kbit", level_bits(codes, q.num_levels), values, codes.astype(dtype),
                          np.asarray(s, dtype=np.float32))
    finally:
        q.train(was_training)


def activation_form(layer: QuantizableLayer) -> ActivationForm:
    """The layer's input quantizer, described for inference (module docstring)."""
    q = layer.activation_quantizer
    if q is None:
        return ActivationForm("float", FLOAT_BITS)
    if q.name == "sign_activation":
        return ActivationForm("binary", 1, scaled=q.scaled)
    alpha = float(np.max(q.scale(np.ones(1, dtype=np.float32))))
    probe = np.linspace(-0.5 * alpha, 1.5 * alpha, 4001, dtype=np.float32)
    was_training = q.training
    q.eval()
    try:
        values, codes = q.quantize(probe), np.asarray(q.codes(probe)).astype(np.int64)
    finally:
        q.train(was_training)
    s, b = _affine_fit(q.name, codes, values)
    if b != 0.0:
        raise ValueError(f"{q.name}: activation grid has an offset {b!r}; expected levels s·c")
    learned = getattr(q, "step", getattr(q, "s", None))   # UniQ's Δ, LSQ's s: the float32 the
    if learned is not None:                               # quantizer divides by, bit for bit
        s = float(np.asarray(learned.data, dtype=np.float32))
    low, high = int(codes.min()), int(codes.max())
    return ActivationForm("kbit", level_bits(codes, q.num_levels), step=float(s), low=low, high=high)


__all__ = ["ActivationForm", "FLOAT_BITS", "WeightForm", "activation_form", "level_bits",
           "signed_bits", "smallest_int_dtype", "storage_bits", "weight_form"]
