"""STE analysis: seed 004's Lemma 1 and Lemma 2 checked against derivations written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from tinyquant.quant.ste import STES, get_ste
from toy_problems import ste_analysis as sa


def sech2_variance(k: float) -> float:
    """Var[sech²(kX)], X ~ N(0, 1), by direct quadrature (independent of the module)."""
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    g = lambda x: 1 / math.cosh(k * x) ** 2  # noqa: E731
    m1 = integrate.quad(lambda x: g(x) * pdf(x), -10, 10, points=[0], limit=400)[0]
    m2 = integrate.quad(lambda x: g(x) ** 2 * pdf(x), -10, 10, points=[0], limit=400)[0]
    return m2 - m1 * m1


@pytest.mark.parametrize("f", [0.2, 0.5, 1.0])
def test_ab_tanh_derivative_variance_is_f_squared_k_squared_var_sech2(f):
    expected = f * f * 100 * sech2_variance(10.0)
    assert sa.gaussian_variance_of_derivative("ab_tanh", f, k=10.0) == pytest.approx(expected, rel=1e-5)


def test_lemma1_as_printed_does_not_hold_the_variance_grows_with_f():
    variances = [sa.gaussian_variance_of_derivative("ab_tanh", f) for f in sa.BLEND_FACTORS]
    assert variances[0] == pytest.approx(0.0, abs=1e-12)
    assert all(b > a for a, b in zip(variances, variances[1:]))
    # the ratio to f² is constant: Var ∝ f²
    ratios = [v / f**2 for v, f in zip(variances[1:], sa.BLEND_FACTORS[1:])]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-6)


def test_monte_carlo_variance_agrees_with_quadrature():
    x = np.random.default_rng(0).standard_normal(400_000)
    for name in sa.BLENDED:
        mc = sa.sample_variance_of_derivative(name, 0.6, x)
        quad = sa.gaussian_variance_of_derivative(name, 0.6)
        assert mc == pytest.approx(quad, rel=0.03)


@pytest.mark.parametrize("name", sa.BLENDED)
@settings(max_examples=10, deadline=None)
@given(f=st.floats(0.05, 1.0), k=st.floats(0.5, 20.0))
def test_measured_lipschitz_constant_matches_the_derived_maximum_and_the_lemma2_bound(name, f, k):
    measured = sa.lipschitz_constant(name, f, k, points=200_001)
    assert measured == pytest.approx(sa.lipschitz_closed_form(name, f, k), rel=1e-3)
    assert measured <= f * k * k


def test_ab_tanh_lipschitz_constant_is_four_over_three_root_three_f_k_squared():
    # max_u 2 sech²(u) tanh(u) at tanh² u = 1/3: 2 · (2/3) · (1/√3) = 4/(3√3)
    assert sa.lipschitz_closed_form("ab_tanh", 1.0, 1.0) == pytest.approx(4 / (3 * math.sqrt(3)))


def test_ledger_pins_the_verdicts_on_lemmas_1_and_2():
    l1 = sa.lemma1_table({"mc": np.random.default_rng(1).standard_normal(5000)})
    l2 = sa.lemma2_table(k_values=(10.0,), f_values=(0.5,))
    cost = sa.backward_cost(n=10_000, repeats=1)
    rows = {r["claim"].split(":")[0]: r["verdict"] for r in sa.ledger(l1, l2, cost)}
    assert rows["Lemma 1"].startswith("does not hold as printed")
    assert rows["Lemma 2"].startswith("holds")
    assert "Table 3" in rows


def test_backward_cost_is_measured_for_every_registered_ste():
    rows = sa.backward_cost(n=5_000, repeats=1)
    assert [r["ste"] for r in rows] == list(STES)
    assert all(r["ns per element"] > 0 for r in rows)


def test_bad_sigma_is_rejected():
    with pytest.raises(ValueError, match="sigma must be positive"):
        sa.gaussian_variance_of_derivative("ab_tanh", 0.5, sigma=0.0)


def test_command_fast_mode_writes_tables_and_figures(tmp_path, capsys):
    assert sa.main(["--fast", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "## Claims ledger" in text and "Lemma 2" in text
    assert (tmp_path / "ste_zoo.png").is_file() and (tmp_path / "fig3_blended_stes.png").is_file()


def test_every_registered_ste_derivative_matches_the_numerical_derivative_of_f():
    x = np.linspace(-1.9, 1.9, 381)
    for name in STES:
        ste = get_ste(name)
        away = np.all(np.abs(x[:, None] - np.asarray(ste.kinks or [99.0])[None, :]) > 1e-3, axis=1)
        h = 1e-6
        numeric = (ste.F(x[away] + h) - ste.F(x[away] - h)) / (2 * h)
        np.testing.assert_allclose(ste.dF(x[away]), numeric, rtol=1e-5, atol=1e-6, err_msg=name)
