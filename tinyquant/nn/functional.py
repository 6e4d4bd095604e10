"""Functions on Tensors used by the layers, under PyTorch's names.

``conv2d``/``conv1d`` live in :mod:`tinyquant.nn.convolution` (im2col and one GEMM),
pooling in :mod:`tinyquant.nn.pooling`, batch norm in :mod:`tinyquant.nn.batchnorm`;
this module gathers them so that ``import tinyquant.nn.functional as F`` is all a
model needs.
"""

from __future__ import annotations

from .. import ops
from ..ops import cross_entropy, log_softmax, softmax
from ..tensor import Tensor
from .batchnorm import batch_norm
from .convolution import conv1d, conv2d
from .dropout import dropout
from .pooling import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool1d,
    global_avg_pool2d,
    max_pool1d,
    max_pool2d,
)


def relu(x: Tensor) -> Tensor:
    """max(x, 0); the gradient is 1 where x > 0 and 0 elsewhere (including x = 0)."""
    return ops.ReLU.apply(x)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b with x (N, in), W (out, in), b (out,)."""
    ops.check_floating("linear", "input", x)
    ops.check_floating("linear", "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != weight.shape[:1]):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) to match weight shape "
                         f"{weight.shape}, got {getattr(bias, 'shape', type(bias).__name__)}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}) "
            f"but weight expects {weight.shape[1]} (weight shape {weight.shape})"
        )
    y = x @ weight.transpose()
    return y if bias is None else y + bias


__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "global_avg_pool1d",
    "global_avg_pool2d",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "relu",
    "softmax",
]
