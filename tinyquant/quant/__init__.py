"""Quantizers with their straight-through estimators, and the tools to train with them.

* :mod:`~tinyquant.quant.registry` -- ``@register_quantizer`` / ``@register_ste``: each class's
  facts (kind, levels, bits, symmetry, idempotence, reference, formula) on the class;
  ``get_quantizer``, ``QUANTIZERS``, ``STES``, ``list_quantizers()``
* :mod:`~tinyquant.quant.ste` -- the STEs (``get_ste``, ``ste_table()``) and the staircase rule
* :mod:`~tinyquant.quant.binary`, :mod:`~tinyquant.quant.ternary`, :mod:`~tinyquant.quant.uniform`
  -- the quantizers, each a Module around one forward/backward Function
* :mod:`~tinyquant.quant.rounding` -- seed 002's Qd and Qs on plain arrays
* :mod:`~tinyquant.quant.schedules` -- every scheduled STE parameter, and its callback
* :mod:`~tinyquant.quant.clipping`, :mod:`~tinyquant.quant.regimes`,
  :mod:`~tinyquant.quant.diagnostics`, :mod:`~tinyquant.quant.config` -- quantized training
* :mod:`~tinyquant.quant.functional` -- the pure NumPy math (sign, Q_w/Q_a, LSQ, optimal steps,
  SQNR, the truncated-Gaussian scale), written once; the sandbox ``toy_problems`` imports it

Citations such as "seed 003, eq. 6" or "TTQ eq. 8" resolve in the repository's ``REFERENCES.md``.
"""

from .base import Quantizer
from .binary import XNOR, BinaryConnect, StochasticBinary
from .registry import (
    ACTIVATION_QUANTIZERS,
    QUANTIZERS,
    get_quantizer,
    list_quantizers,
    quantizer_facts,
    quantizer_names,
    register_quantizer,
    register_ste,
)
from .rounding import deterministic_round, stochastic_round
from .sign_activation import SignActivation
from .ste import STE, STES, get_ste, list_stes, staircase_derivative, ste_table
from .ternary import (
    TTQ,
    TWN,
    TruncatedGaussianTernary,
    truncated_gaussian_scale,
    truncated_gaussian_scale_grad,
)
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

__all__ = [
    "ACTIVATION_QUANTIZERS", "BinaryConnect", "DeterministicRounding", "DoReFa", "DoReFaActivation",
    "LSQ", "LSQActivation", "QUANTIZERS", "Quantizer", "STE", "STES", "SignActivation", "StochasticBinary",
    "StochasticRounding", "TTQ", "TWN", "TruncatedGaussianTernary", "UniQ", "UniQActivation",
    "XNOR", "deterministic_round", "get_quantizer", "get_ste", "list_quantizers", "list_stes",
    "quantizer_facts", "quantizer_names", "register_quantizer", "register_ste",
    "staircase_derivative", "ste_table", "stochastic_round", "truncated_gaussian_scale",
    "truncated_gaussian_scale_grad",
]
