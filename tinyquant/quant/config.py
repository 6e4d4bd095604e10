"""From a :class:`tinyquant.config.QuantConfig` to a quantized model and what trains it.

``configure_quantization(model, quant, seed=0, out=None, base_lr=0.05) -> QuantSetup``:

* ``model``        -- the same model, quantizers plugged into its layers (``quantize_model``);
* ``callbacks``    -- ``tinyquant.train.Callback`` instances for the Trainer (STE schedules,
  weight clipping, warm-up, diagnostics written to ``out/diagnostics.json``); possibly empty;
* ``regime``       -- the update rule for ``Trainer(regime=...)``, or ``None`` for the
  Trainer's default (standard / bc);
* ``param_groups`` -- ``None`` (use ``model.parameters()``), or param-group dicts for
  SGD/Adam: ``[{"params": weights_and_others}, {"params": quantizer_parameters,
  "weight_decay": 0.0}]`` -- no weight decay on learned scales, steps and thresholds
  (seed 003 §5.1, seed 001 §III-B); when the quantizer lr factor is not 1 that group also
  carries ``"lr"`` = factor × ``base_lr``. In the alternating regime the thresholds are in
  neither group: the regime's own optimizer trains them.

The options, their defaults and which combinations act on something are checked by
``QuantConfig`` itself (``tinyquant/config.py``); this module only builds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..config import QUANT_LR_FACTORS, QuantConfig, takes_bits
from ..nn.layers import quantizable_layers, quantize_model
from ..optim import SGD, Adam
from ..rng import QUANTIZER_STREAM, derived_generator
from ..train.callbacks import Callback
from .clipping import WeightClipping
from .diagnostics import ChangedLevels, GradientMagnitude, LatentDistance, QuantizerTrace
from .registry import get_quantizer, quantizer_facts
from .regimes import AlternatingThresholdRegime, BinaryConnectRegime, ConstantWarmup, RoundingRegime
from .schedules import SCHEDULES, STEScheduler
from .sign_activation import replace_relus


def weight_quantizer_factory(quant: QuantConfig, seed: int = 0):
    """``layer -> Quantizer`` for ``quant.quantizer`` (None for "none"); each stochastic
    quantizer gets its own child stream of ``seed``."""
    name = quant.quantizer
    if name == "none":
        return None
    facts = quantizer_facts(name)
    kwargs = {}
    if quant.ste is not None:
        kwargs["ste"] = quant.ste
    elif quant.regime == "bc" and facts.default_ste not in (None, "identity"):
        # BinaryConnect, seed 002 eq. 7: w_r ← w_r − α·∇f(Q(w_r)), the gradient at Q(w_r) applied
        # to w_r unchanged (the identity STE), not the quantizer's default window
        kwargs["ste"] = "identity"
    if takes_bits(name):
        kwargs["bits"] = quant.weight_bits
    if "delta" in facts.options:
        kwargs["delta"] = quant.grid_delta
    if "step_init" in facts.options:
        kwargs["step_init"] = quant.step_init
    if "granularity" in facts.options:
        kwargs["granularity"] = quant.step_granularity
    if name == "truncated_gaussian_ternary":
        kwargs["gradient_correctness"] = quant.gradient_correctness
        kwargs["init_factor"] = quant.threshold_init
    per_channel = kwargs.get("granularity") == "channel"
    get_quantizer(name, **kwargs, **({"channels": 1} if per_channel else {}))  # fail early on bad options
    counter = iter(range(10**9))

    def factory(layer):
        extra = ({"rng": derived_generator(seed, QUANTIZER_STREAM, next(counter))}
                 if facts.stochastic else {})
        if per_channel:
            extra["channels"] = layer.weight.shape[0]                  # one step per output channel
        return get_quantizer(name, **kwargs, **extra)

    return factory


def activation_quantizer_factory(quant: QuantConfig):
    name = quant.activation_quantizer_name()
    if name is None:
        return None
    kwargs = {"bits": quant.act_bits}
    if "step_init" in quantizer_facts(name).options:
        kwargs["step_init"] = quant.step_init
        kwargs["init_batches"] = quant.init_batches
    if name == "sign_activation" and quant.act_ste is not None:
        kwargs["ste"] = quant.act_ste
    get_quantizer(name, **kwargs)
    return lambda layer: get_quantizer(name, **kwargs)


def edge_quantizer_factories(model, quant: QuantConfig, seed: int = 0):
    """(weight, activation) factories of the kept first/last layers at ``quant.edge_bits``
    bits (seed 003 §5.1: 8 bits, as LSQ does), or (None, None) to keep them in full precision.
    The same quantizers as the other layers at that width; the activation quantizer goes on
    the last layer only: the first layer's input is the data (signed when normalized, which
    an unsigned activation quantizer would clip at 0)."""
    bits = quant.edge_bits
    if not bits:
        return None, None
    edge = dataclasses.replace(quant, weight_bits=bits, act_bits=bits if quant.act_bits else 0)
    aq = (activation_quantizer_factory(edge)
          if edge.activation_quantizer_name() != "sign_activation" else None)
    layers = quantizable_layers(model)
    return (weight_quantizer_factory(edge, seed),
            None if aq is None else (lambda layer: None if layer is layers[0] else aq(layer)))


def quantizer_parameters(model) -> list:
    """The parameters owned by quantizers (scales, steps, thresholds)."""
    out, seen = [], set()
    for layer in quantizable_layers(model):
        for q in (layer.weight_quantizer, layer.activation_quantizer):
            if q is None:
                continue
            for p in q.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def param_groups(model, exclude=(), quant_lr=None) -> list[dict] | None:
    """Weights (with weight decay) and quantizer parameters (without weight decay, and with
    learning rate ``quant_lr`` if given); ``exclude`` left out."""
    skip = {id(p) for p in exclude}
    quant = [p for p in quantizer_parameters(model) if id(p) not in skip]
    qids = {id(p) for p in quant}
    rest = [p for p in model.parameters() if id(p) not in qids and id(p) not in skip]
    groups = [{"params": rest}] if rest else []
    if quant:
        groups.append({"params": quant, "weight_decay": 0.0})
        if quant_lr is not None:
            groups[-1]["lr"] = float(quant_lr)
    return groups


def quantizer_lr(quant: QuantConfig, base_lr: float) -> float | None:
    """The absolute lr of the quantizer-parameter group, or None (same as the weights)."""
    factor = quant.quant_lr_factor
    if factor is None:
        factor = QUANT_LR_FACTORS.get(quant.quantizer, 1.0)
    return None if factor == 1.0 else factor * base_lr


class SaveDiagnostics(Callback):
    """Write the diagnostics' histories to ``path`` (JSON) when training ends."""

    def __init__(self, path, recorders):
        self.path, self.recorders = Path(path), list(recorders)

    def on_train_end(self, trainer):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {type(r).__name__: r.history for r in self.recorders}
        self.path.write_text(json.dumps(data, indent=1, default=float))


