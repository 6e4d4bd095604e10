"""Quantizer properties (levels, symmetry, idempotence, unbiased rounding) and the gradients
of every learnable quantizer parameter against the papers' formulas, written out here."""

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from tinyquant import Tensor, gradcheck
from tinyquant.quant import QUANTIZERS, get_quantizer
from tinyquant.quant.binary import XNORFunction
from tinyquant.quant.ternary import (
    TruncatedGaussianTernaryFunction,
    TTQFunction,
    truncated_gaussian_scale,
    truncated_gaussian_scale_grad,
)
from tinyquant.quant.uniform import LSQFunction, UniQActivationFunction, UniQWeightFunction
from tinyquant.quant.ste import get_ste

shapes = st.sampled_from([(5, 4), (3, 2, 3, 3), (8, 1), (2, 6, 3)])


def weights(dtype=np.float64):
    return shapes.flatmap(lambda s: arrays(dtype, s, elements=st.floats(-3, 3, allow_nan=False, width=32)))


def run(q, w):
    return q(Tensor(np.asarray(w))).data


def not_degenerate(w):
    # an all-equal or nearly-all-zero tensor has no meaningful scale
    return np.std(w) > 1e-3 and np.count_nonzero(np.abs(w) > 1e-3) >= 2


def member(out, levels):
    """Every entry of ``out`` equals one of ``levels`` (broadcast on a new last axis)."""
    levels = np.asarray(levels, dtype=np.float64)
    return np.all(np.any(np.isclose(out[..., None], levels, rtol=1e-6, atol=1e-7), axis=-1))


def expected_levels(name, q, w):
    """The output levels each quantizer may take, from its paper's definition."""
    if name in ("binary_connect", "stochastic_binary", "sign_activation"):
        return [-1.0, 1.0]
    if name == "xnor":
        a = np.mean(np.abs(w), axis=tuple(range(1, w.ndim)), keepdims=True)
        return np.stack([-a, a], axis=-1)
    if name == "twn":
        d = 0.7 * np.mean(np.abs(w))
        a = np.mean(np.abs(w)[np.abs(w) > d])
        return [-a, 0.0, a]
    if name == "ttq":
        return [-float(q.w_n.data), 0.0, float(q.w_p.data)]
    if name == "truncated_gaussian_ternary":
        mu, sigma = w.mean(), w.std(ddof=1)
        a = min(abs(float(q.delta.data)), 3 * sigma) / sigma
        s = mu + sigma * norm.pdf(a) / norm.sf(a)                # seed 001 eq. 10 (scipy's sf)
        return [-s, 0.0, s]
    if name == "uniq":
        n, d = q.num_levels, float(q.step.data)
        return [(2 * j - n + 1) * d / 2 for j in range(n)]        # seed 003 eq. 4
    if name == "uniq_activation":
        return [j * float(q.step.data) for j in range(q.num_levels)]
    if name in ("lsq", "lsq_activation"):
        return [j * float(q.s.data) for j in range(-q.qn, q.qp + 1)]
    if name == "dorefa":
        n = 2**q.bits - 1
        return [2 * j / n - 1 for j in range(n + 1)]              # seed 003 eq. 2
    if name == "dorefa_activation":
        n = 2**q.bits - 1
        return [j / n for j in range(n + 1)]
    raise KeyError(name)


BOUNDED = [n for n in QUANTIZERS if n not in ("deterministic_round", "stochastic_round")]


def make(name):
    kwargs = {"rng": 0} if name in ("stochastic_binary", "stochastic_round") else {}
    q = get_quantizer(name, **kwargs)
    if name.startswith("uniq"):
        # the level structure does not depend on Δ: fix it (initialization is tested below)
        q.step.data[...] = 0.37
        q.initialized[...] = True
        if name == "uniq_activation":
            q.seen_batches[...] = q.init_batches
    return q


