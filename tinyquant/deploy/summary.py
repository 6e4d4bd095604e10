"""``summary(model, input_shape)``: what a quantized network holds and computes, bit by bit.

Modelled on larq's ``lq.models.summary``. Per layer (every Linear, convolution and batch
norm, in definition order):

* the weight and activation (input) quantizers and their precision in bits
  (:mod:`tinyquant.deploy.precision`: binary 1, ternary 2, k-bit ⌈log₂ levels⌉, float 32);
* parameters by precision: the weight at its precision, a bias at 32 bits, and a batch norm
  as 2·C float32 numbers (scale γ/√(var + ε) and shift β − γ·μ/√(var + ε): what inference
  keeps once the running statistics are folded, as larq counts it);
* memory as float32 (4 bytes a parameter) and packed (what :mod:`tinyquant.deploy.pack`
  stores: 1 bit a binary weight, 2 a ternary one, the code's integer width for k-bit, plus
  the float32 scales: one per output channel for binary, two for ternary, one for k-bit);
* MACs per sample (weight entries × output positions), by precision: the precision of a
  MAC is the larger of its two operands' (larq's rule), so a W1A1 layer's MACs are binary
  (XNOR-popcount), a binary-weight layer with float inputs does float MACs (as
  sign-masked additions), and W2A2 is 2-bit.

Totals give the parameter counts by precision, both memories and the compression ratio
float32 / packed, and the fraction of MACs that are binary and ternary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autograd import no_grad
from ..nn.layers import QuantizableLayer, _BatchNorm
from ..tensor import Tensor
from .precision import FLOAT_BITS, activation_form, storage_bits, weight_form

PRECISION_NAMES = {1: "binary", 2: "2-bit", FLOAT_BITS: "float"}


def precision_name(bits: int) -> str:
    return PRECISION_NAMES.get(bits, f"{bits}-bit")


@dataclass
class LayerSummary:
    name: str
    kind: str                                   # "Conv2d", "Linear", "BatchNorm2d", …
    output_shape: tuple
    weight_quantizer: str = "-"
    activation_quantizer: str = "-"
    weight_bits: int = FLOAT_BITS
    activation_bits: int = FLOAT_BITS
    params: dict = field(default_factory=dict)  # bits -> count
    float32_bytes: int = 0
    packed_bytes: float = 0.0
    macs: dict = field(default_factory=dict)    # precision bits -> MACs per sample

    def as_dict(self) -> dict:
        return dict(self.__dict__, output_shape=list(self.output_shape))


@dataclass
class ModelSummary:
    layers: list
    input_shape: tuple

    def params(self, bits: int | None = None) -> int:
        return sum(n for la in self.layers for b, n in la.params.items() if bits in (None, b))

    def macs(self, bits: int | None = None) -> int:
        return sum(n for la in self.layers for b, n in la.macs.items() if bits in (None, b))

    @property
    def float32_bytes(self) -> int:
        return sum(la.float32_bytes for la in self.layers)

    @property
    def packed_bytes(self) -> float:
        return sum(la.packed_bytes for la in self.layers)

    @property
    def compression_ratio(self) -> float:
        return self.float32_bytes / self.packed_bytes if self.packed_bytes else 1.0

    def as_dict(self) -> dict:
        return {"input_shape": list(self.input_shape), "layers": [la.as_dict() for la in self.layers],
                "params": self.params(), "float32_bytes": self.float32_bytes,
                "packed_bytes": self.packed_bytes, "compression_ratio": self.compression_ratio,
                "macs": self.macs()}

    def __str__(self) -> str:
        pbits = sorted({b for la in self.layers for b in la.params})
        mbits = sorted({b for la in self.layers for b in la.macs})
        head = (["layer", "type", "weights", "w bits", "input", "a bits", "output"]
                + [f"{precision_name(b)} params" for b in pbits] + ["float32 kB", "packed kB"]
                + [f"{precision_name(b)} MACs" for b in mbits])
        rows = [[la.name, la.kind, la.weight_quantizer, str(la.weight_bits), la.activation_quantizer,
                 str(la.activation_bits), "×".join(map(str, la.output_shape))]
                + [f"{la.params.get(b, 0):,}" for b in pbits]
                + [f"{la.float32_bytes / 1024:.2f}", f"{la.packed_bytes / 1024:.2f}"]
                + [f"{la.macs.get(b, 0):,}" for b in mbits] for la in self.layers]
        rows.append(["total", "", "", "", "", "", ""] + [f"{self.params(b):,}" for b in pbits]
                    + [f"{self.float32_bytes / 1024:.2f}", f"{self.packed_bytes / 1024:.2f}"]
                    + [f"{self.macs(b):,}" for b in mbits])
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        fmt = lambda r: "  ".join(c.ljust(w) if i < 7 else c.rjust(w)     # noqa: E731
                                  for i, (c, w) in enumerate(zip(r, widths)))
        lines = [fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in rows[:-1]]
        lines += ["-" * len(fmt(head)), fmt(rows[-1]), ""]
        total = max(self.macs(), 1)
        lines += [f"parameters            {self.params():,}",
                  f"memory, float32       {self.float32_bytes / 1024:.2f} kB",
                  f"memory, packed        {self.packed_bytes / 1024:.2f} kB",
                  f"compression ratio     {self.compression_ratio:.2f}×",
                  f"MACs per sample       {self.macs():,}",
                  f"binary MACs           {self.macs(1) / total:.2%}",
                  f"2-bit MACs            {self.macs(2) / total:.2%}"]
        return "\n".join(lines)


def _output_shapes(model, input_shape) -> dict:
    """Per-sample output shape of every quantizable layer and batch norm, from one eval forward."""
    shapes, watched = {}, [m for m in model.modules() if isinstance(m, (QuantizableLayer, _BatchNorm))]
    modes = {id(m): m.training for m in model.modules()}
    for m in watched:
        def hook(*args, _forward=m.forward, _m=m):
            out = _forward(*args)
            shapes[id(_m)] = tuple(out.shape[1:])
            return out
        object.__setattr__(m, "forward", hook)
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros((1, *input_shape), dtype=np.float32)))
    finally:
        for m in watched:
            del m.__dict__["forward"]
        for m in model.modules():
            object.__setattr__(m, "training", modes[id(m)])
    return shapes


def _quantized_layer(name, layer, shape) -> LayerSummary:
    w, a = weight_form(layer), activation_form(layer)
    row = LayerSummary(name, type(layer).__name__, shape, weight_bits=w.bits, activation_bits=a.bits)
    if layer.weight_quantizer is not None:
        row.weight_quantizer = layer.weight_quantizer.name
    if layer.activation_quantizer is not None:
        row.activation_quantizer = layer.activation_quantizer.name
    count = layer.weight.size
    bias = 0 if layer.bias is None else layer.bias.size
    row.params = {w.bits: count}
    if bias:
        row.params[FLOAT_BITS] = row.params.get(FLOAT_BITS, 0) + bias
    out_channels = layer.weight.shape[0]
    scales = {"float": 0, "binary": out_channels, "ternary": 2 * out_channels, "kbit": 1}[w.kind]
    row.float32_bytes = 4 * (count + bias)
    row.packed_bytes = count * storage_bits(w) / 8 + 4 * (scales + bias)
    positions = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    row.macs = {max(w.bits, a.bits): count * positions}
    return row


def summary(model, input_shape) -> ModelSummary:
    """The summary of ``model`` for per-sample inputs of ``input_shape`` (module docstring).
    ``print(summary(model, (1, 8, 8)))`` prints the table; the object holds the numbers."""
    input_shape = tuple(int(d) for d in input_shape)
    if not input_shape or any(d < 1 for d in input_shape):
        raise ValueError(f"summary: input_shape must be a per-sample shape such as (1, 8, 8), "
                         f"got {input_shape!r}")
    shapes = _output_shapes(model, input_shape)
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, QuantizableLayer):
            rows.append(_quantized_layer(name, m, shapes[id(m)]))
        elif isinstance(m, _BatchNorm):
            rows.append(LayerSummary(name, type(m).__name__, shapes[id(m)],
                                     params={FLOAT_BITS: 2 * m.num_features},
                                     float32_bytes=8 * m.num_features, packed_bytes=8 * m.num_features))
    return ModelSummary(rows, input_shape)


__all__ = ["LayerSummary", "ModelSummary", "summary"]
