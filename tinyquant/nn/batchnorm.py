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


def _channel_axes(ndim: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, ndim))  # every axis but the channel axis 1


class BatchNormFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        axes = _channel_axes(x.ndim)
        shape = [1] * x.ndim
        shape[1] = x.shape[1]
        if training:
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            var = np.mean(centered * centered, axis=axes)
            count = x.size // x.shape[1]
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * count / max(count - 1, 1)
        else:
            mean, var = running_mean, running_var
            centered = x - mean.reshape(shape)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        x_hat = centered * inv_std.reshape(shape)
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.shape, ctx.training = axes, shape, training
        return x_hat * weight.reshape(shape) + bias.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, weight = ctx.saved
        axes, shape = ctx.axes, ctx.shape
        sum_g = grad.sum(axis=axes)
        sum_g_xhat = np.sum(grad * x_hat, axis=axes)
        scale = (weight * inv_std).reshape(shape)
        if ctx.training:
            m = grad.size // grad.shape[1]
            dx = scale / m * (m * grad - sum_g.reshape(shape) - x_hat * sum_g_xhat.reshape(shape))
        else:
            dx = grad * scale
        return dx, sum_g_xhat, sum_g, None, None, None, None, None


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
