"""Diagnostic callbacks: what the papers plot while training quantized networks.

* :class:`ChangedLevels` -- per layer, the percentage of weights whose quantization level
  differs from its level at initialization, and from its level one interval earlier
  (seed 002, Figs. 4 and 5(b, c); for binary weights the level is the sign).
* :class:`LatentDistance` -- per layer, mean |w_b − w_r| = (1/d)·‖Q(w_r) − w_r‖₁ (seed 002, Fig. 7).
* :class:`QuantizerTrace` -- per quantizer with a step size: the step Δ, the standard
  deviation of its input and the SQNR = 10·log10(Var(x) / E[(x − Q(x))²]) dB
  (seed 003, Fig. 4; Var as in its Table 1), recorded every ``every`` steps.
* :class:`GradientMagnitude` -- per layer, the mean |∂L/∂w| of the latent weights after
  each backward pass, averaged per epoch (seed 004, Fig. 4).

Each keeps its records in ``history`` (plain lists, ready to plot) and saves them in
checkpoints (``state_dict``), with whatever else it needs to continue exactly after a resume
(:class:`ChangedLevels` its levels at initialization, so "since init" still counts from the
original start; :class:`GradientMagnitude` its running sums).
"""

from __future__ import annotations

import json

import numpy as np

from ..autograd import no_grad
from ..nn.layers import quantizable_layers
from ..tensor import Tensor
from ..train.callbacks import Callback
from .functional import empirical_sqnr_db, sign


def quantized_layers(model) -> list[tuple[str, object]]:
    """(name, layer) for every Linear/Conv layer of ``model`` that has a weight quantizer."""
    names = {id(m): n for n, m in model.named_modules()}
    return [(names[id(layer)], layer) for layer in quantizable_layers(model)
            if layer.weight_quantizer is not None]


def level_codes(layer) -> np.ndarray:
    """The integer level of each latent weight (its quantizer's ``codes``)."""
    return layer.weight_quantizer.codes(layer.weight.data)


sqnr_db = empirical_sqnr_db   # 10·log10(Var(x)/E[(x − q)²]) dB, seed 003's Table 1 definition

class _Recorder(Callback):
    history: dict

    def state_dict(self):
        return {"history": np.asarray(json.dumps(self.history))}

    def load_state_dict(self, state):
        name = f"{type(self).__name__}.load_state_dict"
        if "history" not in state:
            raise ValueError(f"{name}: the state has no 'history' (keys {sorted(state)})")
        try:
            history = json.loads(str(state["history"]))
        except ValueError as err:
            raise ValueError(f"{name}: 'history' is not JSON ({err})") from None
        if not isinstance(history, dict) or set(history) != set(self.history):
            raise ValueError(f"{name}: 'history' must be a dict with keys {sorted(self.history)}")
        self.history = history


class ChangedLevels(_Recorder):
    """% of weights whose level changed since initialization and per ``interval`` epochs.

    For layers without a weight quantizer (regimes R and SR store the weights quantized),
    pass ``layers``; the level is then round(w/Δ) with ``delta``, or the sign (w ≥ 0 → +1)
    with ``binary=True`` (seed 002's Figs. 4–5: "signs different from the initialization").
    """

    def __init__(self, interval: int = 1, layers=None, delta: float | None = None, binary: bool = False):
        self.interval, self.layers, self.delta, self.binary = int(interval), layers, delta, bool(binary)
        self.history = {"epoch": [], "since_init": {}, "per_interval": {}}
        self._init, self._last = {}, {}

    def _codes(self, trainer):
        if self.layers is not None and self.binary:
            return {name: sign(layer.weight.data) for name, layer in self.layers}
        if self.layers is not None:
            return {name: np.round(layer.weight.data / self.delta).astype(np.int64)
                    for name, layer in self.layers}
        return {name: level_codes(layer) for name, layer in quantized_layers(trainer.model)}

    def on_train_begin(self, trainer):
        if not self._init:   # kept across a resume (load_state_dict) or a second fit()
            self._init = self._codes(trainer)
            self._last = {k: v.copy() for k, v in self._init.items()}

    def state_dict(self):
        state = super().state_dict()
        state.update({f"init/{k}": v for k, v in self._init.items()})
        state.update({f"last/{k}": v for k, v in self._last.items()})
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        init = {k[5:]: np.asarray(v) for k, v in state.items() if k.startswith("init/")}
        last = {k[5:]: np.asarray(v) for k, v in state.items() if k.startswith("last/")}
        if set(init) != set(last) or any(init[k].shape != last[k].shape for k in init):
            raise ValueError("ChangedLevels.load_state_dict: 'init/' and 'last/' levels must "
                             "name the same layers with the same shapes")
        self._init, self._last = init, last

    def on_epoch_end(self, trainer, epoch, logs):
        codes = self._codes(trainer)
        self.history["epoch"].append(epoch + 1)
        for name, c in codes.items():
            self.history["since_init"].setdefault(name, []).append(100 * float(np.mean(c != self._init[name])))
        if (epoch + 1) % self.interval == 0:
            for name, c in codes.items():
                self.history["per_interval"].setdefault(name, []).append(
                    100 * float(np.mean(c != self._last[name])))
            self._last = codes


