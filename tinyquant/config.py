"""The run configuration: every option of ``tinyquant train``, typed, with its default,
help text and validation, in one place.

    config = TrainConfig.from_dict({"model": "mlp", "epochs": 3, "quantizer": "xnor"})
    config.quant.quantizer                  # 'xnor'
    config.replace(lr=0.01)                 # a new, validated configuration
    TrainConfig.from_toml(config.to_toml()) == config

:class:`TrainConfig` holds the model, data, optimizer and schedule options and, in its
``quant`` field, a :class:`QuantConfig` with the quantization options (the quantizer, its
STE, the regime, ...). Both are frozen dataclasses, validated when built: a bad value,
or an option set away from its default that acts on nothing with the others
(``--quantizer ttq --weight-bits 3``, ``--clip 2`` without a quantizer, ``--momentum``
with Adam), raises a ValueError naming the option, its value and what is expected.

The dictionary form (:meth:`TrainConfig.to_dict`) is *flat*: one key per option, named as
the CLI's option without its dashes (``batch_size`` for ``--batch-size``), quantization
options included; it is what study files, sweep records and checkpoints hold. The CLI's
parser is generated from these fields (:mod:`tinyquant.cli`), and study files are checked
against them (:mod:`tinyquant.sweep.study`).

Options with ``run_control`` metadata (``out``, ``resume``, ``overwrite``, ``no_progress``)
say where and how a run is carried out, not what is trained: they are left out of
:meth:`TrainConfig.hyperparameters` (what a checkpoint is compared against on resume).
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

OPTIMIZERS = ("sgd", "adam")
#: the learning rate when ``lr`` is not given
DEFAULT_LR = {"sgd": 0.05, "adam": 0.002}
SCHEDULES = ("constant", "cosine", "step")
REGIMES = ("standard", "bc", "r", "sr", "alternating")
#: Default lr factor of quantizer parameters. TTQ's ∂L/∂W_p sums the gradient over every
#: weight above Δ, so its size grows with the layer; with the CLI's SGD (lr 0.05, momentum
#: 0.9) on digits_cnn, W_p of the second convolution crossed zero (to −5.95) in the first
#: epochs and runs ended at 91.9–92.5 % test accuracy; at factor 0.01 they reached 98.9–99.2 %
#: (measured, seed 0, two runs each). LSQ addresses the same growth with its 1/√(N·Q_p)
#: gradient scale.
QUANT_LR_FACTORS = {"ttq": 0.01}
#: default initial threshold factor of truncated_gaussian_ternary, δ₀ = 0.1·max|w| (seed 001)
THRESHOLD_INIT = 0.1
#: options added after records existed, with the value a record that predates them ran with
#: (when it differs from today's default); see tinyquant.sweep.study.record_run_id
LEGACY_VALUES = {"val_fraction": 0.0}


class ConfigError(ValueError):
    """A bad option value or an inconsistent combination; the message names the option."""


# ------------------------------------------------------------------ facts from the registry

def _registry():
    from .quant.registry import ACTIVATION_QUANTIZERS, QUANTIZERS
    from .quant.ste import STES

    return QUANTIZERS, ACTIVATION_QUANTIZERS, STES


def datasets() -> tuple[str, ...]:
    from .data.registry import available_datasets

    return tuple(available_datasets())


def file_datasets() -> tuple[str, ...]:
    """The data sets read from files the user names (``data_dir``); the others need none."""
    from .data.registry import NEEDS_DIRECTORY

    return NEEDS_DIRECTORY


def weight_quantizers() -> tuple[str, ...]:
    quantizers, activation, _ = _registry()
    return tuple(n for n in quantizers if n not in activation)


def activation_quantizers() -> tuple[str, ...]:
    return tuple(_registry()[1])


def ste_names() -> tuple[str, ...]:
    return tuple(_registry()[2])


def takes_ste(name: str) -> bool:
    """Whether quantizer ``name`` accepts an ``ste=`` (a surrogate gradient): its declared facts."""
    return bool(_registry()[0][name].facts.takes_ste)


def takes_bits(name: str) -> bool:
    """Whether quantizer ``name`` has a ``bits`` option: its declared facts."""
    return _registry()[0][name].facts.bits is not None


# ------------------------------------------------------------------------ field helpers

def option(default, help: str, *, type, choices=None, flag: str | None = None, check=None,
           run_control: bool = False, metavar: str | None = None, optional: bool = False,
           number_as_str: bool = False):
    """A configuration field: ``type`` (int, float, str, bool), ``optional`` (None allowed),
    ``choices`` (a tuple, or a function returning one), ``flag`` for booleans ("store_true",
    or "optional" for a ``--x/--no-x`` pair), ``check(value) -> str | None`` (what is
    expected, when the value is bad), ``number_as_str`` (a str option that also takes a
    number, stored as its repr: ``step_init = 0.1`` is ``"0.1"``)."""
    return field(default=default, metadata=dict(help=help, type=type, choices=choices, flag=flag,
                                                check=check, run_control=run_control,
                                                metavar=metavar, optional=optional,
                                                number_as_str=number_as_str))


def cli_name(name: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def show(name: str, value) -> str:
    """An option as the CLI spells it: ``--weight-bits 3``, ``--diagnostics``, ``--no-keep-first``."""
    if value is True:
        return cli_name(name)
    if value is False:
        return "--no-" + name.replace("_", "-")
    return f"{cli_name(name)} {value}"


def _bad(name: str, value, expected: str) -> ConfigError:
    return ConfigError(f"{cli_name(name)} {value!r}: expected {expected}")


def _choices(spec) -> tuple | None:
    choices = spec["choices"]
    return tuple(choices()) if callable(choices) else choices


def _coerce(name: str, value, spec):
    """``value`` in canonical form for a field, or a ConfigError naming it."""
    kind = spec["type"]
    if value is None:
        if spec["optional"]:
            return None
        raise _bad(name, value, f"a {kind.__name__}, not None")
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _bad(name, value, "true or false")
    if kind is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise _bad(name, value, "an integer")
    if kind is float:
        if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
            return math.inf   # the JSON form of an infinite value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
            if math.isnan(value):
                raise _bad(name, value, "a number, not NaN")
            return value
        raise _bad(name, value, "a number")
    if isinstance(value, str):
        return value
    if spec["number_as_str"] and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    raise _bad(name, value, "a string")


def check_value(name: str, value, spec: dict):
    """One option's value in canonical form (ints given for floats become floats), or a
    ConfigError naming the option, the value and what is expected."""
    value = _coerce(name, value, spec)
    choices = _choices(spec)
    if choices is not None and value is not None and value not in choices:
        raise _bad(name, value, f"one of {', '.join(map(str, choices))}")
    check = spec["check"]
    if check is not None and value is not None:
        expected = check(value)
        if expected:
            raise _bad(name, value, expected)
    return value


def _validate_fields(obj) -> None:
    for f in dataclasses.fields(obj):
        if "type" in f.metadata:
            object.__setattr__(obj, f.name, check_value(f.name, getattr(obj, f.name), f.metadata))


def _at_least(low):
    return lambda v: None if v >= low else f"a value >= {low}"


def _positive(v):
    return None if (v > 0 and math.isfinite(v)) else "a finite number > 0"


def _non_negative(v):
    return None if (v >= 0 and math.isfinite(v)) else "a finite number >= 0"


def _clip_factor(v):
    return None if v > 0 else "a factor > 0 (seed 000 uses 0.75, 1, 2, 4; inf = no clipping)"


def _step_init(v):
    from .quant.uniform import check_step_init

    try:
        check_step_init("step_init", v)
    except ValueError:
        return "optimal, lsq or a positive number such as 0.1"
    return None


def _max_bits() -> int:
    from .quant import registry

    return getattr(registry, "MAX_BITS", 16)   # 2^16 levels: far past every paper's range


def _bits(low):
    def check(v):
        high = _max_bits()
        return None if low <= v <= high else f"a bit width in [{low}, {high}]"
    return check


def _clip_bound(v):
    return None if v > 0 else "a number > 0 (inf = no bound)"


def _granularities():
    from .quant.uniform import GRANULARITIES

    return tuple(GRANULARITIES)


def _unit_interval_open_high(v):
    return None if 0 <= v < 1 else "a number in [0, 1)"


def _fraction(v):
    return None if 0 <= v < 1 else "a fraction in [0, 1) of the training set (0 = no validation split)"


# ------------------------------------------------------------------------ the configurations

@dataclass(frozen=True)
class QuantConfig:
    """The quantization options of a run (``tinyquant.quant``; see :mod:`tinyquant.quant.config`)."""

    quantizer: str = option("none", "weight quantizer from the registry (`tinyquant list`), or "
                            "none for full precision", type=str,
                            choices=lambda: ("none",) + weight_quantizers())
    ste: str | None = option(None, "straight-through estimator replacing dQ/dw; not set: the "
                             "quantizer's own", type=str, optional=True, choices=ste_names)
    clip: float = option(math.inf, "weight clipping factor f: latent weights kept in "
                         "[-f*alpha, f*alpha] after each step (seed 000; inf = no clipping)",
                         type=float, check=_clip_factor)
    regime: str = option("standard", "how weights are updated: standard, bc (BinaryConnect, needs "
                         "a quantizer), r / sr (weights stored rounded, seed 002), alternating "
                         "(thresholds then weights, seed 001)", type=str, choices=REGIMES)
    weight_bits: int = option(2, "bits of uniq / lsq / dorefa weights", type=int,
                              check=_bits(1))
    act_bits: int = option(0, "bits of the activation quantizer; 0 = full precision", type=int,
                           check=_bits(0))
    act_quantizer: str = option("auto", "activation quantizer (auto: the weight quantizer's "
                                "family, else uniq_activation; sign_activation needs --act-bits "
                                "1 and makes the model's ReLUs the identity)", type=str,
                                choices=lambda: ("auto",) + activation_quantizers())
    act_ste: str | None = option(None, "STE of sign_activation; not set: clipped (seed 004's "
                                 "Algorithm 1: ab_tanh)", type=str, optional=True,
                                 choices=ste_names)
    keep_first: bool = option(True, "keep the first layer in full precision", type=bool,
                              flag="optional")
    keep_last: bool = option(True, "keep the last layer in full precision", type=bool,
                             flag="optional")
    edge_bits: int = option(0, "the kept first/last layers quantized to this many bits with the "
                            "same quantizer (uniq / lsq / dorefa; seed 003 sec. 5.1: 8); 0 = full "
                            "precision. UniQ's step gradient (eq. 6) is not scaled: at 8 bits with "
                            "SGD lr 0.05 its steps diverge (digits_cnn, 3 epochs: 10.0 pc); "
                            "--optimizer adam or --quant-lr-factor 0.01 reach 98.1 / 97.8 pc "
                            "(measured)", type=int, check=_bits(0))
    step_granularity: str = option("layer", "uniq / lsq weights: one step per layer or per output "
                                   "channel (seed 003 sec. 5.1, kernel-wise)", type=str,
                                   choices=_granularities)
    init_batches: int = option(1, "uniq_activation: training batches whose max sqrt(2 E[x^2]) sets "
                               "the initial step (seed 003 sec. 4.2, eq. 10; 100-1000 in sec. 5)",
                               type=int, check=_at_least(1))
    grid_clip: float = option(math.inf, "regimes r / sr: the grid bounded to [-C, C] (seed 002 "
                              "sec. 4's finite domain; inf = unbounded)", type=float,
                              check=_clip_bound)
    grid_delta: float = option(0.05, "grid step of the rounding quantizers and of regimes r / sr",
                               type=float, check=_positive)
    binary_rounding: bool = option(False, "regimes r / sr: keep the weights on {-D, +D} "
                                   "(D = grid delta) instead of the grid D*Z (seed 002)",
                                   type=bool, flag="optional")
    threshold_lr: float = option(0.01, "learning rate of the thresholds in the alternating "
                                 "regime (seed 001)", type=float, check=_non_negative)
    threshold_optimizer: str = option("sgd", "optimizer of the thresholds in the alternating "
                                      "regime (seed 001, Table I; no weight decay)", type=str,
                                      choices=("sgd", "adam"))
    threshold_init: float = option(THRESHOLD_INIT, "truncated_gaussian_ternary: initial "
                                   "threshold, times max|w| (seed 001)", type=float,
                                   check=_non_negative)
    gradient_correctness: bool = option(True, "truncated_gaussian_ternary: dTern/dw = 1/S "
                                        "(seed 001, eq. 15)", type=bool, flag="optional")
    step_init: str = option("optimal", "initial step of uniq / uniq_activation: optimal (seed "
                            "003, eqs. 9-10), lsq (2 E|x| / sqrt(Q_P)) or a positive number "
                            "(Table 5: 0.1, 0.2)", type=str, check=_step_init,
                            number_as_str=True)
    uniq_warmup: float = option(0.0, "epochs of UniQ's constant warm-up (lr times the warm-up "
                                "factor)", type=float, check=_non_negative)
    uniq_warmup_factor: float = option(0.1, "lr factor during UniQ's warm-up", type=float,
                                       check=_positive)
    quant_lr_factor: float | None = option(None, "learning-rate factor of the quantizer "
                                           "parameters; not set: 0.01 for ttq, else 1",
                                           type=float, optional=True, check=_positive)
    diagnostics: bool = option(False, "record the papers' training diagnostics into "
                               "OUT/diagnostics.json", type=bool, flag="store_true")

    def __post_init__(self):
        _validate_fields(self)
        self._check_combinations()

    # what each option needs in order to act on something
    def activation_quantizer_name(self) -> str | None:
        """The activation quantizer the options select, or None (full-precision activations)."""
        if self.act_bits == 0:
            return None
        if self.act_quantizer != "auto":
            return self.act_quantizer
        return {"lsq": "lsq_activation", "dorefa": "dorefa_activation"}.get(self.quantizer,
                                                                            "uniq_activation")

    @property
    def quantizes(self) -> bool:
        """Whether anything is quantized: weights, activations or the rounding regimes."""
        return (self.quantizer != "none" or self.act_bits > 0 or self.regime in ("r", "sr"))

    def _check_combinations(self) -> None:
        q, regime, act = self.quantizer, self.regime, self.activation_quantizer_name()
        context = f"(got {show('quantizer', q)}, {show('regime', regime)}, {show('act_bits', self.act_bits)})"
        needs = []   # (option as given, what it needs)
        if self.ste is not None:
            if q == "none":
                needs.append((show("ste", self.ste), "needs a --quantizer"))
            elif not takes_ste(q):
                takers = [n for n in weight_quantizers() if takes_ste(n)]
                needs.append((show("ste", self.ste), f"needs a quantizer that takes an STE "
                              f"({', '.join(takers)}); {q} has a fixed estimator"))
        if math.isfinite(self.clip) and q == "none":
            needs.append((show("clip", self.clip), "needs a weight --quantizer (it clips to "
                          "the quantizer's scale)"))
        if regime == "bc" and q == "none":
            needs.append((show("regime", regime), "needs a weight --quantizer (BinaryConnect "
                          "trains through Q(w))"))
        if regime == "alternating" and q != "truncated_gaussian_ternary":
            needs.append((show("regime", regime), "is seed 001's Algorithm 1 and needs "
                          "--quantizer truncated_gaussian_ternary"))
        if regime in ("r", "sr") and q != "none":
            needs.append((show("regime", regime), "stores the weights quantized (seed 002 "
                          "eqs. 4, 6); use it without --quantizer"))
        if self.weight_bits != 2 and not (q != "none" and takes_bits(q)):
            needs.append((show("weight_bits", self.weight_bits), "needs a quantizer with a bit "
                          f"width ({', '.join(n for n in weight_quantizers() if takes_bits(n))})"))
        if self.act_quantizer != "auto" and self.act_bits == 0:
            needs.append((show("act_quantizer", self.act_quantizer), "needs --act-bits > 0"))
        if self.act_ste is not None and act != "sign_activation":
            needs.append((show("act_ste", self.act_ste), "needs --act-quantizer sign_activation "
                          "--act-bits 1"))
        if not (self.keep_first and self.keep_last) and not self.quantizes:
            flag = "keep_first" if not self.keep_first else "keep_last"
            needs.append((show(flag, False), "needs something to quantize (--quantizer, "
                          "--act-bits or --regime r/sr)"))
        if self.grid_delta != 0.05 and q not in ("deterministic_round", "stochastic_round") \
                and regime not in ("r", "sr"):
            needs.append((show("grid_delta", self.grid_delta), "needs --regime r or sr or a "
                          "rounding quantizer (deterministic_round, stochastic_round)"))
        if math.isfinite(self.grid_clip) and regime not in ("r", "sr"):
            needs.append((show("grid_clip", self.grid_clip), "needs --regime r or sr"))
        if self.init_batches != 1 and act != "uniq_activation":
            needs.append((show("init_batches", self.init_batches), "needs a uniq_activation "
                          "(--act-bits > 0)"))
        if self.step_granularity != "layer" and q not in ("uniq", "lsq"):
            needs.append((show("step_granularity", self.step_granularity),
                          "needs --quantizer uniq or lsq"))
        if self.edge_bits and (not (q != "none" and takes_bits(q)) or regime in ("r", "sr")
                               or not (self.keep_first or self.keep_last)):
            needs.append((show("edge_bits", self.edge_bits), "needs --quantizer uniq, lsq or "
                          "dorefa and --keep-first or --keep-last"))
        if self.binary_rounding and regime not in ("r", "sr"):
            needs.append((show("binary_rounding", True), "needs --regime r or sr"))
        if regime != "alternating":
            if self.threshold_lr != 0.01:
                needs.append((show("threshold_lr", self.threshold_lr), "needs --regime alternating"))
            if self.threshold_optimizer != "sgd":
                needs.append((show("threshold_optimizer", self.threshold_optimizer),
                              "needs --regime alternating"))
        if q != "truncated_gaussian_ternary":
            if not self.gradient_correctness:
                needs.append((show("gradient_correctness", False),
                              "needs --quantizer truncated_gaussian_ternary"))
            if self.threshold_init != THRESHOLD_INIT:
                needs.append((show("threshold_init", self.threshold_init),
                              "needs --quantizer truncated_gaussian_ternary"))
        if self.step_init != "optimal" and q != "uniq" and act != "uniq_activation":
            needs.append((show("step_init", self.step_init), "needs --quantizer uniq or a "
                          "uniq_activation"))
        has_quantizer = q != "none" or act is not None
        if self.uniq_warmup > 0 and not has_quantizer:
            needs.append((show("uniq_warmup", self.uniq_warmup), "needs a --quantizer or --act-bits"))
        if self.uniq_warmup_factor != 0.1 and self.uniq_warmup == 0:
            needs.append((show("uniq_warmup_factor", self.uniq_warmup_factor),
                          "needs --uniq-warmup > 0"))
        if self.quant_lr_factor is not None and not has_quantizer:
            needs.append((show("quant_lr_factor", self.quant_lr_factor),
                          "needs a --quantizer or --act-bits (quantizer parameters to train)"))
        if self.diagnostics and not self.quantizes:
            needs.append((show("diagnostics", True), "needs something to quantize (--quantizer, "
                          "--act-bits or --regime r/sr)"))
        if needs:
            given, why = needs[0]
            raise ConfigError(f"{given} acts on nothing here: it {why} {context}")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of ``tinyquant train``; see the module docstring."""

    model: str = option("digits_cnn", "model architecture", type=str,
                        choices=lambda: tuple(sorted(_models())))
    dataset: str = option("digits", "data set: digits and mnist1d need no files; mnist, "
                          "fashion-mnist and cifar10 are read from --data-dir", type=str,
                          choices=datasets)
    data_dir: str | None = option(None, "directory holding the MNIST IDX / CIFAR-10 binary files",
                                  type=str, optional=True, metavar="DIR")
    bn: str | None = option(None, "where batch norm sits in resnet20: post (conv-BN-ReLU; "
                            "what not set means), pre (BN-ReLU-conv) or none", type=str,
                            optional=True, choices=("post", "pre", "none"))
    epochs: int = option(12, "training epochs", type=int, check=_at_least(1))
    batch_size: int = option(64, "training batch size", type=int, check=_at_least(1))
    optimizer: str = option("sgd", "optimizer", type=str, choices=OPTIMIZERS)
    lr: float | None = option(None, "learning rate; not set: 0.05 for sgd, 0.002 for adam",
                              type=float, optional=True, check=_non_negative)
    momentum: float = option(0.9, "SGD momentum", type=float, check=_unit_interval_open_high)
    nesterov: bool = option(False, "Nesterov momentum (SGD)", type=bool, flag="store_true")
    weight_decay: float = option(5e-4, "L2 weight decay (not on quantizer parameters)",
                                 type=float, check=_non_negative)
    schedule: str = option("cosine", "learning-rate schedule over the run, per batch",
                           type=str, choices=SCHEDULES)
    warmup_epochs: float = option(0.0, "epochs of linear learning-rate warm-up before the "
                                  "schedule", type=float, check=_non_negative)
    augment: bool = option(False, "random crop (padding 4) and horizontal flip, for "
                           "CIFAR-style images", type=bool, flag="store_true")
    val_fraction: float = option(0.1, "fraction of the training set held out (seeded, "
                                 "stratified) for validation: the epoch with the best "
                                 "validation accuracy is selected and tested once at the end; "
                                 "0 = no split, test every epoch", type=float, check=_fraction)
    seed: int = option(0, "seed of every random choice (initialization, data order, "
                       "validation split, stochastic quantizers)", type=int, check=_at_least(0))
    init_from: str | None = option(None, "start from the model weights of this checkpoint "
                                   "(fine-tuning); loaded before quantizers are plugged in",
                                   type=str, optional=True, metavar="CHECKPOINT")
    out: str = option("out/train", "output directory (checkpoint, config.json, history.json)",
                      type=str, run_control=True, metavar="DIR")
    resume: bool = option(False, "continue the run in --out from its checkpoint (refused if "
                          "the hyperparameters differ)", type=bool, flag="store_true",
                          run_control=True)
    overwrite: bool = option(False, "replace a run already in --out", type=bool,
                             flag="store_true", run_control=True)
    no_progress: bool = option(False, "hide the per-batch progress bar (epoch lines still "
                               "print)", type=bool, flag="store_true", run_control=True)
    quant: QuantConfig = field(default_factory=QuantConfig)

    def __post_init__(self):
        if isinstance(self.quant, dict):
            object.__setattr__(self, "quant", QuantConfig(**self.quant))
        if not isinstance(self.quant, QuantConfig):
            raise TypeError(f"TrainConfig: quant must be a QuantConfig, got {type(self.quant).__name__}")
        _validate_fields(self)
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.bn is not None and self.model != "resnet20":
            raise ConfigError(f"{show('bn', self.bn)} acts on nothing here: only resnet20 has "
                              f"a batch-norm placement option (got {show('model', self.model)})")
        if self.dataset in file_datasets() and self.data_dir is None:
            raise ConfigError(f"{show('dataset', self.dataset)} reads local files and never "
                              f"downloads: expected --data-dir DIR, the folder holding them")
        if self.dataset not in file_datasets() and self.data_dir is not None:
            raise ConfigError(f"{show('data_dir', self.data_dir)} acts on nothing here: "
                              f"{self.dataset} needs no files (expected it only with "
                              f"{', '.join(file_datasets())})")
        if self.optimizer != "sgd":
            if self.momentum != 0.9:
                raise ConfigError(f"{show('momentum', self.momentum)} acts on nothing here: "
                                  f"it needs --optimizer sgd (got {show('optimizer', self.optimizer)})")
            if self.nesterov:
                raise ConfigError(f"--nesterov acts on nothing here: it needs --optimizer sgd "
                                  f"(got {show('optimizer', self.optimizer)})")
        elif self.nesterov and self.momentum == 0:
            raise ConfigError("--nesterov acts on nothing here: it needs --momentum > 0 "
                              "(got --momentum 0.0)")
        if self.resume and self.overwrite:
            raise ConfigError("--resume and --overwrite contradict each other: expected one "
                              "of them (continue the run in --out, or replace it)")

    # ------------------------------------------------------------------ derived values
    @property
    def base_lr(self) -> float:
        """``lr``, or the optimizer's default learning rate when it is not given."""
        return DEFAULT_LR[self.optimizer] if self.lr is None else self.lr

    # ------------------------------------------------------------------ dictionary forms
    @classmethod
    def option_fields(cls) -> dict[str, dataclasses.Field]:
        """Every option by its flat name (quantization options included), in CLI order."""
        out = {f.name: f for f in dataclasses.fields(cls) if "type" in f.metadata}
        out.update({f.name: f for f in dataclasses.fields(QuantConfig)})
        return out

    @classmethod
    def run_control_options(cls) -> tuple[str, ...]:
        return tuple(n for n, f in cls.option_fields().items() if f.metadata["run_control"])

    def to_dict(self, run_control: bool = True) -> dict:
        """The flat ``{option: value}`` form (``run_control=False`` leaves out, resume, ...
        out)."""
        quant = {f.name: getattr(self.quant, f.name) for f in dataclasses.fields(QuantConfig)}
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "quant"}
        out = {**own, **quant}
        if not run_control:
            for name in self.run_control_options():
                out.pop(name)
        return out

    def hyperparameters(self) -> dict:
        """What the run trains with: :meth:`to_dict` without the run-control options."""
        return self.to_dict(run_control=False)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """A configuration from a flat dict (a nested ``"quant"`` table is accepted too);
        an unknown key raises a ConfigError listing the known ones."""
        if not isinstance(data, dict):
            raise TypeError(f"TrainConfig.from_dict: expected a dict, got {type(data).__name__}")
        data = dict(data)
        nested = data.pop("quant", {})
        if not isinstance(nested, dict):
            raise TypeError(f"TrainConfig.from_dict: 'quant' must be a table, got {nested!r}")
        quant_names = {f.name for f in dataclasses.fields(QuantConfig)}
        own_names = {f.name for f in dataclasses.fields(cls)} - {"quant"}
        unknown = sorted(set(data) - quant_names - own_names) + sorted(set(nested) - quant_names)
        if unknown:
            raise ConfigError(f"unknown training option {unknown[0]!r}; known: "
                              f"{', '.join(sorted(quant_names | own_names))}")
        quant = {**nested, **{k: v for k, v in data.items() if k in quant_names}}
        return cls(quant=QuantConfig(**quant), **{k: v for k, v in data.items() if k in own_names})

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` (flat names), validated."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def differences(self, other: "TrainConfig", run_control: bool = False) -> dict:
        """``{option: (self's value, other's value)}`` where the two differ."""
        mine, theirs = self.to_dict(run_control), other.to_dict(run_control)
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}

    # JSON: strict (an infinite value is written as the string "inf")
    def to_json(self, run_control: bool = True) -> str:
        data = {k: ("inf" if isinstance(v, float) and math.isinf(v) and v > 0 else v)
                for k, v in self.to_dict(run_control).items()}
        return json.dumps(data, indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        return cls.from_dict(json.loads(text))

    # TOML: flat ``key = value`` lines; options at None (their default) are left out
    def to_toml(self, run_control: bool = True) -> str:
        lines = []
        for key, value in self.to_dict(run_control).items():
            if value is None:
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, float):
                text = "inf" if math.isinf(value) and value > 0 else repr(value)
            elif isinstance(value, int):
                text = str(value)
            else:
                text = json.dumps(value, ensure_ascii=False)   # a TOML basic string
            lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> "TrainConfig":
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def load(cls, path) -> "TrainConfig":
        """Read a ``.toml`` or ``.json`` configuration file (errors name the file)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            return cls.from_toml(text) if path.suffix == ".toml" else cls.from_json(text)
        except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"configuration file {str(path)!r}: {error}") from None


def _models():
    from .nn.models import MODELS

    return MODELS
