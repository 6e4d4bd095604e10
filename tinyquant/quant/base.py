"""``Quantizer``: the Module every weight and activation quantizer derives from.

A quantizer is a :class:`tinyquant.nn.Module` (so its learned scales, steps and
thresholds are model parameters) whose ``forward`` applies one autograd ``Function``:
the quantizer's forward and its straight-through backward, side by side. Plugged into a
layer (``layer.weight_quantizer = XNOR()``) it maps the latent float weight to the weight
the layer computes with.

Besides ``forward``, a quantizer answers three questions used by training tools:

* ``scale(w)``   -- its scale α, broadcastable against ``w`` (weight clipping to [−fα, fα]);
* ``codes(w)``   -- the integer level index of each entry (diagnostics: changed levels);
* ``quantize(w)``-- the quantized array, without building a graph.

``quantize`` and ``codes`` are *observations*: they run the quantizer as in evaluation
mode, so they never draw from a stochastic quantizer's random stream (a stochastic
quantizer answers with its deterministic counterpart: sign, Qd) and never initialize a
data-dependent parameter. Training with or without diagnostics gives the same numbers.

Parameters whose initial value depends on data (UniQ's and LSQ's step, TTQ's scales,
the trainable threshold) are initialized on the first forward in training mode; the
``initialized`` buffer is saved in checkpoints, so resuming never re-initializes.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .registry import MAX_BITS
from .ste import STE, get_ste


def check_bits(owner: str, bits, minimum: int = 1, maximum: int = MAX_BITS) -> int:
    """``bits`` as an int in [minimum, maximum] (a quantizer passes its declared ``facts.bits``)."""
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, numbers.Integral):
        raise TypeError(f"{owner}: bits must be an integer, got {bits!r}")
    if bits < minimum:
        raise ValueError(f"{owner}: bits must be >= {minimum}, got {bits}")
    if bits > maximum:
        raise ValueError(f"{owner}: bits must be <= {maximum} (2^{maximum} levels), got {bits}")
    return int(bits)


def check_positive(owner: str, name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_tensor(owner: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: input must be a tinyquant.Tensor, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{owner}: input must be floating point, got dtype {x.dtype}")
    return x


def scalar_parameter(value: float = 1.0) -> Parameter:
    """A learnable 0-d float32 parameter (a step size, a scale, a threshold)."""
    return Parameter(np.asarray(value, dtype=np.float32))


class Quantizer(Module):
    """Base class (see the module docstring). Subclasses set ``name`` and write ``forward``."""

    name = ""
    #: set by :class:`~tinyquant.quant.diagnostics.QuantizerTrace`: keep the last input
    record_input = False
    #: number of output levels (None where it depends on the data, e.g. per-filter scales)
    num_levels: int | None = None

    def __init__(self, ste=None):
        super().__init__()
        self.ste: STE | None = None if ste is None else get_ste(ste)
        self.register_buffer("initialized", np.zeros((), dtype=bool))

    # ------------------------------------------------------ data-driven init
    def observe(self, x: np.ndarray) -> None:
        """Keep the last input when a diagnostic asked for it (``record_input``)."""
        if self.record_input:
            object.__setattr__(self, "last_input", x)

    def maybe_initialize(self, x: np.ndarray) -> None:
        if self.training and not bool(self.initialized):
            self.initialize(x)
            self.initialized[...] = True

    def initialize(self, x: np.ndarray) -> None:
        """Set data-dependent parameters from the first input (default: nothing)."""

    # ------------------------------------------------------------ questions
    def quantize(self, w) -> np.ndarray:
        """The quantized values of ``w`` (array or Tensor), without a graph."""
        arr = w.data if isinstance(w, Tensor) else np.asarray(w)
        was = self.training
        self.train(False)               # eval mode: no random draws, no initialization
        try:
            with no_grad():
                return self(Tensor(arr)).data
        finally:
            self.train(was)

    def scale(self, w: np.ndarray) -> np.ndarray:
        """α: the largest output magnitude, broadcastable against ``w``."""
        return np.max(np.abs(self.quantize(w)))

    def codes(self, w: np.ndarray) -> np.ndarray:
        """Integer level index of each entry (default: the sign of the quantized value)."""
        return np.sign(self.quantize(w)).astype(np.int64)

    def extra_repr(self) -> str:
        return "" if self.ste is None else f"ste={self.ste!r}"
