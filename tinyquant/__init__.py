"""tinyquant: a small, readable NumPy framework for training binary, ternary and low-bit networks.

Top level: the autograd engine (``Tensor``, ``Function``, ``no_grad``), functions on
tensors (``concatenate``, ``where``, ``softmax``, ``log_softmax``, ``cross_entropy``),
``gradcheck`` and ``manual_seed``. Layers live in :mod:`tinyquant.nn`, optimizers in
:mod:`tinyquant.optim`, data in :mod:`tinyquant.data`, training in
:mod:`tinyquant.train` and quantizers with their straight-through estimators in
:mod:`tinyquant.quant`.

As in PyTorch, ``import tinyquant as tq`` is enough to reach them: ``tq.nn.Linear``,
``tq.optim.SGD``, ``tq.data.DataLoader``. The subpackages are imported on first use
(PEP 562 module ``__getattr__``), so ``import tinyquant`` stays as fast as the core.

The training API is reachable the same way: ``tq.TrainConfig`` / ``tq.QuantConfig``
(:mod:`tinyquant.config`), ``tq.build_run``, ``tq.train_run`` (= ``tinyquant.run.train``),
``tq.build_model(config, input_shape, num_classes)`` and ``tq.load_config(checkpoint)``
(:mod:`tinyquant.run`).
"""

import importlib

from .autograd import Context, Function, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, cross_entropy, log_softmax, softmax, where
from .rng import manual_seed
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
    "manual_seed",
    "no_grad",
    "softmax",
    "tensor",
    "where",
]

#: Subpackages reachable as attributes, imported on first access.
SUBPACKAGES = ("data", "nn", "optim", "quant", "train")
#: The training API, imported on first access: name -> (module, attribute).
LAZY = {"TrainConfig": ("config", "TrainConfig"), "QuantConfig": ("config", "QuantConfig"),
        "build_run": ("run", "build_run"), "train_run": ("run", "train"),
        "build_model": ("run", "build_model"), "load_config": ("run", "load_config")}


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)   # also sets it as an attribute
    if name in LAZY:
        module, attribute = LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'tinyquant' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(SUBPACKAGES) | set(LAZY))
