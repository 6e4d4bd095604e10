"""``tinyquant train``'s quantization options: the argparse glue between the CLI and this package.

The CLI calls two functions:

``add_quant_arguments(parser)`` adds::

    --quantizer NAME        weight quantizer from the registry, or "none" (default none)
    --ste NAME              STE replacing ∂Q/∂w (default: the quantizer's own; see ste.py)
    --clip F                clip latent weights to [−F·α, F·α] after each step (seed 000;
                            default inf = no clipping; must be > 0)
    --regime R              standard | bc | r | sr | alternating (default standard); bc uses
                            the identity STE unless --ste says otherwise (seed 002, eq. 7)
    --weight-bits B         bits of uniq / lsq / dorefa weights (default 2)
    --act-bits B            bits of the activation quantizer; 0 = full precision (default 0)
    --act-quantizer NAME    auto | uniq_activation | lsq_activation | dorefa_activation | sign_activation
                            (sign_activation: --act-bits 1; the model's ReLUs become the identity)
    --act-ste NAME          STE of sign_activation (default clipped; ab_tanh is seed 004's Algorithm 1)
    --keep-first / --no-keep-first   first layer in full precision (default keep)
    --keep-last / --no-keep-last     last layer in full precision (default keep)
    --edge-bits B           the kept first/last layers quantized to B bits instead of full
                            precision, with the same quantizer (uniq / lsq / dorefa); the
                            last layer's input too when --act-bits > 0 (seed 003 §5.1: 8;
                            default 0 = full precision). UniQ's step gradient (eq. 6) is not
                            scaled: at 8 bits with SGD lr 0.05 its steps diverge (digits_cnn,
                            3 epochs: 10.0 % test accuracy); --optimizer adam or
                            --quant-lr-factor 0.01 reach 98.1 % / 97.8 % (measured)
    --step-granularity G    layer | channel: one step per layer or per output channel for
                            uniq / lsq weights (seed 003 §5.1, kernel-wise; default layer)
    --init-batches N        uniq_activation: training batches whose max √(2E[x²]) sets the
                            initial step (seed 003 §4.2, eq. 10; 100-1000 in §5; default 1)
    --grid-clip C           regimes r / sr: the grid bounded to [−C, C] (seed 002 §4's finite
                            domain; default inf = unbounded)
    --grid-delta D          grid step Δ of the rounding quantizers and of regimes r / sr (0.05)
    --binary-rounding       regimes r / sr keep the weights on {−Δ, +Δ} instead of ΔZ (seed 002 §6)
    --threshold-lr LR       lr of the threshold optimizer in the alternating regime (default 0.01)
    --threshold-optimizer O sgd | adam: that optimizer (seed 001, Table I; default sgd)
    --threshold-init F      truncated_gaussian_ternary: δ₀ = F·max|w| (default 0.1)
    --gradient-correctness / --no-gradient-correctness
                            truncated_gaussian_ternary: ∂Tern/∂w = 1/S (seed 001 eq. 15; default on)
    --step-init I           uniq / uniq_activation initial step: optimal (eqs. 9–10), lsq, or a
                            positive number such as 0.1 (seed 003, Table 5; default optimal)
    --uniq-warmup E         UniQ's constant warm-up: lr × --uniq-warmup-factor (0.1) for E epochs
    --quant-lr-factor F     lr of quantizer parameters = F × base lr (default 0.01 for ttq, else 1)
    --diagnostics           record changed levels, |w_b − w_r|, step/SQNR traces and gradient
                            magnitudes; written to OUT/diagnostics.json at the end

``configure_quantization(model, args) -> (model, callbacks, regime, param_groups_hint)``:

* ``model``     -- the same model, quantizers plugged into its layers (``quantize_model``);
* ``callbacks`` -- a list of ``tinyquant.train.Callback`` instances to pass to the Trainer
  (STE schedules, weight clipping, warm-up, diagnostics); possibly empty;
* ``regime``    -- an object with ``step(trainer, x, y)`` for ``Trainer(regime=...)``, or
  ``None`` for the Trainer's default (standard / bc);
* ``param_groups_hint`` -- ``None`` (use ``model.parameters()``), or a list of param-group
  dicts for SGD/Adam: ``[{"params": weights_and_others}, {"params": quantizer_parameters,
  "weight_decay": 0.0}]`` -- no weight decay on learned scales, steps and thresholds
  (seed 003 §5.1, seed 001 §III-B); when ``--quant-lr-factor`` is not 1 that group also
  carries ``"lr"`` = factor × base lr, the base lr resolved as the CLI does (``--lr``, else
  0.05 for SGD and 0.002 for Adam). In the alternating regime the thresholds are in
  neither group: the regime's own optimizer trains them.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..nn.layers import quantizable_layers, quantize_model
from ..optim import SGD, Adam
from ..rng import QUANTIZER_STREAM, derived_generator
from ..train.callbacks import Callback
from .clipping import WeightClipping, check_clip_factor
from .diagnostics import ChangedLevels, GradientMagnitude, LatentDistance, QuantizerTrace
from .registry import ACTIVATION_QUANTIZERS, get_quantizer, quantizer_facts, quantizer_names
from .regimes import AlternatingThresholdRegime, BinaryConnectRegime, ConstantWarmup, RoundingRegime
from .schedules import SCHEDULES, STEScheduler
from .sign_activation import replace_relus
from .ste import STES
from .uniform import GRANULARITIES, check_step_init

REGIMES = ("standard", "bc", "r", "sr", "alternating")
# read from the registry's facts (tinyquant.quant.registry), never listed here
WEIGHT_QUANTIZERS = quantizer_names("weight")
TAKES_STE = tuple(n for n in WEIGHT_QUANTIZERS if quantizer_facts(n).takes_ste)
TAKES_BITS = tuple(n for n in WEIGHT_QUANTIZERS if quantizer_facts(n).bits is not None)

#: Default lr factor of quantizer parameters. TTQ's ∂L/∂W_p sums the gradient over every
#: weight above Δ, so its size grows with the layer; with the CLI's SGD (lr 0.05, momentum
#: 0.9) on digits_cnn, W_p of the second convolution crossed zero (to −5.95) in the first
#: epochs and runs ended at 91.9–92.5 % test accuracy; at factor 0.01 they reached 98.9–99.2 %
#: (measured, seed 0, two runs each). LSQ addresses the same growth with its 1/√(N·Q_p) gradient scale.
QUANT_LR_FACTORS = {"ttq": 0.01}
#: Default initial threshold factor of truncated_gaussian_ternary, δ₀ = 0.1·max|w| (seed 001).
THRESHOLD_INIT = 0.1
from ..cli import DEFAULT_LR as BASE_LR  # noqa: E402  (the CLI's lr when --lr is not given)


def _clip_factor(text: str) -> float:
    try:
        return check_clip_factor(float(text))
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_bound(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0 (inf = no bound), got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {value}")
    return value


def _step_init(text: str):
    try:
        value = check_step_init("--step-init", text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text if isinstance(value, str) else str(value)


def add_quant_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("quantization (tinyquant.quant)")
    g.add_argument("--quantizer", default="none", choices=("none",) + WEIGHT_QUANTIZERS,
                   help="weight quantizer (default none: full precision)")
    g.add_argument("--ste", default=None, choices=tuple(STES),
                   help="straight-through estimator (default: the quantizer's own)")
    g.add_argument("--clip", type=_clip_factor, default=math.inf,
                   help="weight clipping factor f: latent weights in [-f*alpha, f*alpha] (default inf)")
    g.add_argument("--regime", default="standard", choices=REGIMES)
    g.add_argument("--weight-bits", type=int, default=2, help="bits of uniq/lsq/dorefa weights")
    g.add_argument("--act-bits", type=_non_negative_int, default=0,
                   help="activation bits, 0 = full precision (default)")
    g.add_argument("--act-quantizer", default="auto", choices=("auto",) + ACTIVATION_QUANTIZERS)
    g.add_argument("--act-ste", default=None, choices=tuple(STES),
                   help="STE of sign_activation (default clipped; seed 004's Algorithm 1: ab_tanh)")
    g.add_argument("--keep-first", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the first layer in full precision (default: yes)")
    g.add_argument("--keep-last", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the last layer in full precision (default: yes)")
    g.add_argument("--edge-bits", type=_non_negative_int, default=0,
                   help="quantize the kept first/last layers to this many bits with the same quantizer "
                        "(seed 003 §5.1: 8; default 0 = full precision)")
    g.add_argument("--step-granularity", default="layer", choices=GRANULARITIES,
                   help="uniq/lsq weights: one step per layer or per output channel (seed 003 §5.1)")
    g.add_argument("--init-batches", type=_positive_int, default=1,
                   help="uniq_activation: batches that initialize the step (seed 003: 100-1000; default 1)")
    g.add_argument("--grid-clip", type=_positive_bound, default=math.inf,
                   help="regimes r/sr: bound the grid to [-C, C] (seed 002 §4; default inf)")
    g.add_argument("--grid-delta", type=float, default=0.05,
                   help="grid step of the rounding quantizers and of regimes r/sr")
    g.add_argument("--binary-rounding", action=argparse.BooleanOptionalAction, default=False,
                   help="regimes r/sr: keep the weights on {-D, +D} (D = --grid-delta) instead of "
                        "the grid D*Z (seed 002's binarized networks; default no)")
    g.add_argument("--threshold-lr", type=float, default=0.01,
                   help="threshold learning rate of the alternating regime (seed 001)")
    g.add_argument("--threshold-optimizer", default="sgd", choices=("sgd", "adam"),
                   help="optimizer of the thresholds in the alternating regime (seed 001, "
                        "Table I: vanilla SGD or Adam, lr --threshold-lr, no weight decay)")
    g.add_argument("--threshold-init", type=_non_negative_float, default=THRESHOLD_INIT,
                   help="initial threshold of truncated_gaussian_ternary, x max|w| (seed 001)")
    g.add_argument("--gradient-correctness", action=argparse.BooleanOptionalAction, default=True,
                   help="truncated_gaussian_ternary: dTern/dw = 1/S (seed 001, eq. 15; default yes)")
    g.add_argument("--step-init", type=_step_init, default="optimal",
                   help="initial step of uniq / uniq_activation: optimal (seed 003, eqs. 9-10), "
                        "lsq (2 E|x| / sqrt(Q_P)) or a positive number (Table 5: 0.1, 0.2)")
    g.add_argument("--uniq-warmup", type=float, default=0.0,
                   help="epochs of UniQ's constant warm-up (lr x --uniq-warmup-factor)")
    g.add_argument("--uniq-warmup-factor", type=float, default=0.1)
    g.add_argument("--quant-lr-factor", type=float, default=None,
                   help="learning-rate factor of the quantizer parameters (default 0.01 for ttq, "
                        "else 1)")
    g.add_argument("--diagnostics", action="store_true",
                   help="record the papers' training diagnostics into OUT/diagnostics.json")
    return parser


def weight_quantizer_factory(args):
    """``layer -> Quantizer`` for ``args.quantizer`` (None for "none")."""
    name = args.quantizer
    if name == "none":
        if args.ste is not None:
            raise ValueError("--ste needs a --quantizer")
        return None
    kwargs = {}
    if args.ste is not None:
        if name not in TAKES_STE:
            raise ValueError(f"--ste: quantizer {name!r} has a fixed estimator; quantizers that "
                             f"take --ste: {', '.join(TAKES_STE)}")
        kwargs["ste"] = args.ste
    facts = quantizer_facts(name)
    if getattr(args, "regime", None) == "bc" and args.ste is None and facts.default_ste not in (None, "identity"):
        # BinaryConnect, seed 002 eq. 7: w_r ← w_r − α·∇f(Q(w_r)), the gradient at Q(w_r) applied
        # to w_r unchanged (the identity STE), not the quantizer's default window
        kwargs["ste"] = "identity"
    if name in TAKES_BITS:
        kwargs["bits"] = args.weight_bits
    if "delta" in facts.options:
        kwargs["delta"] = args.grid_delta
    if "step_init" in facts.options:
        kwargs["step_init"] = args.step_init
    if name in ("uniq", "lsq"):
        kwargs["granularity"] = getattr(args, "step_granularity", "layer")
    if name == "truncated_gaussian_ternary":
        kwargs["gradient_correctness"] = args.gradient_correctness
        kwargs["init_factor"] = args.threshold_init
    per_channel = kwargs.get("granularity") == "channel"
    get_quantizer(name, **kwargs, **({"channels": 1} if per_channel else {}))  # fail early on bad options
    counter = iter(range(10**9))

    def factory(layer):
        extra = ({"rng": derived_generator(args.seed, QUANTIZER_STREAM, next(counter))}
                 if facts.stochastic else {})
        if per_channel:
            extra["channels"] = layer.weight.shape[0]                  # one step per output channel
        return get_quantizer(name, **kwargs, **extra)

    return factory


def edge_quantizer_factories(model, args):
    """(weight, activation) factories of the kept first/last layers at ``--edge-bits`` bits
    (seed 003 §5.1: 8 bits, as LSQ does), or (None, None) to keep them in full precision.
    The same quantizers as the other layers at that width; the activation quantizer goes on
    the last layer only: the first layer's input is the data (signed when normalized, which
    an unsigned activation quantizer would clip at 0)."""
    bits = getattr(args, "edge_bits", 0)
    if not bits:
        return None, None
    edge = argparse.Namespace(**{**vars(args), "weight_bits": bits, "act_bits": bits if args.act_bits else 0})
    aq = activation_quantizer_factory(edge) if _activation_quantizer_name(edge) != "sign_activation" else None
    layers = quantizable_layers(model)
    return (weight_quantizer_factory(edge),
            None if aq is None else (lambda layer: None if layer is layers[0] else aq(layer)))


def _activation_quantizer_name(args) -> str | None:
    if args.act_bits == 0:
        return None
    name = args.act_quantizer
    if name == "auto":
        name = {"lsq": "lsq_activation", "dorefa": "dorefa_activation"}.get(args.quantizer, "uniq_activation")
    return name


def activation_quantizer_factory(args):
    name = _activation_quantizer_name(args)
    if name is None:
        return None
    kwargs = {"bits": args.act_bits}
    if "step_init" in quantizer_facts(name).options:
        kwargs["step_init"] = args.step_init
        kwargs["init_batches"] = getattr(args, "init_batches", 1)
    if name == "sign_activation" and getattr(args, "act_ste", None) is not None:
        kwargs["ste"] = args.act_ste
    get_quantizer(name, **kwargs)
    return lambda layer: get_quantizer(name, **kwargs)


def check_options_apply(args) -> None:
    """An option set away from its default must act on something: a study that sets
    ``--step-init lsq`` on an LSQ network would otherwise silently measure nothing."""
    act = _activation_quantizer_name(args)
    unused = []
    if args.step_init != "optimal" and args.quantizer != "uniq" and act != "uniq_activation":
        unused.append((f"--step-init {args.step_init}", "needs --quantizer uniq or a uniq_activation"))
    if args.quantizer != "truncated_gaussian_ternary":
        if not args.gradient_correctness:
            unused.append(("--no-gradient-correctness", "needs --quantizer truncated_gaussian_ternary"))
        if args.threshold_init != THRESHOLD_INIT:
            unused.append((f"--threshold-init {args.threshold_init}",
                           "needs --quantizer truncated_gaussian_ternary"))
    if getattr(args, "act_ste", None) is not None and act != "sign_activation":
        unused.append((f"--act-ste {args.act_ste}", "needs --act-quantizer sign_activation --act-bits 1"))
    if args.binary_rounding and args.regime not in ("r", "sr"):
        unused.append(("--binary-rounding", "needs --regime r or sr"))
    if math.isfinite(getattr(args, "grid_clip", math.inf)) and args.regime not in ("r", "sr"):
        unused.append((f"--grid-clip {args.grid_clip}", "needs --regime r or sr"))
    if getattr(args, "init_batches", 1) != 1 and act != "uniq_activation":
        unused.append((f"--init-batches {args.init_batches}", "needs a uniq_activation (--act-bits > 0)"))
    if getattr(args, "step_granularity", "layer") != "layer" and args.quantizer not in ("uniq", "lsq"):
        unused.append((f"--step-granularity {args.step_granularity}", "needs --quantizer uniq or lsq"))
    if getattr(args, "edge_bits", 0) and (args.quantizer not in TAKES_BITS or args.regime in ("r", "sr")
                                          or not (args.keep_first or args.keep_last)):
        unused.append((f"--edge-bits {args.edge_bits}", "needs --quantizer uniq, lsq or dorefa and "
                       "--keep-first or --keep-last"))
    if args.threshold_optimizer != "sgd" and args.regime != "alternating":
        unused.append((f"--threshold-optimizer {args.threshold_optimizer}", "needs --regime alternating"))
    if unused:
        option, why = unused[0]
        raise ValueError(f"{option} has no effect here: it {why} (got --quantizer {args.quantizer}, "
                         f"--regime {args.regime}, --act-bits {args.act_bits})")


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


def quantizer_lr(args) -> float | None:
    """The absolute lr of the quantizer-parameter group, or None (same as the weights)."""
    factor = args.quant_lr_factor
    if factor is None:
        factor = QUANT_LR_FACTORS.get(args.quantizer, 1.0)
    if not factor > 0:
        raise ValueError(f"--quant-lr-factor must be > 0, got {factor!r}")
    if factor == 1.0:
        return None
    base = args.lr if getattr(args, "lr", None) is not None else BASE_LR[getattr(args, "optimizer", "sgd")]
    return factor * base


class SaveDiagnostics(Callback):
    """Write the diagnostics' histories to ``path`` (JSON) when training ends."""

    def __init__(self, path, recorders):
        self.path, self.recorders = Path(path), list(recorders)

    def on_train_end(self, trainer):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {type(r).__name__: r.history for r in self.recorders}
        self.path.write_text(json.dumps(data, indent=1, default=float))


