"""Batch normalization (Ioffe & Szegedy, 2015), forward and backward in one Function.

Over the batch (and spatial) axes, per channel c:

    μ = mean(x),  σ² = mean((x − μ)²)                (biased: used to normalize)
    x̂ = (x − μ) / √(σ² + ε),     y = γ·x̂ + β

Backward, with m elements per channel and g = dL/dy:

    dβ = Σ g,   dγ = Σ g·x̂,   dx = γ/(m·√(σ² + ε)) · (m·g − Σ g − x̂·Σ g·x̂)

Conventions (PyTorch's, stated once here): NCHW / NCL / NC layouts; in training the
running estimates move as ``running = (1 − m)·running + m·batch`` with momentum
m = 0.1, and the running *variance* takes the unbiased batch variance σ²·n/(n − 1);
ε = 1e-5. In evaluation the running estimates replace μ and σ² and dx = g·γ/√(var + ε).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


def _as_ncl(a: np.ndarray) -> np.ndarray:
    """View (N, C, ...) as (N, C, L): per-channel reductions become ``einsum('ncl->c')``,
    which reduces without temporaries (3–5× faster than ``mean(axis=(0, 2, 3))``)."""
    return a.reshape(a.shape[0], a.shape[1], -1)


class BatchNormFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        x3 = _as_ncl(x)
        count = x3.shape[0] * x3.shape[2]  # elements per channel
        if training:
            mean = np.einsum("ncl->c", x3) / count
            centered = x3 - mean[:, None]
            var = np.einsum("ncl,ncl->c", centered, centered) / count  # biased
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * count / max(count - 1, 1)  # unbiased
        else:
            mean, var = running_mean, running_var
            centered = x3 - mean[:, None]
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        x_hat = centered
        x_hat *= inv_std[:, None]                                  # in place: x̂ = (x − μ)/√(σ² + ε)
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.training = training
        y = x_hat * weight[:, None]
        y += bias[:, None]
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, weight = ctx.saved
        g = _as_ncl(grad)
        sum_g = np.einsum("ncl->c", g)                             # dβ
        sum_g_xhat = np.einsum("ncl,ncl->c", g, x_hat)             # dγ
        scale = (weight * inv_std)[:, None]
        if ctx.training:
            m = g.shape[0] * g.shape[2]
            # dx = γ/(m·√(σ² + ε)) · (m·g − Σg − x̂·Σg·x̂), evaluated in place
            dx = x_hat * (-sum_g_xhat / m)[:, None]
            dx += g
            dx -= (sum_g / m)[:, None]
            dx *= scale
        else:
            dx = g * scale
        return dx.reshape(grad.shape), sum_g_xhat, sum_g, None, None, None, None, None


def batch_norm(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Functional batch norm (PyTorch's argument order). Updates the running arrays in place."""
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have a channel axis (N, C, ...), got shape {x.shape}")
    channels = x.shape[1]
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if arr is not None and arr.shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {arr.shape}, expected ({channels},)")
    if weight is None:
        weight = Tensor(np.ones(channels, dtype=x.dtype))
    if bias is None:
        bias = Tensor(np.zeros(channels, dtype=x.dtype))
    return BatchNormFunction.apply(
        x, weight, bias, running_mean, running_var, training, momentum, eps
    )
