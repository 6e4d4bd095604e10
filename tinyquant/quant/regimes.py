"""Training regimes: how the weights are updated (``Trainer(..., regime=...)``).

A regime's ``step(trainer, x, y)`` runs forward, backward and the update(s) for one batch
and returns ``(loss, logits)``.

Seed 002, §3 (w_r real-valued, w_b quantized, α_t the learning rate):

* BinaryConnect (BC), eq. 7: w_r ← w_r − α_t·∇f(Q(w_r)). This is ordinary training with
  the quantizer in the forward pass and the identity STE: :class:`BinaryConnectRegime`
  (identical to the standard step; the name documents the intent). ``--regime bc`` gives
  a quantizer whose default STE is another one (``binary_connect``'s ``clipped``, which
  freezes a latent weight past |w| > 1) the identity STE, unless ``--ste`` is given
  (:func:`tinyquant.quant.config.weight_quantizer_factory`); UniQ keeps its own STE.
* Deterministic rounding (R), eq. 4: w_b ← Qd(w_b − α_t·∇f(w_b)). Weights are *stored*
  quantized; no quantizer in the forward pass; after each update they are rounded onto ΔZ.
  Once α_t·|∇f| < Δ/2 every update is rounded away and training stalls.
* Stochastic rounding (SR), eq. 6: w_b ← Qs(w_b − α_t·∇f(w_b)), unbiased, with
  ``trainer.rng``. Both: :class:`RoundingRegime`; any optimizer (SGD, Adam).

Seed 001, Algorithm 1: :class:`AlternatingThresholdRegime` -- on each batch a step on the
thresholds δ only (vanilla SGD, no weight decay), re-ternarize, then a step on the weights.

UniQ (seed 003, §4.3, Table 6): 1-bit training starts with a small constant learning rate
for a few epochs, then follows the schedule: :func:`uniq_warmup_schedule` builds that
schedule, :class:`ConstantWarmup` applies the same idea as a callback on top of an
existing scheduler.
"""

from __future__ import annotations

import numpy as np

from ..ops import cross_entropy
from ..optim import constant_then, cosine
from ..tensor import Tensor
from ..train.callbacks import Callback
from ..train.trainer import StandardRegime
from .functional import sign
from .rounding import deterministic_round, stochastic_round


def _forward_backward(trainer, x, y):
    logits = trainer.model(Tensor(x))
    loss = cross_entropy(logits, y)
    trainer.check_loss(loss)
    return loss, logits


class BinaryConnectRegime(StandardRegime):
    """BinaryConnect, seed 002 eq. 7: a full-precision buffer w_r, the quantized Q(w_r) in
    the forward pass, the gradient applied to w_r (plug the quantizer into the layers)."""


def binary_round(w, delta: float, rng=None):
    """Seed 002's rounding onto the two levels {−Δ, +Δ} (its experiments: Δ = 1, §6).

    Deterministic (``rng`` None): Δ·sign(w), sign(0) = +1.
    Stochastic: +Δ with probability p = clip((w/Δ + 1)/2, 0, 1), else −Δ, so that
    E[Q(w)] = w on [−Δ, Δ] (eq. 5 on the binary grid).
    """
    if rng is None:
        return (delta * sign(w)).astype(w.dtype)
    p = np.clip((w / delta + 1) / 2, 0, 1)
    return np.where(rng.random(w.shape) < p, delta, -delta).astype(w.dtype)


