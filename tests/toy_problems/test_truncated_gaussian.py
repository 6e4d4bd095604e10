"""The truncated-Gaussian scale of seed 001 (eqs 5–10): closed form, stability, derivative, clipping,
the eq. 4 centroid, and the Gaussianity report."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

import mp_reference

from toy_problems.truncated_gaussian import (
    centroid_eq4,
    clip_threshold,
    clipped_scaling_factor,
    clipped_scaling_factor_grad,
    first_failure,
    inverse_mills_ratio,
    main,
    scaling_factor,
    scaling_factor_grad,
    scaling_factor_monte_carlo,
    scaling_factor_naive,
    tail_breakdown,
)
from toy_problems.weight_gaussianity import gaussianity_report

mus = st.floats(-2.0, 2.0)
sigmas = st.floats(0.01, 5.0)
ratios = st.floats(-5.0, 40.0)


def test_scaling_factor_at_zero_threshold_is_half_normal_mean():
    # E[w | w > μ] = μ + σ√(2/π)
    assert scaling_factor(0.3, 2.0, 0.0) == pytest.approx(0.3 + 2.0 * np.sqrt(2 / np.pi), rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(mus, sigmas, ratios)
# scipy 1.17's truncnorm failed the old 1e-12 test here: its standardized mean λ(29) is off by
# 1.2e-13 (relative, against mpmath at 50 digits), and S = μ + σλ cancels: |σλ/S| = 9.8 turns that
# into 1.2e-12 in S, while ours is off by 8e-16. The reference is therefore computed with mpmath.
@example(mu=-1.5, sigma=0.046875, a=29.0)
@example(mu=-2.0, sigma=0.0625, a=29.0)     # the same cancellation, found again by hypothesis
def test_scaling_factor_agrees_with_the_exact_truncated_normal_mean(mu, sigma, a):
    # the exact mean of the inputs as given (δ = a·σ rounded as scaling_factor sees it), in 50 digits;
    # tolerance: S = μ + σλ rounds with |error| ≲ a few ε·(|μ| + σλ), within rel 1e-12 of S unless the
    # sum cancels, and then |μ| + σλ ≤ 4 so the error is < 1e-14 ≤ abs 1e-12·σ (σ ≥ 0.01)
    delta = a * sigma
    ref = float(mp_reference.truncated_normal_mean(mu, sigma, delta, dps=50))
    assert scaling_factor(mu, sigma, delta) == pytest.approx(ref, rel=1e-12, abs=1e-12 * sigma)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 40.0))
def test_inverse_mills_ratio_agrees_with_log_space_reference_to_delta_over_sigma_40(a):
    ref = np.exp(stats.norm.logpdf(a) - special.log_ndtr(-a))
    lam = inverse_mills_ratio(a)
    assert np.isfinite(lam)
    assert lam == pytest.approx(ref, rel=5e-13)


def test_inverse_mills_ratio_matches_asymptotic_series_far_in_the_tail():
    # λ(α) = α + 1/α − 2/α³ + 10/α⁵ − 74/α⁷ + 706/α⁹ + O(α⁻¹¹) (coefficient of α⁻¹¹: −8162)
    a = np.array([30.0, 35.0, 40.0])
    series = a + 1 / a - 2 / a ** 3 + 10 / a ** 5 - 74 / a ** 7 + 706 / a ** 9
    np.testing.assert_allclose(inverse_mills_ratio(a), series, rtol=2e-13)


@settings(max_examples=200, deadline=None)
@given(mus, sigmas, ratios)
def test_scaling_factor_is_at_least_mu_plus_delta(mu, sigma, a):
    delta = a * sigma
    assert scaling_factor(mu, sigma, delta) >= mu + delta - 1e-12 * (abs(mu) + abs(delta) + sigma)


@settings(max_examples=200, deadline=None)
@given(mus, sigmas, st.floats(-5.0, 39.0), st.floats(0.01, 1.0))
def test_scaling_factor_increases_with_delta(mu, sigma, a, step):
    d0, d1 = a * sigma, (a + step) * sigma
    assert scaling_factor(mu, sigma, d1) > scaling_factor(mu, sigma, d0)


@settings(max_examples=200, deadline=None)
@given(mus, sigmas, st.floats(-5.0, 40.0))
def test_scaling_factor_grad_matches_central_difference(mu, sigma, a):
    delta, h = a * sigma, 1e-6 * sigma
    fd = (scaling_factor(mu, sigma, delta + h) - scaling_factor(mu, sigma, delta - h)) / (2 * h)
    g = scaling_factor_grad(mu, sigma, delta)
    # central difference error ~ ε·S/h plus h²·S''' ; S ≤ |μ| + σ(|α| + 1)
    assert g == pytest.approx(fd, abs=1e-7 * (abs(mu) / sigma + abs(a) + 2))


@settings(max_examples=100, deadline=None)
@given(st.floats(-5.0, 10.0))
def test_scaling_factor_grad_is_one_minus_truncated_variance(a):
    # ∂S/∂δ = 1 − Var[w | w > μ + δ]/σ² (module docstring), Var from scipy
    var = stats.truncnorm(a, np.inf).var()
    assert scaling_factor_grad(0.0, 1.0, a) == pytest.approx(1 - var, abs=1e-9)


def test_scaling_factor_grad_matches_asymptotic_series_far_in_the_tail():
    # ∂S/∂δ = 1 − 1/α² + 6/α⁴ − 50/α⁶ + 518/α⁸ + O(α⁻¹⁰); the λ(λ − α) form loses ≈ α²ε
    a = np.array([30.0, 35.0, 40.0])
    series = 1 - 1 / a ** 2 + 6 / a ** 4 - 50 / a ** 6 + 518 / a ** 8
    np.testing.assert_allclose(scaling_factor_grad(0.0, 1.0, a), series, rtol=3e-11)


@pytest.mark.parametrize("a", [40.0, 1e4, 1e7, 1e8, 1e15])
def test_scaling_factor_grad_matches_mpmath_at_huge_thresholds(a):
    # the literal λ(λ − α) had relative error 3e-8 at α = 1e4, 2.4 % at 1e7 and the wrong sign at 1e8
    mpmath = pytest.importorskip("mpmath")
    mu, sigma = 0.3, 0.25
    with mpmath.workdps(80):
        x = mpmath.mpf(a)
        lam = mpmath.npdf(x) / mpmath.ncdf(-x)
        ref = float(lam * (lam - x))
    assert scaling_factor_grad(mu, sigma, a * sigma) == pytest.approx(ref, rel=4e-15)
    assert 0 < scaling_factor_grad(mu, sigma, a * sigma) <= 1


def test_stable_forms_stay_finite_where_the_naive_form_overflows():
    a = np.linspace(0, 40, 401)
    assert np.all(np.isfinite(scaling_factor(0.0, 1.0, a)))
    assert np.all(np.isfinite(scaling_factor_grad(0.0, 1.0, a)))
    assert not np.isfinite(scaling_factor_naive(0.0, 1.0, 9.0))           # 1 − Φ(9) rounds to 0
    assert not np.isfinite(scaling_factor_naive(0.0, 1.0, 39.0, form="sf"))  # φ and Q underflow
    assert not np.isfinite(scaling_factor_naive(0.0, 1.0, 8.0, dtype=np.float32))


def test_tail_breakdown_locates_the_failures_of_the_naive_forms():
    a = np.linspace(0, 40, 801)
    tb = tail_breakdown(a)
    assert np.max(tb["stable"]) < 1e-12
    # 1 − Φ(α) in float64 has relative error ≈ 1.1e-16/Q(α): > 1e-6 once Q < 1e-10 (α ≈ 6.4)
    assert 6.0 <= first_failure(a, tb["naive"], 1e-6) <= 7.0
    # Φ(α) == 1.0 exactly from Q(α) < 2^-54 ≈ 5.6e-17, α ≈ 8.3
    assert 8.2 <= first_failure(a, tb["naive"], np.inf) <= 8.4
    assert 37.0 <= first_failure(a, tb["naive_sf"], np.inf) <= 39.0
    assert np.isnan(first_failure(a, tb["stable"], np.inf))


def test_scaling_factor_agrees_with_monte_carlo():
    est, se, n = scaling_factor_monte_carlo(0.2, 0.5, 0.5, 400_000, seed=1)
    assert n > 1000
    assert abs(est - scaling_factor(0.2, 0.5, 0.5)) < 4 * se


def test_monte_carlo_finds_no_sample_far_in_the_tail():
    est, se, n = scaling_factor_monte_carlo(0.0, 1.0, 6.0, 10_000, seed=0)
    assert n == 0 and np.isnan(est)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.2, 3.0), st.floats(0.0, 3.0))
def test_centroid_eq4_matches_quadrature(mu, sigma, a):
    delta = a * sigma
    pdf = stats.norm(mu, sigma).pdf
    lo, hi = mu - delta, mu + delta
    f = lambda x: abs(x) * pdf(x)  # noqa: E731
    up = integrate.quad(f, hi, np.inf)[0] if hi >= 0 else integrate.quad(f, hi, 0)[0] + integrate.quad(f, 0, np.inf)[0]
    down = integrate.quad(f, -np.inf, lo)[0] if lo <= 0 else integrate.quad(f, -np.inf, 0)[0] + integrate.quad(f, 0, lo)[0]
    num = up + down
    den = 2 * stats.norm.sf(a)
    assert centroid_eq4(mu, sigma, delta) == pytest.approx(num / den, rel=1e-7)


@settings(max_examples=50, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(0.5, 2.0), st.floats(0.0, 3.0))
def test_eq7_exceeds_the_eq4_centroid_by_exactly_mu_when_the_tails_straddle_zero(mu, sigma, a):
    delta = max(a * sigma, abs(mu))  # μ − δ ≤ 0 ≤ μ + δ
    assert scaling_factor(mu, sigma, delta) - centroid_eq4(mu, sigma, delta) == pytest.approx(mu, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(sigmas, st.floats(-10.0, 10.0))
def test_clipped_scaling_factor_is_even_and_saturates_at_three_sigma(sigma, a):
    d = a * sigma
    assert clipped_scaling_factor(0.0, sigma, d) == pytest.approx(clipped_scaling_factor(0.0, sigma, -d), rel=1e-14)
    assert clipped_scaling_factor(0.0, sigma, d) <= scaling_factor(0.0, sigma, 3 * sigma) * (1 + 1e-14)
    assert clip_threshold(d, sigma) == pytest.approx(min(abs(d), 3 * sigma))


@settings(max_examples=100, deadline=None)
@given(sigmas, st.floats(-2.99, 2.99).filter(lambda a: abs(a) > 1e-3))
def test_clipped_grad_matches_central_difference_inside_the_clip(sigma, a):
    d, h = a * sigma, 1e-7 * sigma
    fd = (clipped_scaling_factor(0.0, sigma, d + h) - clipped_scaling_factor(0.0, sigma, d - h)) / (2 * h)
    assert clipped_scaling_factor_grad(0.0, sigma, d) == pytest.approx(fd, abs=1e-6)


def test_clipped_grad_vanishes_on_the_plateau_and_at_zero():
    assert clipped_scaling_factor_grad(0.0, 1.0, np.array([3.0, 4.0, -5.0, 0.0])).tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_nonpositive_sigma_raises(sigma):
    with pytest.raises(ValueError, match="sigma"):
        scaling_factor(0.0, sigma, 0.5)
    with pytest.raises(ValueError, match="sigma"):
        scaling_factor_grad(0.0, sigma, 0.5)


def test_bad_inputs_raise_naming_the_argument():
    with pytest.raises(ValueError, match="delta"):
        scaling_factor(0.0, 1.0, np.nan)
    with pytest.raises(TypeError, match="mu"):
        scaling_factor("a", 1.0, 0.5)
    with pytest.raises(TypeError, match="mu"):
        scaling_factor(True, 1.0, 0.5)
    with pytest.raises(ValueError, match="broadcast"):
        scaling_factor(np.zeros(2), 1.0, np.zeros(3))


def test_arrays_broadcast():
    out = scaling_factor(np.zeros((2, 1)), 1.0, np.array([0.0, 1.0, 2.0]))
    assert out.shape == (2, 3)
    assert scaling_factor_grad(np.zeros((2, 1)), 1.0, np.array([0.0, 1.0, 2.0])).shape == (2, 3)


# ----------------------------------------------------------------------------- gaussianity report

def test_gaussianity_report_separates_gaussian_from_heavy_tailed_weights():
    rng = np.random.default_rng(0)
    weights = {"gauss": rng.normal(0, 0.05, 20_000), "t3": rng.standard_t(3, 20_000) * 0.05}
    rows = {r["layer"]: r for r in gaussianity_report(weights, seed=0)}
    g, t = rows["gauss"], rows["t3"]
    assert g["shapiro_p"] > 1e-3 and t["shapiro_p"] < 1e-10
    assert g["shapiro_w"] > t["shapiro_w"]
    assert abs(g["gap_se"]) < 4          # S is the centroid of Gaussian weights, within sampling error
    assert abs(t["gap"]) > 0.1 and abs(t["gap_se"]) > 4
    assert g["subsample"] == 5000 and g["n"] == 20_000


def test_gaussianity_report_is_reproducible_with_a_seed():
    w = {"a": np.random.default_rng(3).normal(size=8000)}
    assert gaussianity_report(w, seed=5) == gaussianity_report(w, seed=5)


def test_gaussianity_report_rejects_bad_input():
    with pytest.raises(TypeError, match="weights"):
        gaussianity_report([np.zeros(10)])
    with pytest.raises(ValueError, match="constant"):
        gaussianity_report({"z": np.ones(10)})
    with pytest.raises(ValueError, match="threshold_fraction"):
        gaussianity_report({"a": np.arange(10.0)}, threshold_fraction=1.5)


@pytest.mark.slow
def test_command_prints_tables_and_writes_figures(tmp_path, capsys):
    assert main(["--fast", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Claims ledger" in text and "| Eq. 7" in text
    for name in ("fig3_scaling_factor.png", "tail_breakdown.png", "weight_histograms.png"):
        assert (tmp_path / name).stat().st_size > 1000
