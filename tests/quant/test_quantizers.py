"""Quantizer behaviour the generated tests (test_zoo.py) do not cover: rounding on several grids,
sign(0), the truncated-Gaussian threshold's hardtanh branches and scale accuracy, UniQ's STE,
the step initializations of seed 003 Table 5, and bad arguments. Expected values are written
here from the papers' formulas."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from strategies import float_arrays, shapes

from tinyquant import Tensor, gradcheck
from tinyquant.quant import get_quantizer
from tinyquant.quant.ternary import (
    TruncatedGaussianTernaryFunction,
    truncated_gaussian_scale,
    truncated_gaussian_scale_grad,
)
from tinyquant.quant.uniform import UniQWeightFunction
from tinyquant.quant.ste import get_ste


def weights():
    return float_arrays(shapes(min_dims=1, max_dims=4))


def run(q, w):
    return q(Tensor(np.asarray(w))).data


@pytest.mark.parametrize("name", ["deterministic_round", "stochastic_round"])
@settings(max_examples=30, deadline=None)
@given(w=weights(), delta=st.sampled_from([0.1, 0.25, 1.0]))
def test_rounding_quantizers_output_grid_points_at_most_one_step_away(name, w, delta):
    q = get_quantizer(name, delta=delta, **({"rng": 1} if name == "stochastic_round" else {}))
    out = run(q, w)
    k = out / delta
    assert np.allclose(k, np.round(k), atol=1e-9)
    bound = delta / 2 if name == "deterministic_round" else delta
    assert np.all(np.abs(out - w) <= bound * (1 + 1e-9))


def test_sign_of_zero_is_plus_one_everywhere():
    zero = np.zeros((2, 3))
    assert np.all(run(get_quantizer("binary_connect"), zero) == 1)
    w = np.array([[0.0, 1.0, -2.0]])
    assert run(get_quantizer("xnor"), w)[0, 0] == pytest.approx(1.0)   # α·sign(0) = +α


# ------------------------------------------------------------- gradients


def cotangent(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_threshold_gradient_is_the_truncated_gaussian_formula():
    rng = np.random.default_rng(2)
    w = rng.normal(0.05, 0.3, size=(8, 6))
    g = cotangent(w.shape, 3)
    mu, sigma = w.mean(), w.std(ddof=1)
    for delta in (0.1, -0.2, 0.5, 2.0):   # 2.0 > 3σ: clipped by hardtanh, no gradient
        wt, dt = Tensor(w, requires_grad=True), Tensor(np.array(delta), requires_grad=True)
        out = TruncatedGaussianTernaryFunction.apply(wt, dt, correctness=True, ste=get_ste("identity"))
        (out * Tensor(g)).sum().backward()
        dc = min(abs(delta), 3 * sigma)
        tern = (w > mu + dc).astype(float) - (w < mu - dc)
        a = dc / sigma
        lam = norm.pdf(a) / norm.sf(a)                        # φ/(1 − Φ), seed 001 eq. 10
        dS = lam * (lam - a)                                  # d/dδ[μ + σλ(δ/σ)]
        expected = (g * tern).sum() * dS * np.sign(delta) * (abs(delta) < 3 * sigma)
        assert dt.grad == pytest.approx(expected, rel=1e-10, abs=1e-14)
        np.testing.assert_allclose(wt.grad, g)                # eq. 15: S·(1/S) = 1
        if abs(delta) < 3 * sigma:  # away from the ternarization jumps, central differences agree
            gradcheck(lambda a_, b_: TruncatedGaussianTernaryFunction.apply(
                a_, b_, correctness=True, ste=get_ste("identity")), w, delta, wrt=[1], eps=1e-7)


def test_truncated_gaussian_scale_is_finite_and_accurate_up_to_delta_over_sigma_40():
    a = np.array([0.0, 1.0, 5.0, 10.0, 20.0, 30.0, 40.0])
    # asymptotic series of the inverse Mills ratio: λ(a) = a + 1/a − 2/a³ + 10/a⁵ − 74/a⁷ + 706/a⁹ − 8162/a¹¹
    series = a[3:] + 1 / a[3:] - 2 / a[3:] ** 3 + 10 / a[3:] ** 5 - 74 / a[3:] ** 7 + 706 / a[3:] ** 9 - 8162 / a[3:] ** 11
    got = truncated_gaussian_scale(0.0, 1.0, a)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[:3], norm.pdf(a[:3]) / norm.sf(a[:3]), rtol=1e-13)
    np.testing.assert_allclose(got[4:], series[1:], rtol=1e-12)
    assert got[3] == pytest.approx(series[0], rel=1e-7)
    # λ'(a) = λ(λ − a) from the series: 1 − 1/a² + 6/a⁴ − 50/a⁶ + 518/a⁸ …  (d/da of the series)
    slope = 1 - 1 / a[4:] ** 2 + 6 / a[4:] ** 4 - 50 / a[4:] ** 6 + 518 / a[4:] ** 8
    np.testing.assert_allclose(truncated_gaussian_scale_grad(0.0, 1.0, a[4:]), slope, rtol=1e-9)
    # the naive formula with 1 − Φ computed as 1 − cdf breaks down far before 40
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = norm.pdf(40.0) / (1 - norm.cdf(40.0))
    assert not np.isfinite(naive)
    # scale with μ and σ: S(μ, σ, δ) = μ + σλ(δ/σ)
    assert truncated_gaussian_scale(0.5, 2.0, 80.0) == pytest.approx(0.5 + 2 * got[-1], rel=1e-14)


def test_uniq_with_the_clipped_ste_reproduces_the_papers_ste():
    x = np.random.default_rng(10).normal(size=500)
    g = cotangent(x.shape, 11)
    grads = []
    for ste in (None, get_ste("clipped")):
        xt = Tensor(x, requires_grad=True)
        (UniQWeightFunction.apply(xt, Tensor(np.array(0.4)), levels=4, ste=ste) * Tensor(g)).sum().backward()
        grads.append(xt.grad)
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_uniq_step_init_lsq_is_two_mean_abs_over_sqrt_qp_for_weights(bits):
    # seed 003 §5.3: LSQ's init 2·E|X|/√Q_P, Q_P = 2^(bits−1) − 1 for weights
    w = np.random.default_rng(16).normal(0, 0.3, size=(40, 20))
    q = get_quantizer("uniq", bits=bits, step_init="lsq")
    run(q, w)
    assert float(q.step.data) == pytest.approx(2 * np.abs(w).mean() / math.sqrt(2 ** (bits - 1) - 1), rel=1e-6)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_uniq_activation_step_init_lsq_uses_qp_two_to_the_bits_minus_one(bits):
    x = np.maximum(np.random.default_rng(17).normal(size=(32, 50)), 0)
    q = get_quantizer("uniq_activation", bits=bits, step_init="lsq")
    run(q, x)
    assert float(q.step.data) == pytest.approx(2 * np.abs(x).mean() / math.sqrt(2**bits - 1), rel=1e-6)


@pytest.mark.parametrize("name", ["uniq", "uniq_activation"])
@pytest.mark.parametrize("value", [0.1, "0.2"])
def test_uniq_fixed_step_init_sets_that_step_whatever_the_input(name, value):
    x = np.abs(np.random.default_rng(18).normal(0, 5.0, size=(16, 16)))
    q = get_quantizer(name, bits=2, step_init=value)
    run(q, x)
    assert float(q.step.data) == pytest.approx(float(value), rel=1e-7)


@pytest.mark.parametrize("value", ["best", -0.1, 0, float("nan"), True])
def test_bad_step_init_names_the_argument_and_value(value):
    with pytest.raises(ValueError, match=r"step_init .*" + re.escape(repr(value))):
        get_quantizer("uniq", bits=2, step_init=value)


def test_uniq_lsq_step_init_needs_two_bits():
    with pytest.raises(ValueError, match="needs >= 2 bits"):
        get_quantizer("uniq", bits=1, step_init="lsq")


# ------------------------------------------------------------- bad input


def test_unknown_quantizer_lists_the_available_ones():
    with pytest.raises(ValueError) as err:
        get_quantizer("binarize-everything")
    for name in ("xnor", "ttq", "uniq", "truncated_gaussian_ternary", "stochastic_round"):
        assert name in str(err.value)


@pytest.mark.parametrize("name,kwargs,error,match", [
    ("uniq", {"bits": 0}, ValueError, "bits must be >= 1, got 0"),
    ("uniq_activation", {"bits": -1}, ValueError, "bits"),
    ("dorefa", {"bits": 0}, ValueError, "bits"),
    ("lsq", {"bits": 1}, ValueError, "bits must be >= 2"),
    ("uniq", {"levels": 3}, ValueError, "even"),
    ("uniq", {"levels": 5}, ValueError, "no level at 0"),
    ("uniq", {"bits": 2.5}, TypeError, "integer"),
    ("ttq", {"t": -0.1}, ValueError, "threshold factor t must be in"),
    ("truncated_gaussian_ternary", {"init_factor": -0.1}, ValueError, "negative threshold"),
    ("deterministic_round", {"delta": -1.0}, ValueError, "delta"),
    ("xnor", {"ste": "nope"}, ValueError, "available"),
])
def test_bad_quantizer_arguments_raise_clear_errors(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        get_quantizer(name, **kwargs)


def test_quantizers_reject_non_tensor_input():
    with pytest.raises(TypeError, match="tinyquant.Tensor"):
        get_quantizer("xnor")(np.ones((2, 2)))


@pytest.mark.parametrize("name", ["twn", "ttq", "truncated_gaussian_ternary"])
def test_ternary_staircase_option_centres_the_kernel_on_the_thresholds(name):
    # ste.py's staircase rule, made true for the ternarizers: with the polynomial kernel the
    # default surrogate peaks at w = 0 (where the output is 0); staircase=True peaks at ±Δ
    w = np.linspace(-1, 1, 2001)
    grads = {}
    for staircase in (False, True):
        q = get_quantizer(name, ste="polynomial", staircase=staircase)
        q(Tensor(w))                                          # initializes TTQ's scales, δ
        wt = Tensor(w, requires_grad=True)
        q(wt).sum().backward()
        grads[staircase] = wt.grad
        out = q.quantize(w)
    jumps = w[1:][np.diff(out) != 0]                           # where the output jumps: ±Δ
    assert len(jumps) == 2
    assert abs(w[np.argmax(grads[False])]) < 1e-9             # the sign kernel at 0
    peaks = w[np.argsort(grads[True])[-2:]]
    for peak in peaks:
        assert np.min(np.abs(peak - jumps)) <= 2 * (w[1] - w[0])
    assert grads[True][np.argmin(np.abs(w))] == pytest.approx(0.0, abs=1e-9)   # flat where Q is 0


def test_uniq_printed_eq6_branch_is_sign_x_times_alpha():
    # eq. 6 prints sign(x)·α for |x| ≥ α; the derivative of ±α = ±Δ(N − 1)/2 in Δ is sign(x)(N − 1)/2
    x = np.array([-3.0, -2.0, 2.5, 4.0])                       # all clipped at Δ = 0.5, N = 4
    step, n = 0.5, 4
    grads = {}
    for eq6 in ("derived", "printed"):
        st_ = Tensor(np.array(step), requires_grad=True)
        UniQWeightFunction.apply(Tensor(x), st_, levels=n, eq6=eq6).sum().backward()
        grads[eq6] = float(st_.grad)
    assert grads["derived"] == pytest.approx(np.sum(np.sign(x)) * (n - 1) / 2)
    assert grads["printed"] == pytest.approx(np.sum(np.sign(x)) * step * (n - 1) / 2)
    with pytest.raises(ValueError, match="eq6 must be"):
        get_quantizer("uniq", eq6="as-printed")
