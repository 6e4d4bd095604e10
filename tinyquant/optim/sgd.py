"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

PyTorch's ``torch.optim.SGD`` equations (dampening 0), for a parameter p with gradient g,
learning rate lr, momentum mu and weight decay wd:

    g   <- g + wd * p                     (L2 weight decay, folded into the gradient)
    buf <- g                              on the first step,
    buf <- mu * buf + g                   afterwards               (only if mu > 0)
    d   <- g + mu * buf  if nesterov,  buf  if mu > 0,  g  otherwise
    p   <- p - lr * d

With mu = 0 there is no buffer and the update is plain ``p <- p - lr * (g + wd * p)``.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_real


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, weight_decay=0, nesterov=False)`` (see module doc).

    State per parameter: ``"momentum_buffer"`` (created on its first step when mu > 0).
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
        self._check_group(defaults, "SGD")  # report bad defaults before bad groups
        super().__init__(params, defaults)

    def _check_group(self, group: dict, where: str) -> dict:
        out = super()._check_group(group, where)
        out["momentum"] = check_real(where, "momentum", group["momentum"], 0.0, 1.0, high_open=True)
        out["weight_decay"] = check_real(where, "weight_decay", group["weight_decay"])
        nesterov = group["nesterov"]
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"{where}: nesterov must be True or False, got {nesterov!r}")
        if nesterov and out["momentum"] == 0:
            raise ValueError(f"{where}: nesterov=True needs momentum > 0, got momentum=0")
        out["nesterov"] = bool(nesterov)
        return out

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        d = grad + wd * data if wd != 0 else grad               # g <- g + wd * p
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()        # buf <- g
            else:
                buf *= mu                                       # buf <- mu * buf + g
                buf += d
            d = d + mu * buf if group["nesterov"] else buf      # nesterov: g + mu * buf
        data -= lr * d                                          # p <- p - lr * d
