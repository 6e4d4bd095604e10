"""tinyquant: a small, readable NumPy framework for training binary, ternary and low-bit networks.

Top level: the autograd engine (``Tensor``, ``Function``, ``no_grad``), functions on
tensors (``concatenate``, ``where``, ``log_softmax``, ``cross_entropy``) and
``gradcheck``. Layers live in :mod:`tinyquant.nn`, optimizers in
:mod:`tinyquant.optim`, data in :mod:`tinyquant.data`, training in
:mod:`tinyquant.train` and quantizers with their straight-through estimators in
:mod:`tinyquant.quant`.
"""

from .autograd import Context, Function, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, cross_entropy, log_softmax, where
from .tensor import Tensor, tensor

__version__ = "0.1.0"

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Tensor",
    "concatenate",
    "cross_entropy",
    "gradcheck",
    "is_grad_enabled",
    "log_softmax",
    "no_grad",
    "tensor",
    "where",
]