@pytest.mark.parametrize("name", BOUNDED)
@settings(max_examples=30, deadline=None)
@given(w=weights())
def test_quantizer_outputs_take_only_its_levels_and_at_most_n_of_them(name, w):
    assume(not_degenerate(w))
    q = make(name)
    out = run(q, w)
    levels = expected_levels(name, q, w)
    assert member(out, levels), f"{name} produced values outside its levels"
    if name == "xnor":
        per_filter = out.reshape(out.shape[0], -1)
        assert all(len(np.unique(row)) <= 2 for row in per_filter)
    else:
        assert len(np.unique(out)) <= q.num_levels


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


SYMMETRIC = ["binary_connect", "xnor", "twn", "uniq", "dorefa", "deterministic_round"]


@pytest.mark.parametrize("name", SYMMETRIC)
@settings(max_examples=30, deadline=None)
@given(w=weights())
def test_symmetric_quantizers_are_odd_functions(name, w):
    assume(not_degenerate(w))
    q = make(name)
    out = run(q, w)
    # sign(0) = +1 is not odd at 0, and exact ties of a rounding could break oddness:
    # compare the entries away from both.
    keep = w != 0
    if name == "uniq":
        n, d = q.num_levels, float(q.step.data)
        u = (w + d * (n - 1) / 2) / d
        keep &= np.abs(u - np.floor(u) - 0.5) > 1e-6
    if name == "dorefa":
        t = np.tanh(w)
        v = (t / (2 * np.max(np.abs(t))) + 0.5) * 3
        keep &= np.abs(v - np.floor(v) - 0.5) > 1e-6
    np.testing.assert_allclose(run(q, -w)[keep], -out[keep], rtol=1e-12, atol=1e-12)


def test_sign_of_zero_is_plus_one_everywhere():
    zero = np.zeros((2, 3))
    assert np.all(run(get_quantizer("binary_connect"), zero) == 1)
    w = np.array([[0.0, 1.0, -2.0]])
    assert run(get_quantizer("xnor"), w)[0, 0] == pytest.approx(1.0)   # α·sign(0) = +α


IDEMPOTENT = ["binary_connect", "xnor", "twn", "uniq", "uniq_activation", "lsq", "lsq_activation",
              "deterministic_round"]


@pytest.mark.parametrize("name", IDEMPOTENT)
@settings(max_examples=30, deadline=None)
@given(w=weights())
def test_quantizers_are_idempotent_where_that_holds(name, w):
    assume(not_degenerate(w))
    q = make(name)
    once = run(q, w)
    np.testing.assert_allclose(run(q, once), once, rtol=1e-12, atol=1e-12)


def test_stochastic_round_is_unbiased_and_moves_at_most_one_step():
    # Var[Qs(x)] = Δ²q(1 − q) (seed 002 eq. 5), so the mean of n draws has sd Δ·√(q(1 − q)/n).
    delta, n = 0.25, 100_000
    x = np.array([0.03, -0.61, 1.1, 2.2])
    q = get_quantizer("stochastic_round", delta=delta, rng=np.random.default_rng(5))
    draws = run(q, np.broadcast_to(x, (n, x.size)).copy())
    assert np.all(np.abs(draws - x) < delta)
    frac = x / delta - np.floor(x / delta)
    sd_of_mean = delta * np.sqrt(frac * (1 - frac) / n)
    assert np.all(np.abs(draws.mean(axis=0) - x) <= 5 * sd_of_mean)


