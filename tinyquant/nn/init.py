"""Parameter initializers with PyTorch's names and formulas (``torch.nn.init``); the papers
are REFERENCES.md's "Glorot init" and "He init".

Each fills a Tensor's (or Parameter's) array *in place*, keeps its dtype, returns it, and
draws from ``rng`` -- a numpy Generator or an int seed (None: tinyquant's default
Generator, see :func:`tinyquant.manual_seed`). For a weight of shape (out, in, *k):
fan_in = in·∏k and fan_out = out·∏k (PyTorch's ``_calculate_fan_in_and_fan_out``).

    uniform_(a, b)           w ~ U(a, b)
    normal_(mean, std)       w ~ N(mean, std²)
    constant_ / zeros_ / ones_
    xavier_uniform_(gain)    w ~ U(−b, b),  b = gain·√(6 / (fan_in + fan_out))
                             (Glorot & Bengio, 2010, eq. 16, with PyTorch's gain)
    xavier_normal_(gain)     w ~ N(0, σ²),  σ = gain·√(2 / (fan_in + fan_out))
    kaiming_uniform_(a, mode, nonlinearity)
                             w ~ U(−b, b),  b = √3 · gain / √fan
    kaiming_normal_(a, mode, nonlinearity)
                             w ~ N(0, σ²),  σ = gain / √fan
                             (He et al., 2015, eq. 10: Var w = 2/fan for ReLU, gain √2;
                              fan = fan_in or fan_out by ``mode``)

``calculate_gain``: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for relu,
√(2 / (1 + a²)) for leaky_relu with negative slope a (default 0.01), 3/4 for selu.
PyTorch's kaiming defaults are ``a=0, mode="fan_in", nonlinearity="leaky_relu"``, i.e.
gain √2. (tinyquant's layers keep their own default, U(±1/√fan_in), which is
``kaiming_uniform_(w, a=√5)``, as in PyTorch's ``nn.Linear``.)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..rng import as_generator
from ..tensor import Tensor

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for ``nonlinearity`` (PyTorch's table, module docstring)."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise ValueError(f"calculate_gain: negative slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(_LINEAR + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def _array(tensor, fn: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a tinyquant Tensor or Parameter, got {type(tensor).__name__}")
    if not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"{fn}: expected a floating-point tensor, got dtype {tensor.dtype}")
    return tensor.data


def fans(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel); needs at least 2 axes."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fans: fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {shape}")
    if math.prod(shape) == 0:
        raise ValueError(f"fans: cannot initialize a tensor with no elements (shape {shape})")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values: np.ndarray):
    tensor.data[...] = values          # cast to the tensor's dtype, in place
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, rng=None):
    data = _array(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: expected a <= b, got a={a!r}, b={b!r}")
    return _fill(tensor, as_generator(rng).uniform(a, b, size=data.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, rng=None):
    data = _array(tensor, "normal_")
    if not std >= 0:
        raise ValueError(f"normal_: std must be >= 0, got {std!r}")
    return _fill(tensor, as_generator(rng).normal(mean, std, size=data.shape))


def constant_(tensor, val: float):
    _array(tensor, "constant_")[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0, rng=None):
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))       # √3 · gain·√(2/(fan_in+fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor, gain: float = 1.0, rng=None):
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(tensor, a, mode, nonlinearity, fn) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng=None):
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_"), rng)


__all__ = ["calculate_gain", "constant_", "fans", "kaiming_normal_", "kaiming_uniform_",
           "normal_", "ones_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_"]
