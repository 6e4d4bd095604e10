"""Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction, with L2 weight decay
(:class:`Adam`) or decoupled weight decay (:class:`AdamW`, Loshchilov & Hutter, 2019).

PyTorch's ``torch.optim.Adam`` equations (amsgrad off), for a parameter p with gradient
g, learning rate lr, betas (b1, b2), eps and weight decay wd; t counts this parameter's
steps from 1:

    g     <- g + wd * p                   (L2 weight decay added to the gradient, not AdamW)
    m     <- b1 * m + (1 - b1) * g        (m = v = 0 before the first step)
    v     <- b2 * v + (1 - b2) * g**2
    m_hat =  m / (1 - b1**t)
    v_hat =  v / (1 - b2**t)
    p     <- p - lr * m_hat / (sqrt(v_hat) + eps)

As in PyTorch the last line is computed as
``p <- p - (lr / (1 - b1**t)) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``, which is the same
number up to rounding and folds the bias corrections into scalars.

AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
Algorithm 2, line 12, REFERENCES.md) decays the weight *outside* the adaptive step, so the
decay is not divided by sqrt(v_hat). In PyTorch's ``torch.optim.AdamW`` parameterization,
followed here, the paper's schedule multiplier eta_t is 1 and its decay eta_t * lambda is
scaled by the learning rate, lr * wd:

    p     <- p - lr * wd * p              (first, with the gradient left unchanged)
    then the Adam lines above with wd = 0 (default wd = 0.01)
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, check_real


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`` (see module doc).

    State per parameter: ``"step"`` (t, an int), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v).
    """

    state_names = ("step", "exp_avg", "exp_avg_sq")
    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self._check_group(defaults, "Adam")  # report bad defaults before bad groups
        super().__init__(params, defaults)

    def _check_group(self, group: dict, where: str) -> dict:
        out = super()._check_group(group, where)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair (b1, b2), got {betas!r}")
        out["betas"] = tuple(check_real(where, f"betas[{i}]", b, 0.0, 1.0, high_open=True)
                             for i, b in enumerate(betas))
        out["eps"] = check_real(where, "eps", group["eps"])
        out["weight_decay"] = check_real(where, "weight_decay", group["weight_decay"])
        return out

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        wd = group["weight_decay"]
        g = grad + wd * data if wd != 0 else grad               # g <- g + wd * p
        adam_step(data, g, state, group)


def adam_step(data: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
    """Adam's moments and bias-corrected step for gradient ``g``, in place (module docstring)."""
    lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(data), exp_avg_sq=np.zeros_like(data))
    state["step"] += 1
    t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
    m *= b1                                                     # m <- b1 m + (1 - b1) g
    m += (1 - b1) * g
    v *= b2                                                     # v <- b2 v + (1 - b2) g^2
    v += (1 - b2) * (g * g)
    step_size = lr / (1 - b1**t)                                # lr / (1 - b1^t)
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps              # sqrt(v_hat) + eps
    data -= step_size * m / denom                               # p <- p - lr m_hat / (...)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)``:
    Adam with decoupled weight decay (module docstring); the same state as :class:`Adam`."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, wd = group["lr"], group["weight_decay"]
        if wd != 0:
            data *= 1 - lr * wd                                 # p <- p - lr wd p (decoupled)
        adam_step(data, grad, state, group)
