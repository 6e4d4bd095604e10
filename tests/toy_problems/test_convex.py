"""Convex guarantees of seed 002 §4 (Lemma 1, Theorems 1–4, Corollary 1) and big-batch SR (§6.1)."""

import numpy as np
import pytest

from toy_problems import big_batch, convex


@pytest.fixture(scope="module")
def quad():
    return convex.strongly_convex_quadratic(d=10, mu=1.0, L=2.0, sigma=1.0, seed=0)


@pytest.fixture(scope="module")
def sr_run(quad):
    return convex.run(quad, "SR", ("strong", 1.0), 2000, deltas=(1.0, 0.5, 0.25, 0.125), chains=40, seed=1,
                      checkpoints=[100, 2000])


def test_problem_gradients_match_finite_differences(quad):
    rng = np.random.default_rng(0)
    for prob in (quad, convex.weakly_convex_quadratic(seed=1), convex.strongly_convex_logcosh(seed=2)):
        w = rng.uniform(-2, 2, prob.d)
        h = 1e-6
        fd = np.array([(prob.value(w + h * e) - prob.value(w - h * e)) / (2 * h) for e in np.eye(prob.d)])
        np.testing.assert_allclose(prob.grad(w), fd, atol=1e-6)
        assert prob.value(prob.w_star) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("x", [0.0, 1e-8, 0.5, 20.0, 709.0, 711.0, 800.0, 1e5, 1e300])
def test_log_cosh_is_finite_and_exact_at_the_extremes(x):
    import mpmath as mp

    with mp.workdps(50):
        ref = float(mp.log(mp.cosh(mp.mpf(x))))
    for v in (x, -x):
        assert convex.log_cosh(v) == pytest.approx(ref, rel=1e-15, abs=1e-300)


def test_log_cosh_problem_value_is_finite_for_errors_beyond_710():
    lc = convex.strongly_convex_logcosh(d=3, mu=0.5, beta=1.0, seed=0)
    e = np.array([800.0, -1e4, 0.0])
    expected = np.sum(0.5 * 0.5 * e**2 + (np.abs(e) - np.log(2.0)) * (e != 0))  # log cosh x = |x| − log 2 for |x| ≥ 40
    assert lc.value(lc.w_star + e) == pytest.approx(expected, rel=1e-15)


def test_constants_of_the_problems_are_right():
    q = convex.strongly_convex_quadratic(d=6, mu=0.5, L=3.0, seed=3)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A)[[0, -1]], [0.5, 3.0])
    wq = convex.weakly_convex_quadratic(d=6, rank=2, L=2.0, seed=3)
    ev = np.linalg.eigvalsh(wq.A)
    assert np.sum(np.abs(ev) < 1e-12) == 4 and ev.max() == pytest.approx(2.0)
    lc = convex.strongly_convex_logcosh(beta=2.0)
    x = np.linspace(-3, 3, 200_001)
    third = np.gradient(1 / np.cosh(x) ** 2, x)  # d/dx of the Hessian sech²
    assert lc.L2 == pytest.approx(2.0 * np.abs(third).max(), rel=1e-6)


def test_sr_rounding_error_obeys_lemma1_at_every_step(quad, sr_run):
    # √d Δ α_t G written out here, G² = max_t E‖∇f̃(w_t)‖² from the run
    for i, dl in enumerate(sr_run.deltas):
        bound = np.sqrt(quad.d) * dl * sr_run.alphas * np.sqrt(sr_run.g2_max[i])
        assert np.all(sr_run.r2[i] <= bound)


def test_exact_rounding_variance_agrees_with_sampled_rounding_error(sr_run):
    sampled = sr_run.extra["r2_sampled"]
    # averaged over steps 100…2000 the sampled and exact per-step means agree within 10 %
    np.testing.assert_allclose(sampled[:, 100:].mean(axis=1), sr_run.r2[:, 100:].mean(axis=1), rtol=0.1)


