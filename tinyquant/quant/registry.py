"""The registry: every quantizer and STE by name, with its facts declared on the class.

A quantizer or STE joins the zoo with a decorator on its class, which states the facts every
consumer reads -- the CLI's choices and validation (:mod:`~tinyquant.quant.config`), the
listings (``list_quantizers()``, ``ste_table()``) and the generated tests (``tests/quant/``)::

    @register_quantizer(kind="weight", takes_ste=True, levels="{−1, +1}", symmetric=True,
                        idempotent=True, reference=("seed 002", "§3"), formula="w_b = sign(w)")
    class BinaryConnect(Quantizer): ...

The facts live in ``cls.facts`` (a frozen :class:`QuantizerFacts` or :class:`STEFacts`);
there is no second list of names anywhere. ``get_quantizer("ttq", ste="polynomial")`` builds
one; an unknown name raises a ValueError listing the available ones.

This module imports nothing from the quantizers (they import it), so it can be read alone.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

__all__ = [
    "QuantizerFacts", "STEFacts", "QUANTIZERS", "STES", "ACTIVATION_QUANTIZERS", "MAX_BITS",
    "register_quantizer", "register_ste", "get_quantizer", "list_quantizers", "quantizer_names",
    "quantizer_facts",
]

#: the largest bit width any quantizer accepts: 2^16 levels is far past every paper's range,
#: and larger N overflows the int64 level codes of nothing but wastes memory in the staircases
MAX_BITS = 16

KINDS = ("weight", "activation")


@dataclass(frozen=True)
class QuantizerFacts:
    """What a quantizer is, stated once on its class.

    name        registry name (``cls.name``)
    kind        "weight" or "activation"
    takes_ste   accepts an ``ste=`` argument (a surrogate for ∂Q/∂x)
    default_ste the STE used when none is given (a registry name, or None: the paper's own)
    bits        (lowest, highest) valid ``bits``, or None when the level count is fixed
    levels      the level set, in plain text
    num_levels  the number of levels when it does not depend on ``bits`` (else None)
    symmetric   Q(−x) = −Q(x) away from sign(0) and ties (an odd function)
    idempotent  Q(Q(x)) = Q(x) once its data-dependent parameters are fixed
    bounded     the output takes finitely many values (False for rounding on the grid ΔZ)
    stochastic  draws from a random stream in training mode (``rng=`` argument)
    parameters  names of its learned parameters (steps, scales, thresholds)
    reference   (paper, equation), e.g. ("seed 003", "eqs. 3–4")
    formula     the forward in plain text
    options     constructor keywords the CLI may set (read from the signature)
    """

    name: str
    kind: str
    takes_ste: bool
    default_ste: str | None
    bits: tuple[int, int] | None
    levels: str
    num_levels: int | None
    symmetric: bool
    idempotent: bool
    bounded: bool
    stochastic: bool
    parameters: tuple[str, ...]
    reference: tuple[str, str]
    formula: str
    options: tuple[str, ...] = field(default=())

    @property
    def citation(self) -> str:
        return ", ".join(self.reference)


@dataclass(frozen=True)
class STEFacts:
    """What an STE is: its name, soft forward F and derivative F' in plain text, its source."""

    name: str
    formula: str
    reference: str
    defaults: dict

    @property
    def citation(self) -> str:
        return self.reference


#: every registered quantizer class by name, in registration order
QUANTIZERS: dict[str, type] = {}
#: every registered STE class by name, in registration order
STES: dict[str, type] = {}


def _init_keywords(cls) -> tuple[str, ...]:
    params = inspect.signature(cls.__init__).parameters
    return tuple(p for p in params if p != "self" and params[p].kind is not inspect.Parameter.VAR_KEYWORD)


def register_quantizer(*, kind: str, levels: str, symmetric: bool, idempotent: bool,
                       reference: tuple[str, str], formula: str, bits: tuple[int, int] | None = None,
                       num_levels: int | None = None, bounded: bool = True, stochastic: bool = False,
                       parameters=()):
    """Class decorator: declare a quantizer's facts and add it to :data:`QUANTIZERS`.

    ``takes_ste`` and ``default_ste`` are read from the constructor's signature (an ``ste``
    keyword and its default), so they cannot disagree with what the class accepts; a
    ``stochastic`` quantizer must take an ``rng``. Inconsistent declarations raise at import.
    """
    if kind not in KINDS:
        raise ValueError(f"register_quantizer: kind must be one of {KINDS}, got {kind!r}")
    if bits is not None and not (1 <= bits[0] <= bits[1] <= MAX_BITS):
        raise ValueError(f"register_quantizer: bits must satisfy 1 <= low <= high <= {MAX_BITS}, got {bits}")
    if (bits is None) == (num_levels is None) and bounded:
        raise ValueError("register_quantizer: a bounded quantizer declares exactly one of bits or num_levels")

    def decorate(cls):
        name = cls.name
        if not name or name in QUANTIZERS:
            raise ValueError(f"register_quantizer: {cls.__name__} needs a new, non-empty name, got {name!r}")
        keywords = _init_keywords(cls)
        if stochastic and "rng" not in keywords:
            raise ValueError(f"register_quantizer: stochastic {name!r} must take an rng argument")
        sig = inspect.signature(cls.__init__).parameters
        default_ste = sig["ste"].default if "ste" in sig else None
        if default_ste is inspect.Parameter.empty:
            default_ste = None
        cls.facts = QuantizerFacts(
            name=name, kind=kind, takes_ste="ste" in keywords, default_ste=default_ste, bits=bits,
            levels=levels, num_levels=num_levels, symmetric=symmetric, idempotent=idempotent,
            bounded=bounded, stochastic=stochastic, parameters=tuple(parameters),
            reference=tuple(reference), formula=formula, options=keywords)
        QUANTIZERS[name] = cls
        return cls

    return decorate


def register_ste(*, formula: str, reference: str):
    """Class decorator: declare an STE's formula (F and F') and source; add it to :data:`STES`."""
    if "F(x)" not in formula or "F'(x)" not in formula:
        raise ValueError(f"register_ste: the formula must state both F(x) and F'(x), got {formula!r}")

    def decorate(cls):
        if not cls.name or cls.name in STES:
            raise ValueError(f"register_ste: {cls.__name__} needs a new, non-empty name, got {cls.name!r}")
        cls.facts = STEFacts(name=cls.name, formula=formula, reference=reference, defaults=dict(cls.defaults))
        STES[cls.name] = cls
        return cls

    return decorate


def _load() -> None:
    """Import the modules whose classes register themselves (a no-op once imported)."""
    from . import binary, sign_activation, ternary, uniform  # noqa: F401


def quantizer_names(kind: str | None = None, **facts) -> tuple[str, ...]:
    """Registered names, optionally of one ``kind`` and with the given fact values
    (``quantizer_names("weight", takes_ste=True)``)."""
    _load()
    return tuple(n for n, c in QUANTIZERS.items()
                 if (kind is None or c.facts.kind == kind)
                 and all(getattr(c.facts, k) == v for k, v in facts.items()))


def quantizer_facts(name: str) -> QuantizerFacts:
    """The facts of a registered quantizer (the name normalized as ``get_quantizer`` does)."""
    return _lookup(name, "quantizer_facts").facts


def _lookup(name, owner):
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be a string, got {type(name).__name__}")
    _load()
    key = name.lower().replace("-", "_")
    if key not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {name!r}; available: {', '.join(QUANTIZERS)}")
    return QUANTIZERS[key]


def get_quantizer(name: str, **kwargs):
    """A new quantizer Module by registry name (keyword arguments go to its constructor)."""
    return _lookup(name, "get_quantizer")(**kwargs)


def list_quantizers() -> list[dict]:
    """One row per registered quantizer: its name, class and every declared fact."""
    _load()
    rows = []
    for n, c in QUANTIZERS.items():
        f = c.facts
        bits = "" if f.bits is None else f"{f.bits[0]}–{f.bits[1]}"
        rows.append({"name": n, "class": c.__name__, "kind": f.kind, "levels": f.levels,
                     "bits": bits, "takes_ste": f.takes_ste, "default_ste": f.default_ste,
                     "symmetric": f.symmetric, "idempotent": f.idempotent,
                     "reference": f.citation, "formula": f.formula})
    return rows


def __getattr__(name):
    # the activation quantizers' names, computed when asked (the classes register on import)
    if name == "ACTIVATION_QUANTIZERS":
        return quantizer_names("activation")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