def configure_quantization(model, args):
    """Plug quantizers into ``model`` per ``args``; see the module docstring for the result."""
    if args.regime not in REGIMES:
        raise ValueError(f"--regime: unknown regime {args.regime!r}; available: {', '.join(REGIMES)}")
    check_options_apply(args)
    callbacks, regime, hint = [], None, None
    wq, aq = weight_quantizer_factory(args), activation_quantizer_factory(args)
    if _activation_quantizer_name(args) == "sign_activation":
        replace_relus(model)    # sign(ReLU(x)) = +1 always: sign is the activation (BinaryNet)

    if args.regime in ("r", "sr"):
        if wq is not None:
            raise ValueError(f"--regime {args.regime}: weights are stored quantized (seed 002 eqs. 4, 6); "
                             f"use it without --quantizer (got {args.quantizer!r})")
        layers = quantizable_layers(model)
        chosen = [layer for i, layer in enumerate(layers)
                  if not ((args.keep_first and i == 0) or (args.keep_last and i == len(layers) - 1))]
        if not chosen:
            raise ValueError(f"--regime {args.regime}: no layer left to quantize (keep-first/keep-last)")
        regime = RoundingRegime([layer.weight for layer in chosen], args.grid_delta,
                                stochastic=args.regime == "sr", binary=args.binary_rounding,
                                clip=None if math.isinf(getattr(args, "grid_clip", math.inf)) else args.grid_clip)
        if aq is not None:
            quantize_model(model, None, aq, args.keep_first, args.keep_last)
        if args.diagnostics:
            names = {id(m): n for n, m in model.named_modules()}
            recorders = [ChangedLevels(layers=[(names[id(la)], la) for la in chosen], delta=args.grid_delta,
                                       binary=args.binary_rounding)]
            callbacks += recorders + [SaveDiagnostics(Path(args.out) / "diagnostics.json", recorders)]
        return model, callbacks, regime, param_groups(model)

    quantize_model(model, wq, aq, args.keep_first, args.keep_last, *edge_quantizer_factories(model, args))
    if wq is None and aq is None:
        if args.regime == "alternating":
            raise ValueError("--regime alternating needs --quantizer truncated_gaussian_ternary")
        return model, callbacks, None, None

    if args.regime == "bc":
        regime = BinaryConnectRegime()
    elif args.regime == "alternating":
        if args.quantizer != "truncated_gaussian_ternary":
            raise ValueError(f"--regime alternating is seed 001's Algorithm 1 and needs "
                             f"--quantizer truncated_gaussian_ternary, got {args.quantizer!r}")
        thresholds = [layer.weight_quantizer.delta for layer in quantizable_layers(model)
                      if layer.weight_quantizer is not None]
        optimizer = Adam if args.threshold_optimizer == "adam" else SGD   # seed 001, Table I
        regime = AlternatingThresholdRegime(optimizer(thresholds, lr=args.threshold_lr, weight_decay=0.0))
        hint = param_groups(model, exclude=thresholds, quant_lr=quantizer_lr(args))
    if hint is None:
        hint = param_groups(model, quant_lr=quantizer_lr(args))

    if any(getattr(m, "ste", None) is not None and m.ste.name in SCHEDULES for m in model.modules()):
        callbacks.append(STEScheduler())
    if math.isfinite(args.clip):
        callbacks.append(WeightClipping(args.clip))
    if args.uniq_warmup > 0:
        callbacks.append(ConstantWarmup(args.uniq_warmup, args.uniq_warmup_factor))
    if args.diagnostics:
        recorders = [ChangedLevels(), LatentDistance(), QuantizerTrace(every=10), GradientMagnitude()]
        callbacks += recorders + [SaveDiagnostics(Path(args.out) / "diagnostics.json", recorders)]
    return model, callbacks, regime, hint