def test_sr_stays_below_theorem1_bound(quad, sr_run):
    T = sr_run.checkpoints
    for i, dl in enumerate(sr_run.deltas):
        G = np.sqrt(sr_run.g2_max[i])
        bound = (1 + np.log(T + 1)) * G**2 / (2 * quad.mu * T) + np.sqrt(quad.d) * dl * G / 2
        assert np.all(sr_run.f_avg[i] + 2 * sr_run.f_avg_se[i] <= bound)


def test_sr_floor_shrinks_linearly_in_delta(sr_run):
    slope = np.polyfit(np.log(sr_run.deltas), np.log(sr_run.f_avg[:, -1]), 1)[0]
    assert 0.8 < slope < 1.25


def test_bc_with_stochastic_forward_meets_corollary1(quad):
    r = convex.run(quad, "BC", ("strong", 1.0), 3000, deltas=(1.0,), chains=40, seed=2, forward="stochastic", checkpoints=[1000, 3000])
    T = r.checkpoints
    bound = (1 + np.log(T + 1)) * r.g2_max[0] / (2 * quad.mu * T)
    assert np.all(r.f_avg[0] + 2 * r.f_avg_se[0] <= bound)
    assert np.all(r.f_avg_q[0] + 2 * r.f_avg_q_se[0] <= bound)
    assert r.f_avg[0, 1] < r.f_avg[0, 0]


def test_bc_with_deterministic_forward_real_average_stalls_above_corollary1(quad):
    # pinned: ledger row "Corollary 1" — with Qd the real-valued average does not converge to w*
    r = convex.run(quad, "BC", ("strong", 1.0), 3000, deltas=(1.0,), chains=40, seed=2, forward="deterministic", checkpoints=[1000, 3000])
    T = r.checkpoints
    bound = (1 + np.log(T + 1)) * r.g2_max[0] / (2 * quad.mu * T)
    assert r.f_avg[0, -1] - 2 * r.f_avg_se[0, -1] > 3 * bound[-1]
    assert r.f_avg[0, 1] >= r.f_avg[0, 0] * 0.9  # no progress between T = 1000 and 3000
    # ... while the quantized average Qd(w_r) does meet the bound
    assert np.all(r.f_avg_q[0] + 2 * r.f_avg_q_se[0] <= bound)


def test_sgd_reference_converges(quad):
    r = convex.run(quad, "SGD", ("strong", 1.0), 2000, chains=40, seed=3, checkpoints=[100, 2000])
    assert r.f_avg[0, 1] < r.f_avg[0, 0] / 5


def test_runs_are_seeded(quad):
    a = convex.run(quad, "SR", ("sqrt", 0.5), 50, chains=3, seed=4, radius=2.0)
    b = convex.run(quad, "SR", ("sqrt", 0.5), 50, chains=3, seed=4, radius=2.0)
    np.testing.assert_array_equal(a.f_avg, b.f_avg)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(method="X"), ValueError, "method"),
        (dict(deltas=(0.0,)), ValueError, "delta"),
        (dict(deltas=(-0.5,)), ValueError, "delta"),
        (dict(schedule=("strong", 0.0)), ValueError, "schedule"),
        (dict(steps=0), ValueError, "steps"),
        (dict(radius=0.3), ValueError, "radius"),
        (dict(checkpoints=[0]), ValueError, "checkpoints"),
    ],
)
def test_run_rejects_bad_input(quad, kwargs, err, match):
    args = dict(method="SR", schedule=("strong", 1.0), steps=10, deltas=(0.5,), chains=2)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        convex.run(quad, args.pop("method"), args.pop("schedule"), args.pop("steps"), **args)


def test_bigger_batches_bring_sr_closer_to_the_minimizer():
    prob = big_batch.least_squares_problem(m=2048, d=4, seed=0)
    res = big_batch.run_batch_sizes(prob, (1, 16, 256), steps=400, chains=8, seed=1)
    assert np.all(np.diff(res.sr_excess) < 0)
    assert res.sr_excess[0] > 3 * res.sr_excess[-1]
    assert np.all(res.sr_excess >= res.grid_floor * 0.5)


def test_least_squares_minimizer_is_optimal():
    prob = big_batch.least_squares_problem(m=512, d=3, seed=2)
    g = prob.X.T @ (prob.X @ prob.w_star - prob.y) / 512
    np.testing.assert_allclose(g, 0, atol=1e-12)