@dataclass
class QuantSetup:
    """What :func:`configure_quantization` returns (see the module docstring)."""

    model: object
    callbacks: list
    regime: object | None
    param_groups: list | None


def configure_quantization(model, quant: QuantConfig, *, seed: int = 0, out=None,
                           base_lr: float = 0.05) -> QuantSetup:
    """Plug quantizers into ``model`` per ``quant``; see the module docstring for the result.
    ``out`` is the run's folder (diagnostics are written there); ``base_lr`` the weights' lr."""
    if not isinstance(quant, QuantConfig):
        raise TypeError(f"configure_quantization: quant must be a QuantConfig, got "
                        f"{type(quant).__name__}")
    callbacks, regime, groups = [], None, None
    wq, aq = weight_quantizer_factory(quant, seed), activation_quantizer_factory(quant)
    if quant.activation_quantizer_name() == "sign_activation":
        replace_relus(model)    # sign(ReLU(x)) = +1 always: sign is the activation (BinaryNet)
    diagnostics_path = Path("out" if out is None else out) / "diagnostics.json"

    if quant.regime in ("r", "sr"):
        layers = quantizable_layers(model)
        chosen = [layer for i, layer in enumerate(layers)
                  if not ((quant.keep_first and i == 0) or (quant.keep_last and i == len(layers) - 1))]
        if not chosen:
            raise ValueError(f"--regime {quant.regime}: no layer left to quantize "
                             f"(--keep-first / --keep-last keep all {len(layers)})")
        regime = RoundingRegime([layer.weight for layer in chosen], quant.grid_delta,
                                stochastic=quant.regime == "sr", binary=quant.binary_rounding,
                                clip=None if math.isinf(quant.grid_clip) else quant.grid_clip)
        if aq is not None:
            quantize_model(model, None, aq, quant.keep_first, quant.keep_last)
        if quant.diagnostics:
            names = {id(m): n for n, m in model.named_modules()}
            recorders = [ChangedLevels(layers=[(names[id(la)], la) for la in chosen],
                                       delta=quant.grid_delta, binary=quant.binary_rounding)]
            callbacks += recorders + [SaveDiagnostics(diagnostics_path, recorders)]
        return QuantSetup(model, callbacks, regime, param_groups(model))

    quantize_model(model, wq, aq, quant.keep_first, quant.keep_last,
                   *edge_quantizer_factories(model, quant, seed))
    if wq is None and aq is None:
        return QuantSetup(model, callbacks, None, None)

    if quant.regime == "bc":
        regime = BinaryConnectRegime()
    elif quant.regime == "alternating":
        thresholds = [layer.weight_quantizer.delta for layer in quantizable_layers(model)
                      if layer.weight_quantizer is not None]
        optimizer = Adam if quant.threshold_optimizer == "adam" else SGD   # seed 001, Table I
        regime = AlternatingThresholdRegime(optimizer(thresholds, lr=quant.threshold_lr,
                                                      weight_decay=0.0))
        groups = param_groups(model, exclude=thresholds, quant_lr=quantizer_lr(quant, base_lr))
    if groups is None:
        groups = param_groups(model, quant_lr=quantizer_lr(quant, base_lr))

    if any(getattr(m, "ste", None) is not None and m.ste.name in SCHEDULES for m in model.modules()):
        callbacks.append(STEScheduler())
    if math.isfinite(quant.clip):
        callbacks.append(WeightClipping(quant.clip))
    if quant.uniq_warmup > 0:
        callbacks.append(ConstantWarmup(quant.uniq_warmup, quant.uniq_warmup_factor))
    if quant.diagnostics:
        recorders = [ChangedLevels(), LatentDistance(), QuantizerTrace(every=10), GradientMagnitude()]
        callbacks += recorders + [SaveDiagnostics(diagnostics_path, recorders)]
    return QuantSetup(model, callbacks, regime, groups)