def test_stochastic_binary_is_plus_one_with_the_hard_sigmoid_probability():
    n, w = 100_000, np.array([-0.5, 0.0, 0.4, 1.3])
    q = get_quantizer("stochastic_binary", rng=3)
    draws = run(q, np.broadcast_to(w, (n, w.size)).copy())
    p = np.clip((w + 1) / 2, 0, 1)
    assert np.all(np.abs((draws == 1).mean(axis=0) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12)
    q.eval()
    assert run(q, w).tolist() == [-1.0, 1.0, 1.0, 1.0]


# ------------------------------------------------------------- gradients


def cotangent(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_ttq_scale_gradients_are_the_sums_over_their_regions():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5))
    g = cotangent(w.shape)
    wt, wp, wn = Tensor(w, requires_grad=True), Tensor(np.array(1.3), requires_grad=True), Tensor(np.array(0.7), requires_grad=True)
    (TTQFunction.apply(wt, wp, wn, t=0.05, ste=get_ste("identity")) * Tensor(g)).sum().backward()
    delta = 0.05 * np.abs(w).max()
    assert wp.grad == pytest.approx(g[w > delta].sum())                 # TTQ eq. 8
    assert wn.grad == pytest.approx(-g[w < -delta].sum())                # chain rule on −W_n
    np.testing.assert_allclose(wt.grad, g * np.where(w > delta, 1.3, np.where(w < -delta, 0.7, 1.0)))
    # the output is linear in W_p and W_n: central differences agree
    gradcheck(lambda a, b, c: TTQFunction.apply(a, b, c, t=0.05, ste=get_ste("identity")), w, 1.3, 0.7,
              wrt=[1, 2])


def test_xnor_gradient_is_alpha_times_ste_plus_the_path_through_alpha():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 4, 2))
    g = cotangent(w.shape, 2)
    wt = Tensor(w, requires_grad=True)
    (XNORFunction.apply(wt, ste=get_ste("clipped"), scale_grad=True) * Tensor(g)).sum().backward()
    n = w[0].size
    alpha = np.abs(w).reshape(3, -1).mean(1)[:, None, None]
    s = np.where(w >= 0, 1.0, -1.0)
    expected = alpha * (np.abs(w) <= 1) * g + s / n * (g * s).reshape(3, -1).sum(1)[:, None, None]
    np.testing.assert_allclose(wt.grad, expected, rtol=1e-12)


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


def test_without_gradient_correctness_the_weight_gradient_is_scaled_by_S():
    w = np.random.default_rng(3).normal(size=(5, 5))
    wt = Tensor(w, requires_grad=True)
    out = TruncatedGaussianTernaryFunction.apply(wt, Tensor(np.array(0.3)), correctness=False,
                                                 ste=get_ste("identity"))
    out.sum().backward()
    a = 0.3 / w.std(ddof=1)
    S = w.mean() + w.std(ddof=1) * norm.pdf(a) / norm.sf(a)
    np.testing.assert_allclose(wt.grad, S)


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


def test_trainable_threshold_starts_at_a_tenth_of_max_abs_weight():
    w = np.random.default_rng(4).normal(size=(4, 9))
    q = get_quantizer("truncated_gaussian_ternary")
    run(q, w)
    assert float(q.delta.data) == pytest.approx(0.1 * np.abs(w).max(), rel=1e-6)   # seed 001 Table I


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_uniq_step_gradient_is_equation_6(levels):
    rng = np.random.default_rng(levels)
    x = rng.normal(size=200) * 1.5
    step = 0.37
    g = cotangent(x.shape, 7)
    xt, st_ = Tensor(x, requires_grad=True), Tensor(np.array(step), requires_grad=True)
    (UniQWeightFunction.apply(xt, st_, levels=levels) * Tensor(g)).sum().backward()
    alpha = step * (levels - 1) / 2
    inside = np.abs(x) < alpha
    # seed 003 eq. 6; the clipped branch corrected from "sign(x)α" to sign(x)·α/Δ (see the docstring)
    dq = np.where(inside, -x / step + np.round(x / step - 0.5) + 0.5, np.sign(x) * (levels - 1) / 2)
    assert st_.grad == pytest.approx(np.sum(g * dq), rel=1e-10)
    np.testing.assert_array_equal(xt.grad, g * inside)
    # the corrected branch is the derivative of Q_w = ±α = ±Δ(N − 1)/2 in Δ
    eps = 1e-7
    out = lambda d: UniQWeightFunction.forward(type("C", (), {"save_for_backward": lambda *a: None})(), x, d, levels=levels)  # noqa: E731
    numeric = (out(step + eps) - out(step - eps)) / (2 * eps)
    np.testing.assert_allclose(numeric[~inside & (np.abs(x) > alpha + 1e-3)],
                               dq[~inside & (np.abs(x) > alpha + 1e-3)], rtol=1e-6)