def test_bc_deterministic_floor_matches_a_long_simulation_on_an_axis_aligned_quadratic():
    # independent check of Σᵢ λᵢ/2 (bᵢ − w*ᵢ)²: a long BC-Qd run with α_t = 1/(μ(t+1)), measured at the real-valued average
    prob = convex.strongly_convex_quadratic(d=3, mu=1.0, L=2.0, sigma=0.5, seed=4, rotate=False)
    r = convex.run(prob, "BC", ("strong", prob.mu), 200_000, deltas=(0.5,), chains=8, seed=1, checkpoints=[200_000])
    floor = convex.bc_deterministic_floor(prob, 0.5)
    b = 0.5 * (np.floor(prob.w_star / 0.5) + 0.5)
    assert floor == pytest.approx(0.5 * np.sum(np.linspace(1, 2, 3) * (b - prob.w_star) ** 2))  # by hand: λ = 1, 1.5, 2
    assert r.f_avg[0, -1] == pytest.approx(floor, rel=0.05)
    assert r.f_avg_q[0, -1] < 0.05 * floor  # the quantized average goes to w*


def test_bc_deterministic_floor_refuses_a_rotated_quadratic():
    with pytest.raises(ValueError, match="axis-aligned"):
        convex.bc_deterministic_floor(convex.strongly_convex_quadratic(d=4, seed=0), 0.5)


def test_theorem1_floor_is_the_bound_as_t_grows():
    kw = dict(G=3.0, d=10, delta=0.25)
    assert convex.theorem1_bound(np.array([1e15]), mu=1.0, **kw)[0] == pytest.approx(convex.theorem1_floor(**kw), rel=1e-12)
    assert convex.theorem1_floor(**kw) == pytest.approx(np.sqrt(10) * 0.25 * 3.0 / 2)


def test_run_reports_three_readings_of_g_squared(quad, sr_run):
    # max ≥ mean over steps, and the late mean is below the max (the max is set by the first steps)
    assert np.all(sr_run.g2_max >= sr_run.g2_mean) and np.all(sr_run.g2_late < sr_run.g2_max)
    assert np.all(sr_run.g2_late > quad.d * quad.sigma**2 * 0.9)  # at least the noise, E‖σξ‖² = dσ²


def test_sr_floors_predicted_by_the_limit_chain_match_a_long_simulation():
    # independent check of sr_limit_floor: SR with α_t = 1/(μ(t+1)) on an axis-aligned quadratic,
    # average and last iterate at T = 60,000 (the prediction is the T → ∞ limit; the average's
    # floor is reached after the early transient, whose weight in w̄_T decays like 1/T)
    prob = convex.strongly_convex_quadratic(d=3, mu=1.0, L=2.0, sigma=1.0, seed=4, rotate=False)
    r = convex.run(prob, "SR", ("strong", 1.0), 60_000, deltas=(1.0, 0.5), chains=64, seed=2, checkpoints=[60_000])
    for i, dl in enumerate(r.deltas):
        avg, last = convex.sr_limit_floor(prob, dl)
        assert abs(r.f_avg[i, -1] - avg) <= 3 * r.f_avg_se[i, -1] + 0.05 * avg, (dl, r.f_avg[i, -1], avg)
        assert abs(r.f_last[i] - last) <= 0.25 * last, (dl, r.f_last[i], last)
    # the stationary mean of the limit chain is w* (its drift is −E[g]), so the average's floor is
    # the variance of an exponentially weighted average alone, well below the last iterate's
    avg, last = convex.sr_limit_floor(prob, 0.5)
    assert 0.2 * last < avg < 0.6 * last


def test_sr_limit_floor_does_not_depend_on_the_window():
    prob = convex.strongly_convex_quadratic(d=2, mu=1.0, L=2.0, sigma=1.0, seed=1, rotate=False)
    np.testing.assert_allclose(convex.sr_limit_floor(prob, 0.25, cells=16), convex.sr_limit_floor(prob, 0.25, cells=48), rtol=1e-10)
