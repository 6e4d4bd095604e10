"""Straight-through estimators: F' is the derivative of F, documented limits, the staircase rule,
the schedules. Expected values are written here from the papers' formulas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import broadcastable_pairs, near

from tinyquant.quant import STES, get_ste, staircase_derivative
from tinyquant.quant.schedules import SCHEDULES, STEScheduler, apply_schedule

# every STE, at its defaults and at a few non-default parameters (the scheduled end points)
VARIANTS = [(name, {}) for name in STES] + [
    ("ab_tanh", {"f": 0.0}), ("ab_tanh", {"f": 1.0}), ("ab_tanh", {"f": 0.8}),
    ("ab_arctan", {"f": 0.0}), ("ab_arctan", {"f": 1.0}), ("ede", {"t": 10.0, "k": 1.0}),
    ("reste", {"o": 3.0}), ("reste", {"o": 2.0}), ("clipped", {"c": 0.5}), ("leaky", {"slope": 0.3}),
    ("fourier", {"terms": 3, "omega": 1.0}), ("tanh", {"k": 3.0}),
]


def away_from_kinks(x, kinks, margin=1e-4):
    return ~near(x, kinks, margin)


@pytest.mark.parametrize("name,params", VARIANTS, ids=[f"{n}{p or ''}" for n, p in VARIANTS])
@settings(max_examples=25, deadline=None)
@given(xs=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=30))
def test_ste_backward_is_the_numerical_derivative_of_its_soft_forward(name, params, xs):
    ste = get_ste(name, **params)
    x = np.array(xs, dtype=np.float64)
    x = x[away_from_kinks(x, ste.kinks)]
    eps = 1e-6
    numeric = (ste.F(x + eps) - ste.F(x - eps)) / (2 * eps)     # central difference, float64
    np.testing.assert_allclose(ste.dF(x), numeric, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["identity", "polynomial", "tanh", "sigmoid", "leaky",
                                  "polynomial_ste", "identity_ste", "Leaky-STE"])
def test_seed_000_ste_names_resolve(name):
    assert get_ste(name).name == name.lower().replace("-", "_").removesuffix("_ste")


def test_unknown_ste_name_lists_the_available_ones():
    with pytest.raises(ValueError) as err:
        get_ste("nonexistent")
    for name in ("identity", "ab_tanh", "reste", "fourier"):
        assert name in str(err.value)


def test_registry_holds_every_ste_the_issue_names():
    assert {"identity", "clipped", "leaky", "polynomial", "tanh", "sigmoid", "arctan", "swish", "ede",
            "reste", "ab_tanh", "ab_arctan", "fourier"} <= set(STES)


def test_bad_ste_parameters_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="c must be"):
        get_ste("clipped", c=-1.0)
    with pytest.raises(ValueError, match="f must be"):
        get_ste("ab_tanh", f=1.5)
    with pytest.raises(TypeError, match="unknown parameter"):
        get_ste("tanh", beta=2.0)
    with pytest.raises(ValueError, match="terms"):
        get_ste("fourier", terms=0)


x_grid = np.linspace(-3, 3, 601)


def test_ab_tanh_with_f_zero_is_the_identity_and_with_f_one_is_k_sech_squared():
    k = 10.0
    ste0, ste1 = get_ste("ab_tanh", f=0.0, k=k), get_ste("ab_tanh", f=1.0, k=k)
    np.testing.assert_array_equal(ste0.F(x_grid), x_grid)
    np.testing.assert_array_equal(ste0.dF(x_grid), 1.0)
    np.testing.assert_allclose(ste1.dF(x_grid), k / np.cosh(k * x_grid) ** 2, rtol=1e-12)  # k·sech²(kx)
    np.testing.assert_allclose(ste1.F(x_grid), np.tanh(k * x_grid), rtol=1e-12)


def test_ab_arctan_is_normalized_so_that_F_of_two_is_one_and_has_slope_half_at_f_zero():
    # seed 004 eq. 5 as printed: ((1 − f)/2)·x + f·arctan(kx)/arctan(2k)
    for f in (0.0, 0.2, 0.5, 1.0):
        ste = get_ste("ab_arctan", f=f, k=10.0)
        assert ste.F(np.array(2.0)) == pytest.approx(1.0, rel=1e-12)
        assert ste.F(np.array(-2.0)) == pytest.approx(-1.0, rel=1e-12)
    np.testing.assert_allclose(get_ste("ab_arctan", f=0.0).dF(x_grid), 0.5)
    ste = get_ste("ab_arctan", f=1.0, k=10.0)
    np.testing.assert_allclose(ste.dF(x_grid), 10 / (math.atan(20) * (1 + 100 * x_grid**2)), rtol=1e-12)


def test_ab_tanh_second_derivative_is_minus_two_f_k_squared_sech_squared_tanh():
    # Lemma 2 prints F'' = f·k²·sech²·tanh; differentiating eq. 4 gives the factor −2.
    f, k, eps = 0.6, 10.0, 1e-6
    ste = get_ste("ab_tanh", f=f, k=k)
    x = np.linspace(-0.5, 0.5, 41)
    numeric = (ste.dF(x + eps) - ste.dF(x - eps)) / (2 * eps)
    sech2 = 1 - np.tanh(k * x) ** 2
    np.testing.assert_allclose(numeric, -2 * f * k**2 * sech2 * np.tanh(k * x), rtol=1e-5, atol=1e-4)
    assert np.max(np.abs(numeric)) <= f * k**2  # the lemma's bound L ≤ f·k² still holds


@pytest.mark.parametrize("name", sorted(STES))
def test_every_ste_derivative_is_finite_and_warning_free_far_from_zero(name):
    # latent weights can be large (no clipping): cosh² overflows above |kx| ≈ 355
    x = np.array([-1e6, -1e3, -400.0, 400.0, 1e3, 1e6])
    with np.errstate(over="raise", divide="raise", invalid="raise"):   # underflow to 0 is fine
        d = get_ste(name).dF(x)
    assert np.all(np.isfinite(d))


def test_clipped_window_includes_its_boundary_as_a_parameter():
    assert get_ste("clipped").dF(np.array([1.0, -1.0, 1.0001])).tolist() == [1.0, 1.0, 0.0]
    assert get_ste("clipped", inclusive=False).dF(np.array([1.0, -1.0, 0.999])).tolist() == [0.0, 0.0, 1.0]


def test_polynomial_is_bireal_approxsign():
    x = np.linspace(-1.5, 1.5, 301)
    expected = np.where(np.abs(x) <= 1, 2 - 2 * np.abs(x), 0.0)        # Bi-Real Net eq. 4
    np.testing.assert_allclose(get_ste("polynomial").dF(x), expected, atol=1e-15)


def test_swish_peak_is_beta_and_its_forward_tends_to_sign():
    ste = get_ste("swish", beta=5.0)
    assert ste.dF(np.array(0.0)) == pytest.approx(5.0)       # β(2 − 0)/(1 + cosh 0) = β
    np.testing.assert_allclose(ste.F(np.array([-20.0, 20.0])), [-1.0, 1.0], atol=1e-12)


def test_reste_with_power_one_is_the_clipped_estimator_with_window_threshold():
    ste = get_ste("reste", o=1.0)
    x = np.linspace(-2, 2, 401)
    x = x[away_from_kinks(x, ste.kinks)]
    np.testing.assert_allclose(ste.dF(x), (np.abs(x) <= 1.5).astype(float))


def test_ede_ends_as_a_steep_tanh():
    ste = get_ste("ede")
    apply_schedule(ste, 1.0)
    assert (ste.t, ste.k) == pytest.approx((10.0, 1.0))
    assert ste.dF(np.array(0.0)) == pytest.approx(10.0)


# ------------------------------------------------------------ staircase rule


@pytest.mark.parametrize("name,params", VARIANTS, ids=[f"{n}{p or ''}" for n, p in VARIANTS])
def test_staircase_rule_reduces_to_the_single_kernel_for_sign(name, params):
    ste = get_ste(name, **params)
    # sign(x) = −1 + 2·H(x): one threshold at 0 of height 2, kernel width 1
    np.testing.assert_allclose(staircase_derivative(ste, x_grid, [0.0], [2.0], 1.0), ste.dF(x_grid),
                               rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(pair=broadcastable_pairs(), seed=st.integers(0, 2**16))
def test_staircase_rule_broadcasts_an_array_width_against_x(pair, seed):
    # a width per entry (per channel, say): each entry sees the kernel at its own width
    rng = np.random.default_rng(seed)
    x, width = rng.normal(size=pair[0]), rng.uniform(0.2, 2.0, size=pair[1])
    ste, thresholds, heights = get_ste("tanh"), [-0.3, 0.4], [0.5, 1.5]
    got = staircase_derivative(ste, x, thresholds, heights, width)
    xb, wb = np.broadcast_arrays(x, width)
    expected = sum(h / (2 * wb) * ste.dF((xb - t) / wb) for t, h in zip(thresholds, heights))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_staircase_rule_with_the_clipped_kernel_is_uniqs_ste():
    # N levels of step Δ: thresholds (j + 1/2)Δ − α, α = Δ(N − 1)/2; clipped kernel at width Δ/2
    # tiles [−α, α], which is UniQ's ∂Q_w/∂x = 1[|x| < α] (seed 003 §4.1), away from the levels.
    for n, delta in [(2, 0.7), (4, 0.3), (8, 0.11)]:
        alpha = delta * (n - 1) / 2
        x = np.linspace(-1.5 * alpha, 1.5 * alpha, 1001)
        levels = (np.arange(n) * delta - alpha)
        x = x[np.min(np.abs(x[:, None] - levels), axis=1) > 1e-9]
        got = staircase_derivative(get_ste("clipped"), x, (np.arange(n - 1) + 0.5) * delta - alpha,
                                   np.full(n - 1, delta), delta / 2)
        np.testing.assert_array_equal(got, (np.abs(x) < alpha).astype(float))


@pytest.mark.parametrize("name", ["clipped", "polynomial", "tanh", "sigmoid", "arctan", "swish"])
def test_staircase_surrogate_integrates_to_the_total_height_of_the_staircase(name):
    # each step's surrogate is (h/2)·F((x − t)/s), rising by h when F rises from −1 to +1
    ste = get_ste(name)
    thresholds, heights, s = [-0.5, 0.2, 1.0], [0.3, 0.5, 0.9], 0.2
    x = np.linspace(-4000, 4000, 4_000_001) if name == "arctan" else np.linspace(-60, 60, 600_001)
    integral = np.trapezoid(staircase_derivative(ste, x, thresholds, heights, s), x)
    tail = 0.0
    if name == "arctan":  # (h/2)(2/π)·arctan(k(x − t)/s) misses (h/2)(2/π)·(s/(k·4000))·2 in the tails
        tail = sum(h / 2 * 2 / math.pi * 2 * s / (ste.k * 4000) for h in heights)
    assert integral + tail == pytest.approx(sum(heights), rel=1e-4)


# ------------------------------------------------------------ schedules


def test_ab_blend_schedule_goes_linearly_from_0_2_to_0_8():
    ste = get_ste("ab_tanh")
    for p, f in [(0.0, 0.2), (0.5, 0.5), (1.0, 0.8)]:
        apply_schedule(ste, p)
        assert ste.f == pytest.approx(f)


def test_ede_schedule_follows_irnet():
    ste = get_ste("ede")
    for p in (0.0, 0.3, 1.0):
        apply_schedule(ste, p)
        t = 0.1 * 10 ** (p * math.log10(10 / 0.1))              # IR-Net eq. 13
        assert ste.t == pytest.approx(t) and ste.k == pytest.approx(max(1 / t, 1))


def test_reste_power_goes_from_one_to_three():
    ste = get_ste("reste")
    apply_schedule(ste, 0.0)
    assert ste.o == 1.0
    apply_schedule(ste, 1.0)
    assert ste.o == 3.0


def test_only_the_scheduled_stes_have_schedules():
    assert set(SCHEDULES) == {"ab_tanh", "ab_arctan", "ede", "reste"}
    ste = get_ste("tanh")
    assert apply_schedule(ste, 0.7) == {} and ste.k == 1.0
    with pytest.raises(ValueError, match="progress"):
        apply_schedule(ste, 1.5)


def test_ste_scheduler_callback_moves_the_models_estimators_with_progress():
    from tinyquant.nn import Linear, Sequential
    from tinyquant.quant import XNOR

    model = Sequential(Linear(3, 3, rng=0), Linear(3, 2, rng=0))
    for layer in model.children():
        layer.weight_quantizer = XNOR(ste="ab_tanh")

    class FakeTrainer:
        def __init__(self):
            self.model, self.progress, self.global_step = model, 0.0, 0

    trainer, cb = FakeTrainer(), STEScheduler()
    cb.on_train_begin(trainer)
    assert all(layer.weight_quantizer.ste.f == pytest.approx(0.2) for layer in model.children())
    trainer.progress = 0.5
    cb.on_step_end(trainer)
    assert all(layer.weight_quantizer.ste.f == pytest.approx(0.5) for layer in model.children())
