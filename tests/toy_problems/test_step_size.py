"""Optimal step sizes and SQNR of UniQ's quantizers (seed 003, eqs 3–10, Table 1), Lloyd–Max,
the ternary threshold against TWN."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from toy_problems.lloyd_max import lloyd_max, panter_dite_constant
from toy_problems.step_size import (
    DISTRIBUTIONS,
    SIGNALS,
    empirical_sqnr_db,
    lsq_init_step,
    main,
    mse_derivative,
    optimal_step_size,
    quantization_mse,
    quantize_activation,
    quantize_weight,
    sqnr_db,
)
from toy_problems.ternary_threshold import optimal_ternary_threshold, ternary_mse

# seed 003, Table 1, as printed: N -> (Δ_w^u, SQNR_w dB, Δ_a^u, SQNR_a dB)
PAPER_TABLE1 = {
    2: (1.596, 4.4, 1.224, 5.5),
    4: (0.996, 9.3, 0.651, 11.6),
    8: (0.586, 14.3, 0.353, 17.2),
    16: (0.335, 19.4, 0.193, 22.7),
}

LAWS = {"gaussian": stats.norm(), "laplace": stats.laplace(scale=1 / np.sqrt(2)),
        "uniform": stats.uniform(-np.sqrt(3), 2 * np.sqrt(3))}


@pytest.mark.parametrize("levels", sorted(PAPER_TABLE1))
def test_table1_of_seed_003_is_reproduced_at_the_printed_precision(levels):
    dw, sw, da, sa = PAPER_TABLE1[levels]
    assert round(optimal_step_size(levels, "gaussian", "weight"), 3) == dw
    assert round(sqnr_db(None, levels, "gaussian", "weight"), 1) == sw
    assert round(optimal_step_size(levels, "gaussian", "activation"), 3) == da
    assert round(sqnr_db(None, levels, "gaussian", "activation"), 1) == sa


def test_other_activation_sqnr_definitions_do_not_reproduce_table1():
    # signal power E[Y²] = ½ or E[X²] = 1 instead of Var(Y) = ½ − 1/(2π): 7.2 dB and 10.2 dB, not 5.5
    d = quantization_mse(optimal_step_size(2, signal="activation"), 2, signal="activation")
    assert round(10 * np.log10(0.5 / d), 1) != 5.5
    assert round(10 * np.log10(1.0 / d), 1) != 5.5
    assert round(10 * np.log10((0.5 - 1 / (2 * np.pi)) / d), 1) == 5.5


def _mse_by_quadrature(step, levels, law, signal):
    """E[(x − Q(x))²] with the literal quantizers of eqs 3 and 5, integrated cell by cell."""
    if signal == "weight":
        alpha = step * (levels - 1) / 2
        edges = [-np.inf] + [(k + 0.5) * step - alpha for k in range(levels - 1)] + [np.inf]
        level = [k * step - alpha for k in range(levels)]
    else:
        edges = [0.0] + [(k + 0.5) * step for k in range(levels - 1)] + [np.inf]
        level = [k * step for k in range(levels)]
    lo_s, hi_s = law.support()
    total = 0.0
    for a, b, q in zip(edges[:-1], edges[1:], level):
        a, b = max(a, lo_s), min(b, hi_s)  # quad cannot find a bounded support inside an infinite range
        if a >= b:
            continue
        total += integrate.quad(lambda x: (x - q) ** 2 * law.pdf(x), a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    return total


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("levels", [2, 3, 4, 7, 16])
def test_closed_form_mse_matches_quadrature_of_the_literal_quantizer(distribution, signal, levels):
    for step in (0.05, 0.3, 1.0, 2.5):
        ref = _mse_by_quadrature(step, levels, LAWS[distribution], signal)
        assert quantization_mse(step, levels, distribution, signal) == pytest.approx(ref, rel=1e-8, abs=1e-13)


@pytest.mark.parametrize("signal", SIGNALS)
def test_closed_form_mse_matches_monte_carlo_of_eqs_3_and_5(signal):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(400_000)
    for levels in (2, 3, 8):
        step = optimal_step_size(levels, "gaussian", signal)
        if signal == "weight":
            err = (x - quantize_weight(x, step, levels)) ** 2
        else:
            y = np.maximum(x, 0)
            err = (y - quantize_activation(y, step, levels)) ** 2
        assert abs(err.mean() - quantization_mse(step, levels, "gaussian", signal)) < 4 * err.std() / np.sqrt(x.size)


def test_weight_quantizer_levels_follow_eq_3():
    assert sorted(set(quantize_weight(np.linspace(-5, 5, 1001), 1.0, 4))) == [-1.5, -0.5, 0.5, 1.5]
    assert sorted(set(quantize_weight(np.linspace(-5, 5, 1001), 1.0, 3))) == [-1.0, 0.0, 1.0]
    assert sorted(set(quantize_activation(np.linspace(-1, 5, 1001), 0.5, 4))) == [0.0, 0.5, 1.0, 1.5]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([2, 3, 4, 5, 8, 16, 33]), st.sampled_from(DISTRIBUTIONS), st.sampled_from(SIGNALS),
       st.floats(0.01, 100.0))
def test_optimal_step_scales_linearly_with_the_standard_deviation(levels, distribution, signal, scale):
    # minimize D(Δ; sX) = E[(sX − Q(sX; Δ))²] directly (no unit-variance shortcut): D(Δ; sX) = s² D(Δ/s; X)
    # is an identity of the quantizer, so the minimizer is found numerically on the scaled problem
    unit = optimal_step_size(levels, distribution, signal)
    res = optimize.minimize_scalar(lambda d: scale ** 2 * quantization_mse(d / scale, levels, distribution, signal),
                                   bounds=(0.3 * unit * scale, 3 * unit * scale), method="bounded",
                                   options={"xatol": 1e-10 * unit * scale})
    assert res.x == pytest.approx(unit * scale, rel=1e-4)


def test_optimal_step_scales_with_the_sample_standard_deviation_by_monte_carlo():
    # an empirical optimum on scaled samples, with the literal quantizer of eq. 3
    rng = np.random.default_rng(1)
    x = 0.07 * rng.standard_normal(200_000)
    steps = np.linspace(0.8, 1.2, 81) * optimal_step_size(4) * 0.07
    mse = [np.mean((x - quantize_weight(x, s, 4)) ** 2) for s in steps]
    assert steps[int(np.argmin(mse))] == pytest.approx(optimal_step_size(4) * x.std(), rel=0.02)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 256), st.sampled_from(DISTRIBUTIONS), st.sampled_from(SIGNALS), st.floats(0.9, 1.1).filter(lambda f: abs(f - 1) > 1e-3))
def test_mse_at_the_optimum_is_below_the_mse_at_nearby_steps(levels, distribution, signal, factor):
    opt = optimal_step_size(levels, distribution, signal)
    assert quantization_mse(opt, levels, distribution, signal) < quantization_mse(opt * factor, levels, distribution, signal)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 64), st.sampled_from(DISTRIBUTIONS), st.sampled_from(SIGNALS), st.floats(0.2, 3.0))
def test_mse_derivative_matches_central_difference(levels, distribution, signal, rel):
    s = rel * optimal_step_size(levels, distribution, signal)
    h = 1e-6 * s
    fd = (quantization_mse(s + h, levels, distribution, signal) - quantization_mse(s - h, levels, distribution, signal)) / (2 * h)
    # abs: the uniform density jumps at √3, where D'' jumps and the central difference errs by O(h)
    assert mse_derivative(s, levels, distribution, signal) == pytest.approx(fd, rel=1e-5, abs=2e-6)


@pytest.mark.parametrize("levels", [2, 3, 4, 8, 16, 256])
def test_uniform_input_has_the_textbook_optimum(levels):
    # U(−√3, √3): Δ* = 2√3/N, D = Δ²/12, SQNR = 20 log10 N
    assert optimal_step_size(levels, "uniform") == pytest.approx(2 * np.sqrt(3) / levels, rel=1e-9)
    assert sqnr_db(None, levels, "uniform") == pytest.approx(20 * np.log10(levels), abs=1e-7)


def test_two_level_gaussian_optimum_is_twice_the_mean_absolute_value():
    # levels ±Δ/2 at the centroid E|X| = √(2/π); D = 1 − 2/π
    assert optimal_step_size(2) == pytest.approx(2 * np.sqrt(2 / np.pi), rel=1e-12)
    assert quantization_mse(optimal_step_size(2), 2) == pytest.approx(1 - 2 / np.pi, rel=1e-12)


def test_odd_weight_levels_reduce_to_activation_levels_on_the_half_line():
    # Q_w with N = 2M + 1 on x ≥ 0 is Q_a with M + 1 levels; D_w = 2 D_a (symmetric p)
    for m in (1, 2, 7):
        assert optimal_step_size(2 * m + 1) == pytest.approx(optimal_step_size(m + 1, signal="activation"), rel=1e-10)


def test_optimal_step_size_is_cached():
    optimal_step_size(64, "laplace", "weight")
    from tinyquant.quant.functional import optimal_unit_step

    hits = optimal_unit_step.cache_info().hits
    optimal_step_size(64, "laplace", "weight")
    assert optimal_unit_step.cache_info().hits == hits + 1


def test_empirical_sqnr_matches_sqnr_db():
    x = np.random.default_rng(2).standard_normal(500_000)
    step = optimal_step_size(8)
    assert empirical_sqnr_db(x, quantize_weight(x, step, 8)) == pytest.approx(sqnr_db(step, 8), abs=0.05)


def test_lsq_init_follows_its_definition():
    # 2E|X|/√Q_P: weights Q_P = 2^(b−1) − 1, activations 2^b − 1 with E[ReLU(X)] = 1/√(2π)
    assert lsq_init_step(4) == pytest.approx(2 * np.sqrt(2 / np.pi) / 1.0)
    assert lsq_init_step(8, signal="activation") == pytest.approx(2 / np.sqrt(2 * np.pi) / np.sqrt(7))
    with pytest.raises(ValueError, match="1-bit"):
        lsq_init_step(2)
    with pytest.raises(ValueError, match="power of two"):
        lsq_init_step(6)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("levels", [1, 0, -3])
def test_levels_below_two_raise(levels):
    with pytest.raises(ValueError, match="levels"):
        optimal_step_size(levels)
    with pytest.raises(ValueError, match="levels"):
        quantization_mse(0.5, levels, "gaussian", "weight")


def test_non_integer_levels_raise_type_error():
    with pytest.raises(TypeError, match="levels"):
        optimal_step_size(4.0)


def test_unknown_distribution_raises():
    with pytest.raises(ValueError, match="unknown distribution 'cauchy'"):
        optimal_step_size(4, "cauchy")
    with pytest.raises(ValueError, match="distribution"):
        sqnr_db(0.5, 4, "student")


def test_unknown_signal_and_bad_step_raise():
    with pytest.raises(ValueError, match="signal"):
        optimal_step_size(4, "gaussian", "gradient")
    with pytest.raises(ValueError, match="step"):
        quantization_mse(0.0, 4, "gaussian", "weight")
    with pytest.raises(ValueError, match="step"):
        quantization_mse(-1.0, 4, "gaussian", "weight")


# ----------------------------------------------------------------------------- Lloyd–Max and ternary

@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("levels", [2, 3, 4, 8, 32, 256])
def test_lloyd_max_satisfies_its_conditions_and_beats_the_uniform_optimum(distribution, signal, levels):
    lm = lloyd_max(levels, distribution, signal)
    assert lm.converged
    assert lm.mse <= quantization_mse(optimal_step_size(levels, distribution, signal), levels, distribution, signal) * (1 + 1e-12)
    law = LAWS[distribution]
    # centroid condition checked by quadrature on the interior cells
    for j in range(1, min(len(lm.levels), 6)):
        a, b = lm.thresholds[j], lm.thresholds[j + 1]
        if law.cdf(b) - law.cdf(a) < 1e-12:
            continue
        num = integrate.quad(lambda x: x * law.pdf(x), a, b, epsabs=1e-15)[0]
        den = integrate.quad(law.pdf, a, b, epsabs=1e-15)[0]
        assert lm.levels[j] == pytest.approx(num / den, rel=1e-6, abs=1e-9)


def test_lloyd_max_gaussian_matches_max_1960():
    # J. Max, "Quantizing for minimum distortion", IRE Trans. IT-6 (1960), Table I: N = 4 (MSE 0.1175, levels ±0.4528, ±1.510)
    assert lloyd_max(4).mse == pytest.approx(0.1175, abs=5e-5)
    np.testing.assert_allclose(lloyd_max(4).levels, [0.4528, 1.510], atol=5e-4)


def test_lloyd_max_approaches_the_panter_dite_law():
    # (∫φ^{1/3})³/12 = π√3/2 for the standard Gaussian; Laplace 4.5; uniform 1
    assert panter_dite_constant("gaussian") == pytest.approx(np.pi * np.sqrt(3) / 2, rel=1e-9)
    assert panter_dite_constant("laplace") == pytest.approx(4.5, rel=1e-9)
    ratio = lloyd_max(256).mse * 256 ** 2 / (np.pi * np.sqrt(3) / 2)
    assert 0.98 < ratio < 1.0


def test_optimal_ternary_threshold_closed_forms():
    assert optimal_ternary_threshold("laplace") == pytest.approx(1 / np.sqrt(2), rel=1e-10)  # t* = s
    assert optimal_ternary_threshold("uniform") == pytest.approx(np.sqrt(3) / 3, rel=1e-10)  # t* = c/3
    t = optimal_ternary_threshold("gaussian")
    lam = stats.norm.pdf(t) / stats.norm.sf(t)
    assert lam == pytest.approx(2 * t, rel=1e-10)
    assert t == pytest.approx(0.6120, abs=1e-4)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_optimal_ternary_threshold_is_half_the_optimal_three_level_step(distribution):
    t = optimal_ternary_threshold(distribution)
    assert t == pytest.approx(optimal_step_size(3, distribution) / 2, rel=1e-9)
    assert ternary_mse(t, distribution) == pytest.approx(quantization_mse(2 * t, 3, distribution), rel=1e-9)
    assert ternary_mse(t, distribution) < min(ternary_mse(0.9 * t, distribution), ternary_mse(1.1 * t, distribution))


@pytest.mark.parametrize("t", [5.0, 37.0, 38.0, 40.0, 100.0, 1e3, 1e8])
def test_ternary_mse_is_finite_and_tends_to_one_far_in_the_tail(t):
    # D(t) = 1 − 2G_1²/G_0 was nan from t = 38 (0/0); every weight maps to 0 and D → E[w²] = 1
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(50):
        x = mpmath.mpf(t)
        gauss = 1 - 2 * mpmath.npdf(x) ** 2 / mpmath.ncdf(-x)
        s = 1 / mpmath.sqrt(2)
        laplace = 1 - (x + s) ** 2 * mpmath.exp(-x / s)          # G_0 = ½e^{−x/s}, G_1 = ½(x + s)e^{−x/s}
    assert ternary_mse(t, "gaussian") == pytest.approx(float(gauss), rel=1e-15, abs=0)
    assert ternary_mse(t, "laplace") == pytest.approx(float(laplace), rel=1e-15, abs=0)
    assert ternary_mse(t, "uniform") == 1.0                          # beyond √3 nothing is kept


def test_twn_rule_is_within_one_percent_for_gaussian_and_uniform_but_not_laplace():
    from toy_problems.ternary_threshold import compare_with_twn

    rows = {r["distribution"]: r for r in compare_with_twn()}
    assert rows["gaussian"]["excess"] < 0.01 and rows["uniform"]["excess"] < 0.01
    assert rows["laplace"]["excess"] > 0.05
    assert rows["gaussian"]["ratio"] == pytest.approx(0.767, abs=1e-3)


@pytest.mark.slow
def test_command_prints_tables_and_writes_figures(tmp_path, capsys):
    assert main(["--fast", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Table 1 reproduced" in text and "Claims ledger" in text
    for name in ("sqnr_vs_step.png", "sqnr_vs_levels.png"):
        assert (tmp_path / name).stat().st_size > 1000
