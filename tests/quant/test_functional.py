"""The one-way math of tinyquant.quant.functional against independent references written here:
brute-force nearest levels, quadrature of the literal quantizers, seed 003's Table 1 as printed,
and mpmath at high precision."""

import ast
import pathlib
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate, optimize, stats

from tinyquant.quant import functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
values = arrays(np.float64, st.integers(1, 40), elements=st.floats(-20, 20, allow_nan=False))


def nearest(x, levels):
    """The nearest of ``levels`` to each x (brute force), and a mask of the x that are not
    within 1e-9 of a tie (where the rounding convention, not the staircase, decides)."""
    levels = np.asarray(levels, dtype=float)
    d = np.sort(np.abs(np.asarray(x)[..., None] - levels), axis=-1)
    clear = d[..., 1] - d[..., 0] > 1e-9 if levels.size > 1 else np.ones(np.shape(x), bool)
    return levels[np.argmin(np.abs(np.asarray(x)[..., None] - levels), axis=-1)], clear


def assert_nearest(got, x, levels):
    want, clear = nearest(x, levels)
    np.testing.assert_allclose(np.asarray(got)[clear], want[clear], atol=1e-12)


def test_sign_of_zero_is_plus_one_and_dtype_is_kept():
    for dtype in (np.float32, np.float64):
        x = np.array([-2.0, -0.0, 0.0, 1e-30, 3.0], dtype=dtype)
        out = F.sign(x)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, [-1, 1, 1, 1, 1])


@given(values, st.floats(0, 5), st.floats(-2, 2))
def test_ternarize_is_one_above_minus_one_below_and_zero_between(w, delta, mu):
    t = F.ternarize(w, delta, mu)
    expected = [1 if v > mu + delta else -1 if v < mu - delta else 0 for v in w]
    np.testing.assert_array_equal(t, expected)


@settings(max_examples=60)
@given(values, st.floats(0.05, 3), st.integers(2, 17))
def test_weight_staircase_rounds_to_the_nearest_of_its_levels(x, step, levels):
    # seed 003, eq. 3: levels (k − (N − 1)/2)Δ, k = 0 … N − 1; Q_w is the nearest one
    grid = (np.arange(levels) - (levels - 1) / 2) * step
    assert_nearest(F.quantize_weight(x, step, levels), x, grid)


@settings(max_examples=60)
@given(values, st.floats(0.05, 3), st.integers(2, 17))
def test_activation_staircase_rounds_to_the_nearest_of_its_levels(x, step, levels):
    grid = np.arange(levels) * step                     # seed 003, eq. 5: 0, Δ, …, (N − 1)Δ
    assert_nearest(F.quantize_activation(x, step, levels), x, grid)


def test_even_weight_levels_are_odd_multiples_of_half_a_step_and_codes_match_eq_4():
    x = np.linspace(-5, 5, 1001)
    k = F.weight_index(x, 0.5, 8)
    q = F.quantize_weight(x, 0.5, 8)
    np.testing.assert_allclose(q, (2 * k - 7) * 0.5 / 2)              # q̂_w·Δ/2, eq. 4
    assert set(np.unique(q)) == {s * 0.25 for s in (-7, -5, -3, -1, 1, 3, 5, 7)}


@given(values, st.floats(0.05, 3), st.integers(1, 6), st.booleans())
def test_lsq_index_is_the_nearest_integer_in_its_range(x, step, bits, signed):
    if signed and bits == 1:
        return
    qn, qp = F.lsq_bounds(bits, signed)
    assert qn + qp + 1 == (2**bits if signed else 2**bits)
    assert_nearest(F.lsq_index(x, step, qn, qp), x / step, np.arange(-qn, qp + 1))


def test_lsq_init_step_is_twice_the_mean_magnitude_over_root_qp():
    # Gaussian weights: E|x| = √(2/π); 3-bit signed Q_p = 3
    assert F.lsq_init_step(np.sqrt(2 / np.pi), F.lsq_bounds(3, True)[1]) == pytest.approx(2 * np.sqrt(2 / np.pi) / np.sqrt(3))


