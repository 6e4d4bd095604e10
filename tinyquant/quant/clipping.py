"""Weight clipping of latent weights after each optimizer step (seed 000, §7).

Latent weights drift far from the quantization thresholds when nothing holds them;
seed 000 clips them after every update to [−f·α, f·α], α the quantizer's scale and
f ∈ {0.75, 1, 2, 4, ∞} (f = 4 was best; f = ∞ is no clipping). α comes from
``quantizer.scale(w)``: per output filter for XNOR, W_p above and W_n below zero for TTQ,
the largest level for UniQ, 1 for sign.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..nn.layers import quantizable_layers
from ..train.callbacks import Callback

SEED_000_FACTORS = (0.75, 1.0, 2.0, 4.0, math.inf)


def check_clip_factor(factor) -> float:
    if isinstance(factor, (bool, np.bool_)) or not isinstance(factor, numbers.Real):
        raise TypeError(f"weight clipping: factor must be a real number, got {factor!r}")
    factor = float(factor)
    if math.isnan(factor) or factor <= 0:
        raise ValueError(f"weight clipping: factor must be > 0 (seed 000 uses "
                         f"{', '.join(map(str, SEED_000_FACTORS))}; inf = no clipping), got {factor!r}")
    return factor


def clip_latent_weights(model, factor: float) -> int:
    """Clip every quantized layer's latent weight to [−f·α, f·α] in place; return how many
    entries were clipped."""
    factor = check_clip_factor(factor)
    if math.isinf(factor):
        return 0
    clipped = 0
    for layer in quantizable_layers(model):
        q = layer.weight_quantizer
        if q is None:
            continue
        w = layer.weight.data
        bound = factor * np.asarray(q.scale(w), dtype=w.dtype)
        clipped += int(np.count_nonzero(np.abs(w) > bound))
        np.clip(w, -bound, bound, out=w)
    return clipped


class WeightClipping(Callback):
    """After each optimizer step, clip latent weights to [−f·α, f·α] (seed 000)."""

    def __init__(self, factor: float = 4.0):
        self.factor = check_clip_factor(factor)
        self.clipped_last_step = 0

    def on_step_end(self, trainer):
        self.clipped_last_step = clip_latent_weights(trainer.model, self.factor)
