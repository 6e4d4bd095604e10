"""The registry's declared facts: complete, consistent with each class, and read by every consumer
(the CLI's choices and checks, the listings)."""

import argparse
import inspect

import pytest

from tinyquant.quant import QUANTIZERS, STES, get_quantizer, get_ste, list_quantizers, list_stes, ste_table
from tinyquant.quant import config
from tinyquant.quant.registry import MAX_BITS, quantizer_names, register_quantizer, register_ste


def test_every_quantizer_is_listed_with_its_formula_and_reference():
    # regression: list_quantizers() read the first docstring line and raised IndexError on
    # LSQActivation, which had no docstring
    rows = list_quantizers()
    assert [r["name"] for r in rows] == list(QUANTIZERS)
    for r in rows:
        assert r["formula"] and r["levels"] and r["reference"], r
        assert r["kind"] in ("weight", "activation")


@pytest.mark.parametrize("name", sorted(STES))
def test_ste_table_shows_each_whole_formula_with_both_f_and_its_derivative(name):
    # regression: the table took the docstring's first paragraph and lost F' of swish and
    # ab_arctan, and both F and F' of fourier
    table = ste_table()
    facts = STES[name].facts
    assert "F(x) =" in facts.formula and "F'(x) =" in facts.formula
    assert facts.formula in table and facts.reference in table
    row = next(r for r in list_stes() if r["name"] == name)
    assert row["formula"] == facts.formula


def test_the_formulas_that_were_cut_are_now_whole():
    formulas = {r["name"]: r["formula"] for r in list_stes()}
    assert "F'(x) = β·(2 − βx·tanh(βx/2))/(1 + cosh(βx))" in formulas["swish"]
    assert "F'(x) = (1 − f)/2 + f·k/(arctan(2k)·(1 + (k·x)²))" in formulas["ab_arctan"]
    assert "sin((2i+1)·ω·x)" in formulas["fourier"] and "cos((2i+1)·ω·x)" in formulas["fourier"]


@pytest.mark.parametrize("name", list(QUANTIZERS))
def test_declared_ste_and_bits_facts_match_what_the_constructor_accepts(name):
    cls, facts = QUANTIZERS[name], QUANTIZERS[name].facts
    extra = {"rng": 0} if facts.stochastic else {}
    if facts.takes_ste:
        q = get_quantizer(name, ste="tanh", **extra)
        assert q.ste.name == "tanh"
        default = inspect.signature(cls.__init__).parameters["ste"].default
        assert facts.default_ste == default
    else:
        with pytest.raises(TypeError):
            get_quantizer(name, ste="tanh", **extra)
    if facts.bits is None:
        assert facts.num_levels == get_quantizer(name, **extra).num_levels or not facts.bounded
        return
    low, high = facts.bits
    assert high <= MAX_BITS
    assert get_quantizer(name, bits=low).num_levels >= 2
    assert get_quantizer(name, bits=high).num_levels <= 2**high
    for bad in (low - 1, high + 1):
        with pytest.raises(ValueError, match=rf"{name}: bits must be .* got {bad}"):
            get_quantizer(name, bits=bad)


def test_bit_widths_have_an_upper_bound_that_names_the_argument():
    # issue 12: --weight-bits 31 ran forever, --act-bits 40 asked for 8 TiB
    with pytest.raises(ValueError, match=r"uniq: bits must be <= 16 \(2\^16 levels\), got 31"):
        get_quantizer("uniq", bits=31)
    with pytest.raises(ValueError, match=r"uniq_activation: bits must be <= 16"):
        get_quantizer("uniq_activation", bits=40)
    with pytest.raises(ValueError, match=r"uniq: levels must be <= 2\^16"):
        get_quantizer("uniq", levels=2**17)


def test_cli_choices_and_checks_are_read_from_the_registry():
    names = quantizer_names("weight")
    assert config.WEIGHT_QUANTIZERS == names
    assert set(config.ACTIVATION_QUANTIZERS) == {n for n, c in QUANTIZERS.items() if c.facts.kind == "activation"}
    assert set(names) | set(config.ACTIVATION_QUANTIZERS) == set(QUANTIZERS)
    assert set(config.TAKES_STE) == {n for n in names if QUANTIZERS[n].facts.takes_ste}
    assert set(config.TAKES_BITS) == {n for n in names if QUANTIZERS[n].facts.bits is not None}
    parser = config.add_quant_arguments(argparse.ArgumentParser())
    choices = {a.dest: a.choices for a in parser._actions if a.choices}
    assert tuple(choices["quantizer"]) == ("none",) + names
    assert tuple(choices["act_quantizer"]) == ("auto",) + config.ACTIVATION_QUANTIZERS
    assert tuple(choices["ste"]) == tuple(STES)


def test_inconsistent_declarations_are_refused_when_the_class_is_defined():
    from tinyquant.quant import Quantizer

    with pytest.raises(ValueError, match="exactly one of bits or num_levels"):
        register_quantizer(kind="weight", levels="?", symmetric=True, idempotent=True,
                           reference=("x", "y"), formula="q")
    with pytest.raises(ValueError, match="kind must be one of"):
        register_quantizer(kind="weights", num_levels=2, levels="?", symmetric=True, idempotent=True,
                           reference=("x", "y"), formula="q")
    with pytest.raises(ValueError, match="bits must satisfy"):
        register_quantizer(kind="weight", bits=(1, MAX_BITS + 1), levels="?", symmetric=True,
                           idempotent=True, reference=("x", "y"), formula="q")

    class Deterministic(Quantizer):
        name = "test_only_deterministic"

    with pytest.raises(ValueError, match="must take an rng"):
        register_quantizer(kind="weight", num_levels=2, levels="?", symmetric=True, idempotent=True,
                           stochastic=True, reference=("x", "y"), formula="q")(Deterministic)
    assert "test_only_deterministic" not in QUANTIZERS

    class Existing(Quantizer):
        name = "xnor"

    with pytest.raises(ValueError, match="new, non-empty name"):
        register_quantizer(kind="weight", num_levels=2, levels="?", symmetric=True, idempotent=True,
                           reference=("x", "y"), formula="q")(Existing)
    with pytest.raises(ValueError, match="both F"):
        register_ste(formula="F(x) = x", reference="nowhere")


def test_get_ste_and_get_quantizer_read_the_same_registry():
    assert all(get_ste(name).facts is STES[name].facts for name in STES)
    assert all(type(get_quantizer(n, **({"rng": 0} if c.facts.stochastic else {}))) is c
               for n, c in QUANTIZERS.items())