def test_uniq_activation_step_gradient():
    x = np.abs(np.random.default_rng(8).normal(size=300)) * 2 - 0.2
    step, levels = 0.3, 4
    g = cotangent(x.shape, 9)
    xt, st_ = Tensor(x, requires_grad=True), Tensor(np.array(step), requires_grad=True)
    (UniQActivationFunction.apply(xt, st_, levels=levels) * Tensor(g)).sum().backward()
    top = (levels - 1) * step
    inside = (x > 0) & (x < top)
    dq = np.where(inside, np.round(x / step) - x / step, np.where(x >= top, levels - 1, 0.0))
    assert st_.grad == pytest.approx(np.sum(g * dq), rel=1e-10)


def test_uniq_with_the_clipped_ste_reproduces_the_papers_ste():
    x = np.random.default_rng(10).normal(size=500)
    g = cotangent(x.shape, 11)
    grads = []
    for ste in (None, get_ste("clipped")):
        xt = Tensor(x, requires_grad=True)
        (UniQWeightFunction.apply(xt, Tensor(np.array(0.4)), levels=4, ste=ste) * Tensor(g)).sum().backward()
        grads.append(xt.grad)
    np.testing.assert_array_equal(grads[0], grads[1])


def test_lsq_step_gradient_is_scaled_by_one_over_sqrt_n_qp():
    x = np.random.default_rng(12).normal(size=(10, 7))
    g = cotangent(x.shape, 13)
    s, qn, qp = 0.25, 2, 1
    xt, st_ = Tensor(x, requires_grad=True), Tensor(np.array(s), requires_grad=True)
    scale = 1 / math.sqrt(x.size * qp)
    (LSQFunction.apply(xt, st_, qn=qn, qp=qp, grad_scale=scale) * Tensor(g)).sum().backward()
    v = x / s
    dq = np.where(v <= -qn, -qn, np.where(v >= qp, qp, np.round(v) - v))   # LSQ eq. 3
    assert st_.grad == pytest.approx(scale * np.sum(g * dq), rel=1e-10)
    # the module uses N = number of weights and Q_p = 2^(b−1) − 1; init 2·E|x|/√Q_p
    q = get_quantizer("lsq", bits=3)
    run(q, x)
    assert float(q.s.data) == pytest.approx(2 * np.abs(x).mean() / math.sqrt(3), rel=1e-6)


def test_uniq_initial_step_is_the_optimal_unit_step_times_std():
    w = np.random.default_rng(14).normal(0, 0.2, size=(64, 32))
    q1 = get_quantizer("uniq", bits=1)
    run(q1, w)
    # N = 2: the MSE-optimal binary levels ±E|x| = ±σ√(2/π), so Δᵤ = 2√(2/π) (Table 1: 1.596)
    assert float(q1.step.data) == pytest.approx(2 * math.sqrt(2 / math.pi) * w.std(), rel=1e-4)
    assert round(2 * math.sqrt(2 / math.pi), 3) == 1.596
    for bits, table in [(2, 0.996), (3, 0.586), (4, 0.335)]:   # seed 003 Table 1, Δ_w^u
        q = get_quantizer("uniq", bits=bits)
        run(q, w)
        assert float(q.step.data) / w.std() == pytest.approx(table, abs=6e-4)


def test_uniq_activation_initial_step_follows_equation_10():
    x = np.maximum(np.random.default_rng(15).normal(size=(32, 50)), 0)
    for bits, table in [(1, 1.224), (2, 0.651), (3, 0.353), (4, 0.193)]:  # Table 1, Δ_a^u
        q = get_quantizer("uniq_activation", bits=bits)
        run(q, x)
        # eq. 10 with the printed 3-decimal constant (half a unit of its last digit, plus slack)
        assert float(q.step.data) / math.sqrt(2 * np.mean(x**2)) == pytest.approx(table, abs=6e-4)


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
