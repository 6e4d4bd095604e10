"""Optimizers and learning-rate schedules.

* :class:`Optimizer` -- param groups, per-parameter state, flat ``state_dict`` (optimizer.py)
* :class:`SGD` -- momentum, Nesterov, L2 weight decay, PyTorch's equations (sgd.py)
* :class:`Adam` -- bias-corrected moments, L2 weight decay, PyTorch's equations (adam.py)
* :class:`AdamW` -- Adam with decoupled weight decay (Loshchilov & Hutter, 2019) (adam.py)
* schedules ``constant``, ``step_decay``, ``multistep``, ``cosine``, ``linear_warmup``,
  ``sequential``, ``constant_then`` (composable, ``a * b`` multiplies) and the
  :class:`LRScheduler` that applies one to an optimizer, stepped once per batch (schedules.py)
"""

from .adam import Adam, AdamW
from .optimizer import Optimizer
from .schedules import (
    LRScheduler,
    Schedule,
    constant,
    constant_then,
    cosine,
    linear_warmup,
    multistep,
    sequential,
    step_decay,
)
from .sgd import SGD

__all__ = [
    "Adam",
    "AdamW",
    "LRScheduler",
    "Optimizer",
    "SGD",
    "Schedule",
    "constant",
    "constant_then",
    "cosine",
    "linear_warmup",
    "multistep",
    "sequential",
    "step_decay",
]
