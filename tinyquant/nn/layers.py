"""Layers: Linear, Conv2d, Conv1d, batch norm, activations, pooling, Flatten, Sequential.

The quantizer hook
------------------
Every Linear and convolution layer is a :class:`QuantizableLayer`, and that class is
the *one* place where quantization enters a model. It has two attributes, both
``None`` by default:

* ``weight_quantizer`` -- a Module mapping the latent float weight to the weight the
  layer computes with (a quantizer with its straight-through estimator);
* ``activation_quantizer`` -- a Module applied to the layer's *input* activations.

The layer's forward calls ``self.quantized_weight()`` and ``self.quantized_input(x)``
and never looks at quantization otherwise, so no model code changes when a model
becomes binary, ternary or k-bit: assign the attributes (or call
:func:`tinyquant.nn.quantize_model`). Because the quantizers are sub-modules, their own
parameters (learned scales, steps, thresholds) are model parameters and are saved in
the state dict.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..rng import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


def _uniform(rng, bound: float, shape) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


class QuantizableLayer(Module):
    """A layer with a latent float ``weight`` and the two quantizer slots (module docstring)."""

    def __init__(self):
        super().__init__()
        self.weight_quantizer = None
        self.activation_quantizer = None

    def quantized_weight(self) -> Tensor:
        """The weight used in forward: ``weight_quantizer(weight)``, or the weight itself."""
        if self.weight_quantizer is None:
            return self.weight
        return self.weight_quantizer(self.weight)

    def quantized_input(self, x: Tensor) -> Tensor:
        """The input used in forward: ``activation_quantizer(x)``, or ``x`` itself."""
        if self.activation_quantizer is None:
            return x
        return self.activation_quantizer(x)

    def _init_parameters(self, shape, fan_in, bias, rng):
        # PyTorch's default: U(−1/√fan_in, 1/√fan_in) for weight and bias
        rng = as_generator(rng)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Parameter(_uniform(rng, bound, shape))
        self.bias = Parameter(_uniform(rng, bound, (shape[0],))) if bias else None


class Linear(QuantizableLayer):
    """y = x·Wᵀ + b with W of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_parameters((out_features, in_features), in_features, bias, rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(self.quantized_input(x), self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class Conv2d(QuantizableLayer):
    """2-D convolution, NCHW, weight (out_channels, in_channels, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, rng=None):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self._init_parameters((out_channels, in_channels, kh, kw), in_channels * kh * kw, bias, rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(self.quantized_input(x), self.quantized_weight(), self.bias,
                        stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class Conv1d(QuantizableLayer):
    """1-D convolution, NCL, weight (out_channels, in_channels, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self._init_parameters((out_channels, in_channels, kernel_size), in_channels * kernel_size,
                              bias, rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(self.quantized_input(x), self.quantized_weight(), self.bias,
                        stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class _BatchNorm(Module):
    """Batch norm over channel axis 1; conventions in :mod:`tinyquant.nn.batchnorm`."""

    expected_ndim: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_ndim:
            raise ValueError(
                f"{type(self).__name__}: expected input with {self.expected_ndim} dimensions, "
                f"got shape {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: input has {x.shape[1]} channels, "
                f"expected {self.num_features}"
            )
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch norm for (N, C) or (N, C, L) inputs."""

    expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm for (N, C, H, W) inputs."""

    expected_ndim = (4,)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """(N, d1, d2, ...) → (N, d1·d2·…)."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(MaxPool2d):
    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class MaxPool1d(MaxPool2d):
    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding)


class GlobalAvgPool2d(Module):
    """(N, C, H, W) → (N, C), the mean over H and W."""

    def forward(self, x):
        return F.global_avg_pool2d(x)


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", …"""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i) -> Module:
        return list(self.children())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


def quantize_model(model: Module, weight_quantizer=None, activation_quantizer=None,
                   keep_first: bool = True, keep_last: bool = True,
                   edge_weight_quantizer=None, edge_activation_quantizer=None) -> Module:
    """Plug quantizers into every quantizable layer of ``model``, in definition order.

    ``weight_quantizer`` and ``activation_quantizer`` are factories ``layer -> Module or
    None`` called once per layer (so each layer gets its own learned scales). With
    ``keep_first`` / ``keep_last`` the first / last layer does not get them: it stays in
    full precision, as binary and ternary networks usually keep it, or gets the
    ``edge_*`` factories instead (seed 003 §5.1: first and last layers in 8 bits).
    Returns the model.
    """
    layers = quantizable_layers(model)
    for i, layer in enumerate(layers):
        edge = (keep_first and i == 0) or (keep_last and i == len(layers) - 1)
        wq, aq = (edge_weight_quantizer, edge_activation_quantizer) if edge else (weight_quantizer, activation_quantizer)
        if wq is not None:
            layer.weight_quantizer = wq(layer)
        if aq is not None:
            layer.activation_quantizer = aq(layer)
    return model


def quantizable_layers(model: Module) -> list[QuantizableLayer]:
    """Every Linear / Conv layer of ``model`` in definition order."""
    return [m for m in model.modules() if isinstance(m, QuantizableLayer)]


def zero_pad_channels(x: Tensor, extra: int) -> Tensor:
    """Append ``extra`` all-zero channels (axis 1): ResNet's parameter-free shortcut."""
    if extra == 0:
        return x
    zeros = Tensor(np.zeros((x.shape[0], extra) + x.shape[2:], dtype=x.dtype))
    return ops.concatenate([x, zeros], axis=1)
