"""Layers, models and the quantizer hook (see :mod:`tinyquant.nn.layers`)."""

from . import functional, models
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    Linear,
    MaxPool1d,
    MaxPool2d,
    QuantizableLayer,
    ReLU,
    Sequential,
    Tanh,
    quantizable_layers,
    quantize_model,
)
from .module import Module, Parameter

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "Flatten",
    "GlobalAvgPool2d",
    "Identity",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "Parameter",
    "QuantizableLayer",
    "ReLU",
    "Sequential",
    "Tanh",
    "functional",
    "models",
    "quantizable_layers",
    "quantize_model",
]