class LatentDistance(_Recorder):
    """Mean |Q(w_r) − w_r| per quantized layer at the end of each epoch (seed 002, Fig. 7)."""

    def __init__(self):
        self.history = {"epoch": [], "distance": {}}

    def on_epoch_end(self, trainer, epoch, logs):
        self.history["epoch"].append(epoch + 1)
        for name, layer in quantized_layers(trainer.model):
            w = layer.weight.data
            d = float(np.mean(np.abs(layer.weight_quantizer.quantize(w) - w)))
            self.history["distance"].setdefault(name, []).append(d)


class QuantizerTrace(_Recorder):
    """Step size, input std and SQNR of every quantizer with a step (seed 003, Fig. 4).

    Weight quantizers are measured on their layer's weight; activation quantizers on the
    input of the last forward pass (the quantizers keep it while ``record_input`` is set).
    """

    def __init__(self, every: int = 1):
        self.every = int(every)
        self.history = {"step": [], "delta": {}, "std": {}, "sqnr": {}}

    @staticmethod
    def _step(q):
        for attr in ("step", "s"):
            p = getattr(q, attr, None)
            if p is not None and hasattr(p, "data"):
                return float(p.data)
        return None

    def on_train_begin(self, trainer):
        for _, q in self._quantizers(trainer.model):
            q.record_input = True

    def _quantizers(self, model):
        out = []
        for name, layer in ((n, m) for n, m in model.named_modules()):
            for kind in ("weight_quantizer", "activation_quantizer"):
                q = getattr(layer, kind, None)
                if q is not None and self._step(q) is not None:
                    out.append((f"{name}.{kind}", q))
        return out

    def on_batch_end(self, trainer, logs):
        if trainer.global_step % self.every:
            return
        self.history["step"].append(trainer.global_step)
        modules = dict(trainer.model.named_modules())
        for key, q in self._quantizers(trainer.model):
            layer = modules[key.rsplit(".", 1)[0]]
            x = layer.weight.data if key.endswith("weight_quantizer") else getattr(q, "last_input", None)
            if x is None:
                continue
            with no_grad():
                was = q.training
                q.eval()
                qx = q(Tensor(x)).data
                q.train(was)
            self.history["delta"].setdefault(key, []).append(self._step(q))
            self.history["std"].setdefault(key, []).append(float(np.std(x)))
            self.history["sqnr"].setdefault(key, []).append(sqnr_db(x, qx))


class GradientMagnitude(_Recorder):
    """Mean |∂L/∂w| of each quantized layer's latent weight, averaged over each epoch."""

    def __init__(self):
        self.history = {"epoch": [], "mean_abs_grad": {}}
        self._sums, self._count = {}, 0

    def state_dict(self):
        state = super().state_dict()
        state["running"] = np.asarray(json.dumps({"sums": self._sums, "count": self._count}))
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        try:
            running = json.loads(str(state["running"]))
            self._sums, self._count = dict(running["sums"]), int(running["count"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"GradientMagnitude.load_state_dict: bad 'running' ({err})") from None

    def on_step_end(self, trainer):
        for name, layer in quantized_layers(trainer.model):
            g = layer.weight.grad
            if g is not None:
                self._sums[name] = self._sums.get(name, 0.0) + float(np.mean(np.abs(g)))
        self._count += 1

    def on_epoch_end(self, trainer, epoch, logs):
        self.history["epoch"].append(epoch + 1)
        for name, total in self._sums.items():
            self.history["mean_abs_grad"].setdefault(name, []).append(total / max(self._count, 1))
        self._sums, self._count = {}, 0
