"""Binary activations: BinaryNet's sign and XNOR-Net's ``BinActive`` (optionally scaled by K).

Forward, on a layer's input x (N, C, H, W) or (N, F):

    x_b = sign(x) ∈ {−1, +1},  sign(0) = +1                (BinaryNet, Courbariaux et al. 2016;
                                                              seed 004, eq. 1 and Algorithm 1)
    x_b = K_n·sign(x),  K_n = mean |x_n| over (C, H, W)    (``scaled=True``: XNOR-Net,
                                                              Rastegari et al. 2016, §3.2, one K per sample)

Backward, the STE (default ``clipped``: F'(x) = 1[|x| ≤ 1], BinaryNet's hardtanh window,
seed 004 eq. 2; ``ab_tanh`` / ``ab_arctan`` give seed 004's Algorithm 1):

    ∂L/∂x_j = F'(x_j)·g_j                                            (unscaled)
    ∂L/∂x_j = K·F'(x_j)·g_j + (sign(x_j)/n)·Σ_i g_i·sign(x_i)        (scaled; n = C·H·W,
                                                                      the exact path through K)

A sign of a ReLU output is always +1 (sign(0) = +1), so a network with sign activations
must not put a ReLU in front of them: :func:`tinyquant.quant.config.configure_quantization`
replaces the model's ReLUs with the identity when it plugs this quantizer in, and the
activation function becomes sign itself (BinaryNet: conv → BN → sign → conv …).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from .base import Quantizer, check_bits, check_tensor
from .binary import filter_mean_abs, sign
from .registry import MAX_BITS, register_quantizer


class SignActivationFunction(Function):
    """x_b = sign(x), or K·sign(x) with K = mean|x| per sample; backward in the module docstring."""

    @staticmethod
    def forward(ctx, x, ste=None, scaled=False):
        s = sign(x)
        k = filter_mean_abs(x) if scaled else None                  # K_n = mean |x_n|
        ctx.save_for_backward(x, s, k)
        ctx.ste = ste
        return s if k is None else (k * s).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, s, k = ctx.saved
        dx = grad * ctx.ste.dF(x)                                   # STE: dsign/dx ≈ F'(x)
        if k is None:
            return dx
        axes = tuple(range(1, x.ndim)) if x.ndim > 1 else None
        return k * dx + s * np.mean(grad * s, axis=axes, keepdims=x.ndim > 1)   # through K


@register_quantizer(kind="activation", bits=(1, 1), symmetric=True, idempotent=True,
                    levels="{−1, +1}, sign(0) = +1 (scaled: {−K_n, +K_n}, K_n = mean|x_n| per sample)",
                    reference=("BinaryNet (Courbariaux et al. 2016); XNOR-Net §3.2", "seed 004, eq. 1"),
                    formula="x_b = sign(x) (scaled: K_n·sign(x))")
class SignActivation(Quantizer):
    """Sign activations (BinaryNet / XNOR-Net ``BinActive``): 1 bit, sign(0) = +1.

    ``ste`` (default ``clipped``) replaces ∂sign/∂x; ``scaled=True`` multiplies by XNOR-Net's
    per-sample K = mean|x|. ``bits`` exists so that ``--act-bits 1`` selects it; it must be 1.
    """

    name = "sign_activation"
    num_levels = 2

    def __init__(self, bits: int = 1, ste="clipped", scaled: bool = False):
        super().__init__(ste)
        if check_bits(self.name, bits, 1, MAX_BITS) != 1:
            raise ValueError(f"{self.name}: bits must be 1 (a sign has two levels), got {bits}")
        self.scaled = bool(scaled)

    def forward(self, x):
        check_tensor(self.name, x)
        self.observe(x.data)
        return SignActivationFunction.apply(x, ste=self.ste, scaled=self.scaled)

    def scale(self, x):
        x = np.asarray(x)
        return filter_mean_abs(x) if self.scaled else np.ones((), dtype=x.dtype)

    def extra_repr(self):
        return f"ste={self.ste!r}, scaled={self.scaled}"


def replace_relus(model) -> int:
    """Replace every ``ReLU`` module of ``model`` by ``Identity`` (see the module docstring);
    returns how many were replaced."""
    from ..nn.layers import Identity, ReLU

    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, ReLU):   # in place: a Sequential keeps its order
                module._modules[name] = Identity()
                object.__setattr__(module, name, module._modules[name])
                count += 1
    return count


__all__ = ["SignActivation", "SignActivationFunction", "replace_relus"]