def _literal_mse(step, levels, signal):
    """E[(x − Q(x))²] by quadrature of the literal quantizer, breaking at every decision level."""
    if signal == "weight":
        q, lo = (lambda x: F.quantize_weight(x, step, levels)), -np.inf
        breaks = (np.arange(1, levels) - levels / 2) * step
    else:
        q, lo = (lambda x: F.quantize_activation(x, step, levels)), 0.0
        breaks = (np.arange(1, levels) - 0.5) * step
    edges = [lo, *breaks, np.inf]
    f = lambda x: (x - q(x)) ** 2 * stats.norm.pdf(x)  # noqa: E731
    return sum(integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("signal", ["weight", "activation"])
@pytest.mark.parametrize("levels", [2, 3, 4, 8])
def test_mse_and_its_derivative_match_quadrature_of_the_literal_quantizer(signal, levels):
    for step in (0.3, 0.9, 1.7):
        assert F.quantization_mse(step, levels, signal) == pytest.approx(_literal_mse(step, levels, signal), rel=1e-9)
        h = 1e-4
        fd = (_literal_mse(step + h, levels, signal) - _literal_mse(step - h, levels, signal)) / (2 * h)
        assert F.quantization_mse_grad(step, levels, signal) == pytest.approx(fd, rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("signal", ["weight", "activation"])
@pytest.mark.parametrize("levels", [2, 4, 8])
def test_optimal_unit_step_minimizes_the_quadrature_mse(signal, levels):
    res = optimize.minimize_scalar(lambda s: _literal_mse(s, levels, signal), bounds=(0.05, 3.0),
                                   method="bounded", options={"xatol": 1e-10})
    assert F.optimal_unit_step(levels, signal) == pytest.approx(res.x, rel=1e-5)


# seed 003, Table 1 as printed: N -> (Δ_w^u, SQNR_w dB, Δ_a^u, SQNR_a dB)
TABLE1 = {2: (1.596, 4.4, 1.224, 5.5), 4: (0.996, 9.3, 0.651, 11.6), 8: (0.586, 14.3, 0.353, 17.2),
          16: (0.335, 19.4, 0.193, 22.7)}


@pytest.mark.parametrize("levels", sorted(TABLE1))
def test_optimal_unit_steps_and_sqnr_reproduce_table_1_of_seed_003(levels):
    dw, sw, da, sa = TABLE1[levels]
    step_w, step_a = F.optimal_unit_step(levels, "weight"), F.optimal_unit_step(levels, "activation")
    assert abs(step_w - dw) <= 0.0005 + 1e-9 and abs(step_a - da) <= 0.0005 + 1e-9
    relu_var = 0.5 - 1 / (2 * np.pi)                     # Var(ReLU(X)), X ~ N(0, 1)
    assert F.unit_signal_variance("activation") == pytest.approx(relu_var, rel=1e-14)
    assert round(float(F.sqnr_db(1.0, F.quantization_mse(step_w, levels, "weight"))), 1) == sw
    assert round(float(F.sqnr_db(relu_var, F.quantization_mse(step_a, levels, "activation"))), 1) == sa


def test_empirical_sqnr_uses_the_variance_not_the_power():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, 10_000)                     # non-zero mean: Var(x) ≈ 1, E[x²] ≈ 10
    q = np.round(x * 4) / 4
    mse = np.mean((x - q) ** 2)
    assert F.empirical_sqnr_db(x, q) == pytest.approx(10 * np.log10(np.var(x) / mse), rel=1e-12)
    assert abs(F.empirical_sqnr_db(x, q) - 10 * np.log10(np.mean(x**2) / mse)) > 9
    assert F.empirical_sqnr_db(x, x) == np.inf


def _mp_lambda(a):
    a = mpmath.mpf(a)
    return mpmath.npdf(a) / mpmath.ncdf(-a)


@pytest.mark.parametrize("a", [-30.0, -5.0, 0.0, 1.0, 5.0, 8.5, 38.0, 40.0, 1e3, 1e8, 1e15])
def test_inverse_mills_ratio_matches_mpmath_everywhere(a):
    with mpmath.workdps(80):         # e^{−a²/2} needs the ~32 digits of a²/2 at a = 1e15
        ref = float(_mp_lambda(a))
    assert float(F.inverse_mills_ratio(a)) == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("a", [-30.0, -5.0, 0.0, 2.999, 3.0, 5.0, 40.0, 1e4, 1e7, 1e8, 1e15])
def test_inverse_mills_ratio_derivative_matches_mpmath_far_into_the_tail(a):
    # λ′ = λ(λ − a): the literal difference had relative error 3e-8 at 1e4, 2.4 % at 1e7, wrong sign at 1e8
    with mpmath.workdps(80):
        lam = _mp_lambda(a)
        ref = float(lam * (lam - a))
    assert float(F.inverse_mills_ratio_grad(a)) == pytest.approx(ref, rel=4e-15)


def test_inverse_mills_ratio_derivative_tends_to_one_minus_one_over_a_squared():
    a = np.array([1e20, 1e100, 1e300])
    np.testing.assert_allclose(F.inverse_mills_ratio_grad(a), 1.0, rtol=5e-16, atol=0)   # 1 − 1/a² ≈ 1
    assert 1 - float(F.inverse_mills_ratio_grad(1e3)) == pytest.approx(1e-6 - 6e-12, rel=1e-9)


def test_truncated_gaussian_scale_is_mu_plus_sigma_lambda_and_matches_truncnorm():
    for mu, sigma, delta in ((0.0, 1.0, 0.5), (0.1, 0.3, 0.9), (-2.0, 4.0, 3.0)):
        ref = stats.truncnorm(delta / sigma, np.inf, loc=mu, scale=sigma).mean()
        assert float(F.truncated_gaussian_scale(mu, sigma, delta)) == pytest.approx(ref, rel=1e-12)


def test_clip_threshold_is_hardtanh_of_the_magnitude_with_its_subgradient():
    d = np.array([-4.0, -1.0, 0.0, 1.0, 2.9, 3.0, 7.0])
    np.testing.assert_array_equal(F.clip_threshold(d, 1.0), [3, 1, 0, 1, 2.9, 3, 3])
    np.testing.assert_array_equal(F.clip_threshold_grad(d, 1.0), [0, -1, 0, 1, 1, 0, 0])


def test_the_framework_never_imports_the_sandbox():
    # statically: no import statement in tinyquant/ names toy_problems
    offenders = []
    for path in (ROOT / "tinyquant").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names if n.split(".")[0] == "toy_problems"]
    assert offenders == []
    # dynamically: building and running every quantizer loads no toy_problems module
    code = ("import sys, numpy as np; from tinyquant import Tensor; from tinyquant.quant import QUANTIZERS, get_quantizer\n"
            "for name in QUANTIZERS: get_quantizer(name)(Tensor(np.linspace(-1, 1, 16).reshape(4, 4)))\n"
            "print([m for m in sys.modules if m.split('.')[0] == 'toy_problems'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "", "OPENBLAS_NUM_THREADS": "1"})
    assert out.stdout.strip() == "[]"
