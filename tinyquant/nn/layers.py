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
from . import batchnorm as bn
from . import functional as F
from .convolution import as_pair, as_single
from .module import Module, Parameter


def check_positive_int(where: str, name: str, value) -> int:
    """A layer size: a positive int (not a bool), else TypeError/ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


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
        self.in_features = check_positive_int("Linear", "in_features", in_features)
        self.out_features = check_positive_int("Linear", "out_features", out_features)
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
        self.in_channels = check_positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = check_positive_int("Conv2d", "out_channels", out_channels)
        kh, kw = as_pair(kernel_size, "kernel_size", "Conv2d", 1)
        as_pair(stride, "stride", "Conv2d", 1)
        as_pair(padding, "padding", "Conv2d", 0)
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
        self.in_channels = check_positive_int("Conv1d", "in_channels", in_channels)
        self.out_channels = check_positive_int("Conv1d", "out_channels", out_channels)
        kernel_size = as_single(kernel_size, "kernel_size", "Conv1d", 1)
        as_single(stride, "stride", "Conv1d", 1)
        as_single(padding, "padding", "Conv1d", 0)
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
    """Batch norm over channel axis 1; conventions in :mod:`tinyquant.nn.batchnorm`.

    The module owns its state: in training it computes the batch moments, moves its
    running estimates (:func:`~tinyquant.nn.batchnorm.update_running_stats`) and
    normalizes with the batch moments through the pure ``BatchNormFunction``; in
    evaluation it normalizes with the running estimates."""

    expected_ndim: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True):
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, "num_features", num_features)
        self.eps, self.momentum = bn.check_hyperparameters(name, eps, momentum)
        self.num_features = int(num_features)
        self.weight = Parameter(np.ones(num_features, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim not in self.expected_ndim:
            raise ValueError(
                f"{name}: expected input with {self.expected_ndim} dimensions, "
                f"got shape {getattr(x, 'shape', type(x).__name__)}"
            )
        bn.check_input(name, x, self.num_features, self.training)
        c = self.num_features
        weight = self.weight if self.weight is not None else Tensor(np.ones(c, dtype=x.dtype))
        bias = self.bias if self.bias is not None else Tensor(np.zeros(c, dtype=x.dtype))
        centered = None
        if self.training:
            mean, var, centered = bn.batch_moments(x.data)
            bn.update_running_stats(self.running_mean, self.running_var, mean, var,
                                    x.size // self.num_features, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return bn.BatchNormFunction.apply(x, weight, bias, mean=mean, var=var, eps=self.eps,
                                          batch_statistics=self.training, centered=centered)

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


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss()(logits, labels)``: the mean cross-entropy of integer labels
    (:func:`tinyquant.cross_entropy`; no class weights, no label smoothing)."""

    def forward(self, logits, labels):
        return F.cross_entropy(logits, labels)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """(N, d1, d2, ...) → (N, d1·d2·…)."""

    def forward(self, x):
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))   # not -1: an empty batch has no -1


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


class ModuleList(Module):
    """A list of sub-modules, registered under "0", "1", … (PyTorch's ``nn.ModuleList``).

    Holds modules so that their parameters belong to the parent; it has no ``forward``:
    the parent decides how to call them (``for block in self.blocks: x = block(x)``).
    """

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: can only hold Modules, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        items = list(self._modules.values())
        return ModuleList(items[i]) if isinstance(i, slice) else items[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))


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
