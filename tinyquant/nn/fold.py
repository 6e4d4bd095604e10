"""Batch norm folded into the layer before it, for inference.

In evaluation a batch norm is a per-channel affine map with constants (PyTorch's convention,
ε inside the root):

    BN(z)[c] = scale[c]·z[c] + shift[c],   scale = γ/√(running_var + ε),   shift = β − running_mean·scale

so when it directly follows a convolution or linear layer z = W ⋆ x + b, the pair is one layer

    W'[o, ...] = scale[o]·W[o, ...],        b'[o] = scale[o]·b[o] + shift[o]

— one pass over the output fewer, and no batch-norm arithmetic at all. :func:`fold_batchnorm`
returns such a copy of a model for inference (the original is untouched): every batch norm
that directly follows an unquantized ``Conv2d``/``Linear`` in a ``Sequential``, and the
conv → BN pairs a model declares with ``conv_bn_pairs()`` (the ResNets with ``bn="post"``),
is folded into that layer and replaced by ``Identity``. A batch norm after a quantized layer
stays: folding its scale into a latent weight would change what the quantizer sees.
"""

from __future__ import annotations

import copy

import numpy as np

from .layers import BatchNorm1d, BatchNorm2d, Conv2d, Identity, Linear, Sequential
from .module import Parameter


def bn_affine(bn) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) of an eval-mode batch norm, in float64: scale = γ/√(var + ε), shift = β − μ·scale."""
    inv_std = 1.0 / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
    gamma = np.ones(bn.num_features) if bn.weight is None else bn.weight.data.astype(np.float64)
    beta = np.zeros(bn.num_features) if bn.bias is None else bn.bias.data.astype(np.float64)
    scale = gamma * inv_std
    return scale, beta - bn.running_mean.astype(np.float64) * scale


def _foldable(layer, bn) -> bool:
    return (isinstance(layer, (Conv2d, Linear)) and isinstance(bn, (BatchNorm1d, BatchNorm2d))
            and layer.weight_quantizer is None and layer.activation_quantizer is None
            and layer.weight.shape[0] == bn.num_features)


def fold_into(layer, bn) -> None:
    """W' = scale·W, b' = scale·b + shift (module docstring), in place on ``layer``."""
    scale, shift = bn_affine(bn)
    dtype = layer.weight.dtype
    w = layer.weight.data.astype(np.float64) * scale.reshape(-1, *([1] * (layer.weight.ndim - 1)))
    b = shift if layer.bias is None else scale * layer.bias.data.astype(np.float64) + shift
    layer.weight = Parameter(w.astype(dtype))
    layer.bias = Parameter(b.astype(dtype))


def _replace_child(module, name: str, new) -> None:
    """Put ``new`` in place of child ``name``, keeping the children's order (Sequential's)."""
    module._modules[name] = new
    object.__setattr__(module, name, new)


def fold_batchnorm(model):
    """A copy of ``model`` in eval mode with its foldable batch norms folded (module docstring)."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        if isinstance(module, Sequential):
            children = list(module)
            for i, (layer, bn) in enumerate(zip(children, children[1:])):
                if _foldable(layer, bn):
                    fold_into(layer, bn)
                    _replace_child(module, list(module._modules)[i + 1], Identity())
        for conv_name, bn_name in getattr(module, "conv_bn_pairs", lambda: ())():
            layer, bn = getattr(module, conv_name), getattr(module, bn_name)
            if _foldable(layer, bn):
                fold_into(layer, bn)
                _replace_child(module, bn_name, Identity())
    model.eval()
    return model