class RoundingRegime:
    """Seed 002's R (``stochastic=False``, eq. 4) or SR (``stochastic=True``, eq. 6).

    ``params`` are the weights kept on the grid ΔZ (``delta`` Δ), or with ``binary=True`` on
    {−Δ, +Δ} (:func:`binary_round`, the binarized networks of seed 002's Table 1), rounded
    once before the first step and after every optimizer step; ``clip`` (optional) bounds
    the grid to [−clip, clip] (the finite domain of seed 002 §4).
    """

    def __init__(self, params, delta: float, stochastic: bool = False, clip: float | None = None,
                 binary: bool = False):
        self.params = list(params)
        if not self.params:
            raise ValueError("RoundingRegime: no parameters to keep quantized")
        if not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"RoundingRegime: delta must be a finite number > 0, got {delta!r}")
        if clip is not None and not clip > 0:
            raise ValueError(f"RoundingRegime: clip must be > 0 or None, got {clip!r}")
        self.delta, self.stochastic, self.clip = float(delta), bool(stochastic), clip
        self.binary = bool(binary)
        self._started = False

    def round_params(self, rng) -> None:
        for p in self.params:
            w = p.data if self.clip is None else np.clip(p.data, -self.clip, self.clip)
            if self.binary:
                p.data[...] = binary_round(w, self.delta, rng if self.stochastic else None)
            elif self.stochastic:
                p.data[...] = stochastic_round(w, self.delta, rng)      # eq. 6
            else:
                p.data[...] = deterministic_round(w, self.delta)        # eq. 4

    def on_train_begin(self, trainer):
        """Round the weights before training starts (the Trainer calls this before its
        callbacks, so a ChangedLevels diagnostic counts changes from the rounded start)."""
        if not self._started:
            self.round_params(trainer.rng)
            self._started = True

    def state_dict(self):
        """Whether the weights were rounded at the start: a resumed run must not round them
        again (that would draw from ``trainer.rng`` and move the weights)."""
        return {"started": np.asarray(self._started)}

    def load_state_dict(self, state):
        if set(state) != {"started"} or np.asarray(state["started"]).dtype != bool:
            raise ValueError(f"RoundingRegime.load_state_dict: expected one boolean 'started', "
                             f"got keys {sorted(state)}")
        self._started = bool(state["started"])

    def step(self, trainer, x, y):
        self.on_train_begin(trainer)   # no-op once started; covers use without Trainer.fit
        loss, logits = _forward_backward(trainer, x, y)
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        self.round_params(trainer.rng)
        return loss, logits


class AlternatingThresholdRegime:
    """Seed 001, Algorithm 1, on each batch:

    1. forward with the current ternarized weights (lines 6–11), backward, step the
       ``threshold_optimizer`` (thresholds δ only, vanilla SGD, no weight decay: line 14);
    2. forward again (the weights re-ternarized with the new δ: "important step!"),
       backward, step ``trainer.optimizer`` (weights only: line 20).

    ``trainer.optimizer`` must not hold the thresholds (config's param groups leave them out).
    Returns the loss and logits of the second forward.
    """

    def __init__(self, threshold_optimizer):
        self.threshold_optimizer = threshold_optimizer

    def step(self, trainer, x, y):
        loss, _ = _forward_backward(trainer, x, y)                 # Step-2 and Step-3
        self.threshold_optimizer.zero_grad()
        trainer.optimizer.zero_grad()
        loss.backward()
        self.threshold_optimizer.step()
        loss, logits = _forward_backward(trainer, x, y)            # repeat Step-2, Step-4
        self.threshold_optimizer.zero_grad()
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        return loss, logits

    def state_dict(self):
        return self.threshold_optimizer.state_dict()

    def load_state_dict(self, state):
        self.threshold_optimizer.load_state_dict(state)


def uniq_warmup_schedule(warmup_steps: int, total_steps: int, factor: float = 0.1):
    """UniQ's warm-up (seed 003 Table 6): lr·factor, constant, for ``warmup_steps``, then a
    cosine over the remaining steps (SGD 0.001 → 0.01 is factor 0.1 of the base lr)."""
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"uniq_warmup_schedule: need 0 <= warmup_steps < total_steps, got "
                         f"{warmup_steps} and {total_steps}")
    return constant_then(factor, warmup_steps, then=cosine(total_steps - warmup_steps))


class ConstantWarmup(Callback):
    """Multiply every group's learning rate by ``factor`` during the first ``epochs`` epochs,
    on top of whatever scheduler the trainer runs (UniQ's constant warm-up, seed 003 §4.3)."""

    def __init__(self, epochs: float = 5, factor: float = 0.1):
        if epochs < 0 or not 0 < factor <= 1:
            raise ValueError(f"ConstantWarmup: need epochs >= 0 and 0 < factor <= 1, got "
                             f"epochs={epochs!r}, factor={factor!r}")
        self.epochs, self.factor = epochs, factor

    def _apply(self, trainer):
        if trainer.global_step < self.epochs * trainer.steps_per_epoch:
            for group in trainer.optimizer.param_groups:
                group["lr"] = group.get("initial_lr", group["lr"]) * self.factor if trainer.scheduler is None \
                    else group["lr"] * self.factor

    def on_train_begin(self, trainer):
        if trainer.scheduler is None:
            for group in trainer.optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self._apply(trainer)

    def on_step_end(self, trainer):
        if trainer.scheduler is None and trainer.global_step == int(self.epochs * trainer.steps_per_epoch):
            for group in trainer.optimizer.param_groups:
                group["lr"] = group["initial_lr"]
        self._apply(trainer)
