"""Lowering a tinyquant model to a list of inference nodes, batch norm folded where it can be.

A node is a dict ``{"op", "inputs", "output", ...}`` reading and writing named values
(``"x"`` is the input, the last node's output the logits). Ops:

    conv2d / linear   a quantizable layer: its WeightForm and ActivationForm
                      (:mod:`tinyquant.deploy.precision`), stride, padding, and the output
                      affine y = mult[o]·acc + add[o] (defined below)
    conv1d            the same on (N, C, L) inputs; kernel, stride and padding are
                      one-element lists, and the runtime computes it as the conv2d with
                      kernel (1, k) on (N, C, 1, L) that it is
    affine            a batch norm that could not be folded: y = scale[c]·x + shift[c]
    relu, flatten, maxpool2d, avgpool2d, maxpool1d, global_avgpool2d, add,
    shortcut (ResNet option A)

Folding (eval-mode batch norm, PyTorch's convention ε inside the root):
scale = γ/√(var + ε), shift = β − μ·scale. When a layer's output goes only to a batch
norm, the norm is folded into the layer's per-channel output affine: a layer computes an
accumulator acc in the units of its codes (integers for W1A1 and k-bit, the sum of the
inputs selected by the weight bits for binary/ternary weights on float inputs) and then

    y[o] = mult[o]·acc[o] + add[o],  mult = (weight scale α_o)·(input step)·scale[o],
                                     add  = bias[o]·scale[o] + shift[o]

(a ternary layer has two accumulators and two mults, for its +p and −n planes). The
binary weights stay ±1: the batch norm costs nothing more at inference. ``bn_scale`` (the
folded scale alone) is kept for exporters that apply the weight scale separately (ONNX).
"""

from __future__ import annotations

import numpy as np

from ..nn.layers import (
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
)
from ..nn.fold import bn_affine
from ..nn.models import BasicBlock, ResNet
from .precision import activation_form, weight_form


class Lowering:
    def __init__(self):
        self.nodes, self.count = [], 0

    def value(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def emit(self, op, inputs, **attrs) -> str:
        out = self.value()
        self.nodes.append({"op": op, "inputs": list(inputs), "output": out, **attrs})
        return out

    # ---------------------------------------------------------------- layers
    def layer(self, layer: QuantizableLayer, x: str, bn=None) -> str:
        if not isinstance(layer, (Conv2d, Conv1d, Linear)):
            raise NotImplementedError(f"deploy: {type(layer).__name__} layers are not supported "
                                      f"(Conv2d, Conv1d and Linear are)")
        w, a = weight_form(layer), activation_form(layer)
        out_ch = layer.weight.shape[0]
        bias = np.zeros(out_ch) if layer.bias is None else layer.bias.data.astype(np.float64)
        scale, shift = bn_affine(bn) if bn is not None else (np.ones(out_ch), np.zeros(out_ch))
        step = a.step if a.kind == "kbit" else 1.0
        if w.kind == "float":
            mult = np.full(out_ch, step)
        elif w.kind == "kbit":
            mult = np.full(out_ch, float(w.scale) * step)
        else:
            mult = w.scale.astype(np.float64) * step
        attrs = {"weight": w, "act": a, "mult": (mult * scale).astype(np.float32),
                 "add": (bias * scale + shift).astype(np.float32), "bn_scale": scale.astype(np.float32)}
        if w.kind == "ternary":
            attrs["mult_neg"] = (w.scale_neg.astype(np.float64) * step * scale).astype(np.float32)
        if isinstance(layer, Conv2d):
            attrs.update(kernel=list(layer.kernel_size), stride=_pair(layer.stride),
                         padding=_pair(layer.padding))
            return self.emit("conv2d", [x], **attrs)
        if isinstance(layer, Conv1d):
            attrs.update(kernel=[int(layer.kernel_size)], stride=[int(layer.stride)],
                         padding=[int(layer.padding)])
            return self.emit("conv1d", [x], **attrs)
        return self.emit("linear", [x], **attrs)

    def affine(self, bn, x: str) -> str:
        scale, shift = bn_affine(bn)
        return self.emit("affine", [x], scale=scale.astype(np.float32), shift=shift.astype(np.float32))

    def sequence(self, modules, x: str) -> str:
        modules = [m for m in modules if not isinstance(m, Identity)]
        i = 0
        while i < len(modules):
            m = modules[i]
            nxt = modules[i + 1] if i + 1 < len(modules) else None
            if isinstance(m, QuantizableLayer):
                folds = isinstance(nxt, (BatchNorm1d, BatchNorm2d))
                x = self.layer(m, x, nxt if folds else None)
                i += 2 if folds else 1
                continue
            x = self.module(m, x)
            i += 1
        return x

    def module(self, m, x: str) -> str:
        if isinstance(m, Sequential):
            return self.sequence(list(m.children()), x)
        if isinstance(m, (BatchNorm1d, BatchNorm2d)):
            return self.affine(m, x)
        if isinstance(m, ReLU):
            return self.emit("relu", [x])
        if isinstance(m, Identity):
            return x
        if isinstance(m, Flatten):
            return self.emit("flatten", [x])
        if isinstance(m, (MaxPool2d, AvgPool2d)) and type(m) in (MaxPool2d, AvgPool2d):
            op = "maxpool2d" if type(m) is MaxPool2d else "avgpool2d"
            stride = m.kernel_size if m.stride is None else m.stride
            return self.emit(op, [x], kernel=_pair(m.kernel_size), stride=_pair(stride),
                             padding=_pair(m.padding))
        if type(m) is MaxPool1d:
            stride = m.kernel_size if m.stride is None else m.stride
            return self.emit("maxpool1d", [x], kernel=[int(m.kernel_size)], stride=[int(stride)],
                             padding=[int(m.padding)])
        if isinstance(m, GlobalAvgPool2d):
            return self.emit("global_avgpool2d", [x])
        if isinstance(m, QuantizableLayer):
            return self.layer(m, x)
        if isinstance(m, BasicBlock):
            return self.block(m, x)
        if isinstance(m, ResNet):
            return self.resnet(m, x)
        raise NotImplementedError(f"deploy: cannot lower a {type(m).__name__} module")

    def block(self, b: BasicBlock, x: str) -> str:
        if b.bn == "pre":
            t = self.sequence([b.bn1, b.act, b.conv1, b.bn2, b.act, b.conv2], x)
        else:
            t = self.sequence([b.conv1, b.bn1, b.act, b.conv2, b.bn2], x)
        s = self.emit("shortcut", [x], stride=int(b.stride), extra=int(b.extra))
        y = self.emit("add", [t, s])
        return y if b.bn == "pre" else self.module(b.act, y)

    def resnet(self, r: ResNet, x: str) -> str:
        first = [r.conv1, r.bn1, r.act] if r.bn == "post" else [r.conv1]
        x = self.sequence(first, x)
        x = self.sequence(list(r.blocks.children()), x)
        if r.bn == "pre":
            x = self.sequence([r.final_bn, r.act], x)
        return self.sequence([r.pool, r.fc], x)


def _pair(v) -> list:
    return [int(v), int(v)] if isinstance(v, (int, np.integer)) else [int(u) for u in v]


def lower(model) -> list[dict]:
    """The inference nodes of ``model`` (module docstring), from its eval-mode state."""
    low = Lowering()
    low.module(model, "x")
    return low.nodes


__all__ = ["bn_affine", "lower"]
