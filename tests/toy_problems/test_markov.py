"""SR as a Markov chain (seed 002 §5.2): exact transition matrix, limit chain, mixing times."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import mp_reference

from toy_problems.markov import (
    communicating_classes,
    continuous_mixing_time,
    is_irreducible,
    limit_alpha0,
    limit_difference_matrix,
    limit_generator,
    limit_rate_matrix,
    log_jump_probability,
    log_stationary_distribution,
    limit_transition_matrix,
    mixing_time,
    printed_limit_rate_matrix,
    relaxation_time,
    spectral_gap,
    sr_log_transition_matrix,
    sr_transition_matrix,
    stationary_difference_to_limit,
    stationary_distribution,
    three_state_example,
    tv_distance,
    up_move_probability,
)
from toy_problems.noise_laws import GaussianNoise, ScipyNoise
from toy_problems.toy_1d import grad, grid_points

alphas = st.floats(1e-4, 3.0)
sigmas = st.floats(0.0, 5.0)
deltas = st.sampled_from([0.25, 0.5, 0.7, 1.0])


@settings(max_examples=40, deadline=None)
@given(alpha=alphas, sigma=sigmas, delta=deltas)
def test_transition_matrix_is_nonnegative_with_unit_row_sums(alpha, sigma, delta):
    T = sr_transition_matrix(alpha, sigma=sigma, delta=delta)
    assert T.shape == (grid_points(delta).size,) * 2
    assert T.min() >= 0.0
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(alpha=alphas, sigma=st.floats(0.2, 5.0), delta=deltas)
def test_stationary_distribution_is_a_fixed_point(alpha, sigma, delta):
    T = sr_transition_matrix(alpha, sigma=sigma, delta=delta)
    pi = stationary_distribution(T)
    assert pi.min() >= 0 and abs(pi.sum() - 1) < 1e-12
    np.testing.assert_allclose(pi @ T, pi, atol=1e-10)


def _monte_carlo_rows(alpha, sigma, delta, n, seed, noise_sampler=None):
    """Single SR steps from every grid point, sampled directly (no use of the matrix code)."""
    rng = np.random.default_rng(seed)
    grid = grid_points(delta)
    k = grid.size
    x = np.repeat(grid, n)
    xi = rng.standard_normal(x.size) if noise_sampler is None else noise_sampler(rng, x.size)
    v = (x - alpha * (grad(x) + sigma * xi)) / delta
    low = np.floor(v)
    j = low + (rng.random(v.size) < v - low)
    j = np.clip(j - np.rint(grid[0] / delta), 0, k - 1).astype(int)
    counts = np.zeros((k, k))
    np.add.at(counts, (np.repeat(np.arange(k), n), j), 1)
    return counts / n


@settings(max_examples=12, deadline=None)
@given(alpha=st.floats(0.01, 2.0), sigma=st.floats(0.0, 4.0), delta=deltas, seed=st.integers(0, 2**16))
def test_closed_form_matches_monte_carlo_single_steps(alpha, sigma, delta, seed):
    n = 20_000
    T = sr_transition_matrix(alpha, sigma=sigma, delta=delta)
    emp = _monte_carlo_rows(alpha, sigma, delta, n, seed)
    # each entry is a binomial proportion: 6 standard deviations plus a floor for p ≈ 0
    tol = 6 * np.sqrt(T * (1 - T) / n) + 6 / n
    assert np.all(np.abs(emp - T) <= tol)


@pytest.mark.parametrize("dist", [scipy.stats.laplace(scale=1 / np.sqrt(2)), scipy.stats.t(df=3, scale=1 / np.sqrt(3))])
def test_quadrature_matrix_for_other_noise_laws_matches_monte_carlo(dist):
    alpha, sigma, delta, n = 0.4, 2.0, 0.5, 40_000
    T = sr_transition_matrix(alpha, sigma=sigma, delta=delta, noise=dist)
    emp = _monte_carlo_rows(alpha, sigma, delta, n, 0, lambda rng, size: dist.rvs(size=size, random_state=rng))
    tol = 6 * np.sqrt(T * (1 - T) / n) + 6 / n
    assert np.all(np.abs(emp - T) <= tol)


def test_quadrature_path_reproduces_the_gaussian_closed_form():
    T_closed = sr_transition_matrix(0.3, sigma=1.5, noise=GaussianNoise())
    T_quad = sr_transition_matrix(0.3, sigma=1.5, noise=ScipyNoise(scipy.stats.norm()))
    np.testing.assert_allclose(T_quad, T_closed, atol=1e-9)


def test_laplace_ramp_matches_its_closed_form():
    # J(b) = E[(b − ξ)⁺] for Laplace(0, s): s/2 e^{b/s} for b < 0, b + s/2 e^{−b/s} for b ≥ 0 (by hand)
    s = 0.8
    b = np.linspace(-6, 6, 25)
    exact = np.where(b < 0, s / 2 * np.exp(b / s), b + s / 2 * np.exp(-b / s))
    np.testing.assert_allclose(ScipyNoise(scipy.stats.laplace(scale=s)).ramp(b), exact, atol=1e-8)


def test_noise_law_with_nonzero_mean_is_rejected():
    with pytest.raises(ValueError, match="mean 0"):
        ScipyNoise(scipy.stats.norm(loc=1.0))


def test_sigma_zero_transition_is_the_deterministic_hat_split():
    # σ = 0 from w = 4.0: v = 4 − 0.1·f′(4) = 4 + 0.15 → up to 4.5 with probability 0.15/0.5 = 0.3
    T = sr_transition_matrix(0.1, sigma=0.0)
    i = 12
    assert T[i, 13] == pytest.approx(0.3, abs=1e-12) and T[i, 12] == pytest.approx(0.7, abs=1e-12)


def test_mass_leaving_the_domain_goes_to_the_end_points():
    # from w = −2 with α = 2, σ = 0: v = −2 − 2·(−4) = 6 → grid point 6 exactly; α = 3 → v = 10 → clipped to 7
    T = sr_transition_matrix(3.0, sigma=0.0)
    assert T[0, -1] == pytest.approx(1.0)
    # σ = 1: v = 10 − 3ξ ~ N(10, 3²); the end point 7 receives E[clip((v − 6.5)/0.5, 0, 1)],
    # integrated here with scipy's quad, independently of the matrix code
    from scipy import integrate, stats

    expected = integrate.quad(lambda v: np.clip((v - 6.5) / 0.5, 0, 1) * stats.norm.pdf(v, 10, 3), -30, 50, points=[6.5, 7.0])[0]
    T = sr_transition_matrix(3.0, sigma=1.0)
    assert T[0, -1] == pytest.approx(expected, abs=1e-8)
    assert T[-1, 0] > 0 and T[0, 0] > 0  # and mass below −2 lands on −2


def test_limit_chain_is_stochastic_and_matches_the_derivation_by_hand():
    U = limit_rate_matrix(sigma=0.0)
    # σ = 0: Ũ[i, i+1] = (−f′)⁺/Δ, Ũ[i, i−1] = (f′)⁺/Δ; at w = 4.0, f′ = −1.5 → up rate 3.0
    assert U[12, 13] == pytest.approx(3.0) and U[12, 11] == 0.0
    T = limit_transition_matrix(sigma=2.0)
    assert T.min() >= -1e-15
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)
    assert T.min() == pytest.approx(0.0, abs=1e-12)  # α₀ makes one diagonal entry zero


@settings(max_examples=20, deadline=None)
@given(sigma=st.floats(0.2, 4.0), frac=st.floats(0.01, 1.0))
def test_limit_stationary_distribution_does_not_depend_on_alpha(sigma, frac):
    T0 = limit_transition_matrix(sigma=sigma)
    a0 = 1.0 / limit_rate_matrix(sigma=sigma).sum(axis=1).max()
    T = limit_transition_matrix(frac * a0, sigma=sigma)
    np.testing.assert_allclose(stationary_distribution(T), stationary_distribution(T0), atol=1e-10)


def test_exact_chain_approaches_limit_chain_as_alpha_shrinks():
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=2.0))
    tv = [tv_distance(stationary_distribution(sr_transition_matrix(a, sigma=2.0)), pi_lim) for a in (1.0, 0.3, 0.1, 0.03)]
    assert tv[0] > tv[1] > tv[2] > tv[3] and tv[0] > 0.5 and tv[3] < 1e-9


def test_t_noise_chain_approaches_limit_polynomially():
    noise = scipy.stats.t(df=3, scale=1 / np.sqrt(3))
    pi_lim = stationary_distribution(limit_transition_matrix(sigma=2.0, noise=noise))
    tv = np.array([tv_distance(stationary_distribution(sr_transition_matrix(a, sigma=2.0, noise=noise)), pi_lim) for a in (0.1, 0.01, 0.001)])
    assert np.all(np.diff(tv) < 0) and tv[-1] > 1e-9  # heavy tails: shrinking but not exponentially small


def test_mixing_time_grows_like_one_over_alpha():
    m = np.array([mixing_time(sr_transition_matrix(a, sigma=2.0), 0.25) for a in (0.1, 0.01, 0.001)])
    assert m[0] < m[1] < m[2]
    slope = np.polyfit(np.log([0.1, 0.01, 0.001]), np.log(m), 1)[0]
    assert -1.05 < slope < -0.95


def test_mixing_time_is_exactly_the_first_step_under_eps_by_brute_force():
    T = sr_transition_matrix(0.3, sigma=2.0)
    pi = stationary_distribution(T)
    P, n = np.eye(T.shape[0]), 0
    while tv_distance(P, pi).max() > 0.25:
        P, n = P @ T, n + 1
    assert mixing_time(T, 0.25) == n


def test_three_state_example_halving_keeps_pi_and_slows_mixing():
    T, Th = three_state_example()
    np.testing.assert_allclose(np.diag(Th), 0.5 + 0.5 * np.diag(T))
    np.testing.assert_allclose(stationary_distribution(T), stationary_distribution(Th), atol=1e-14)
    assert mixing_time(Th, 0.01) > mixing_time(T, 0.01)


def test_up_move_probability_is_alpha_independent_for_small_alpha():
    a = up_move_probability(sr_transition_matrix(0.01, sigma=2.0))
    b = up_move_probability(sr_transition_matrix(0.0001, sigma=2.0))
    np.testing.assert_allclose(a, b, atol=1e-8)


def test_printed_formula_has_negative_rates_and_absolute_version_climbs():
    Up = printed_limit_rate_matrix(sigma=2.0)
    assert Up.min() < 0
    Ua = printed_limit_rate_matrix(sigma=2.0, absolute=True)
    U = limit_rate_matrix(sigma=2.0)
    # the |z| version is the derived Ũ with up and down rates swapped at each state
    i = np.arange(18)
    np.testing.assert_allclose(Ua[i, i + 1], np.maximum(U[i, i + 1] + grad(grid_points()[:-1]) / 0.5, 0), atol=1e-12)


def test_stationary_distribution_rejects_chains_with_two_closed_classes():
    with pytest.raises(ValueError, match="more than one"):
        stationary_distribution(np.eye(3))
    # σ = 0: the limit chain only moves downhill, every local minimum of the grid is absorbing
    with pytest.raises(ValueError, match="more than one"):
        stationary_distribution(limit_transition_matrix(sigma=0.0))


def test_reachability_finds_the_classes_of_a_chain_with_a_transient_state():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 0.9, 0.1], [0.0, 0.2, 0.8]])  # state 0 is transient
    classes, closed = communicating_classes(T)
    assert [c.tolist() for c in classes] == [[0], [1, 2]] and closed == [False, True]
    assert not is_irreducible(T)
    np.testing.assert_allclose(stationary_distribution(T), [0.0, 2 / 3, 1 / 3], rtol=1e-15)


def test_chain_with_sigma_equal_to_delta_is_irreducible_and_solved_to_its_smallest_probability():
    # σ = Δ = 0.25: uphill probabilities down to ~1e-250; the old CDF differences made them 0
    L = sr_log_transition_matrix(0.1, sigma=0.25, delta=0.25)
    assert is_irreducible(np.isfinite(L))
    logpi = log_stationary_distribution(L)
    assert np.all(np.isfinite(logpi)) and logpi.min() < np.log(1e-250)


def test_printed_literal_sign_limit_chain_at_sigma_one_is_irreducible():
    U = printed_limit_rate_matrix(sigma=1.0, absolute=True)
    a0 = limit_alpha0(U)
    T = a0 * U
    np.fill_diagonal(T, 1.0 - a0 * U.sum(axis=1))
    assert is_irreducible(T)
    pi = stationary_distribution(T)
    np.testing.assert_allclose(pi @ T, pi, rtol=1e-12, atol=0)


def _mp_case(alpha, sigma, delta):
    grid = grid_points(delta)
    T = mp_reference.sr_transition_matrix(alpha, sigma, delta, grid, grad(grid), dps=400)
    return T, mp_reference.stationary_distribution(T, dps=400)


@pytest.mark.parametrize("alpha, sigma, delta", [(0.1, 1.0, 0.5), (0.03, 1.0, 0.5), (0.1, 0.25, 0.25)])
def test_transition_matrix_and_stationary_law_match_400_digit_evaluation_in_the_tails(alpha, sigma, delta):
    T_mp, pi_mp = _mp_case(alpha, sigma, delta)
    L = sr_log_transition_matrix(alpha, sigma=sigma, delta=delta)
    k = L.shape[0]
    ref = np.array([[float(mp_reference.mp.log(T_mp[i][j])) if T_mp[i][j] > 1e-300 else np.nan for j in range(k)] for i in range(k)])
    keep = np.isfinite(ref)
    assert keep.sum() > 3 * k  # the comparison reaches far beyond the tridiagonal band
    np.testing.assert_allclose(L[keep], ref[keep], rtol=0, atol=1e-9)  # |Δ log| ≤ 1e-9: relative error ≤ 1e-9
    logpi = log_stationary_distribution(L)
    ref_pi = np.array([float(mp_reference.mp.log(p)) for p in pi_mp])
    assert ref_pi.min() < np.log(1e-15)
    np.testing.assert_allclose(logpi, ref_pi, rtol=0, atol=1e-9)
    pi = stationary_distribution(sr_transition_matrix(alpha, sigma=sigma, delta=delta))
    big = ref_pi > np.log(1e-300)
    np.testing.assert_allclose(pi[big], np.exp(ref_pi[big]), rtol=1e-9)


def test_two_cell_jumps_are_1e_minus_36_not_round_off():
    # σ = 1, α = 0.03: the CDF second differences gave ~5e-15 here
    L = sr_log_transition_matrix(0.03, sigma=1.0)
    far = log_jump_probability(L, cells=2)
    T_mp, _ = _mp_case(0.03, 1.0, 0.5)
    k = L.shape[0]
    with mp_reference.mp.workdps(400):
        ref = [float(mp_reference.mp.log(sum(T_mp[i][j] for j in range(k) if abs(j - i) >= 2))) for i in range(k)]
    np.testing.assert_allclose(far, ref, rtol=0, atol=1e-9)
    assert 1e-37 < np.exp(far.max()) < 1e-35


def test_pi_at_minus_two_is_1e_minus_19_at_sigma_one():
    # the CDF second differences gave 6.7e-17 here; the 400-digit value is 1.0004058e-19
    pi = stationary_distribution(sr_transition_matrix(0.1, sigma=1.0))
    assert pi[0] == pytest.approx(1.0004058025577644e-19, rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.2, 4.0), delta=deltas)
def test_gth_matches_detailed_balance_on_the_tridiagonal_limit_chain(sigma, delta):
    # T̃ is tridiagonal: π_{i+1}/π_i = T̃[i, i+1]/T̃[i+1, i] exactly (an independent formula)
    T = limit_transition_matrix(sigma=sigma, delta=delta)
    i = np.arange(T.shape[0] - 1)
    logpi = np.concatenate([[0.0], np.cumsum(np.log(T[i, i + 1]) - np.log(T[i + 1, i]))])
    logpi -= np.logaddexp.reduce(logpi)
    with np.errstate(divide="ignore"):
        logT = np.log(T)
    np.testing.assert_allclose(log_stationary_distribution(logT), logpi, rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(alpha=0.0), "alpha"), (dict(alpha=-1.0), "alpha"), (dict(sigma=-0.1), "sigma"), (dict(delta=0.0), "delta"),
     (dict(delta=-1.0), "delta"), (dict(domain=(1.0, 1.0)), "domain"), (dict(domain=(7.0, -2.0)), "domain"),
     (dict(domain=()), "domain")],
)
def test_transition_matrix_rejects_bad_input(kwargs, match):
    args = dict(alpha=0.1, sigma=1.0, delta=0.5, domain=(-2.0, 7.0))
    args.update(kwargs)
    alpha = args.pop("alpha")
    with pytest.raises(ValueError, match=match):
        sr_transition_matrix(alpha, **args)


def test_matrix_checks_reject_non_stochastic_input():
    with pytest.raises(ValueError, match="row-stochastic"):
        stationary_distribution(np.array([[0.5, 0.6], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="eps"):
        mixing_time(np.eye(2) * 0.5 + 0.25, eps=1.5)
    with pytest.raises(ValueError, match="alpha"):
        limit_transition_matrix(10.0, sigma=2.0)


def _two_state(p, q):
    return np.array([[1 - p, p], [q, 1 - q]])


@pytest.mark.parametrize("p, q", [(0.1, 0.3), (0.02, 0.05), (0.4, 0.4)])
def test_spectral_gap_and_mixing_time_match_the_two_state_closed_form(p, q):
    # by hand: λ₂ = 1 − p − q; from state i, TV(T^n[i], π) = c_i |λ₂|^n with c = (p, q)/(p + q)
    T = _two_state(p, q)
    lam = 1 - p - q
    assert spectral_gap(T) == pytest.approx(1 - abs(lam), rel=1e-12)
    assert relaxation_time(T) == pytest.approx(1 / (1 - abs(lam)), rel=1e-12)
    c = max(p, q) / (p + q)
    expected = int(np.ceil(np.log(0.25 / c) / np.log(abs(lam))))
    assert mixing_time(T, 0.25) == expected


def test_continuous_mixing_time_matches_the_two_state_closed_form():
    # Q = [[−p, p], [q, −q]]: TV(exp(sQ)[i], π) = c_i e^{−(p+q)s}, so τ(ε) = log(max(p, q)/((p+q)ε))/(p+q)
    p, q = 0.3, 0.7
    Q = np.array([[-p, p], [q, -q]])
    expected = np.log(max(p, q) / ((p + q) * 0.25)) / (p + q)
    assert continuous_mixing_time(Q, 0.25) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_alpha_times_mixing_time_converges_to_the_continuous_time_limit(sigma):
    tau = continuous_mixing_time(limit_generator(sigma=sigma), 0.25)
    a = 1e-3
    m = mixing_time(sr_transition_matrix(a, sigma=sigma), 0.25)
    assert a * m == pytest.approx(tau, abs=a)  # M is an integer: α·M within α of the limit


def test_spectral_gap_matches_power_iteration():
    # |λ₂| as the growth rate of ‖v (T − 1π)^n‖, independent of the eigen-solver
    T = sr_transition_matrix(0.1, sigma=2.0)
    pi = stationary_distribution(T)
    B = T - np.outer(np.ones(T.shape[0]), pi)
    v = np.random.default_rng(0).standard_normal(T.shape[0])
    for _ in range(30_000):  # λ₃/λ₂ = 0.9984 here: 30,000 steps shrink the λ₃ part by e^{−49}
        v = v @ B
        v /= np.linalg.norm(v)
    rate = np.linalg.norm(v @ B)
    assert 1 - rate == pytest.approx(spectral_gap(T), rel=1e-6)


def test_relaxation_time_of_the_limit_chain_times_alpha_is_one_over_the_generator_gap():
    sigma, a = 2.0, 1e-3
    Q = limit_generator(sigma=sigma)
    # the generator of a birth–death chain is similar to a symmetric matrix: its gap from eigvalsh
    pi = stationary_distribution(limit_transition_matrix(sigma=sigma))
    S = np.sqrt(pi)[:, None] * Q / np.sqrt(pi)[None, :]
    gamma = -np.sort(np.linalg.eigvalsh(0.5 * (S + S.T)))[-2]
    assert a * relaxation_time(sr_transition_matrix(a, sigma=sigma)) == pytest.approx(1 / gamma, rel=1e-6)


@pytest.mark.parametrize("alpha, sigma, expected", [(0.03, 1.0, 2.924372e-47), (0.03, 2.0, 2.1704315e-15), (0.1, 2.0, 0.0064046248)])
def test_tv_to_the_limit_law_is_accurate_far_below_float_resolution(alpha, sigma, expected):
    # expected: ½ Σ |π_α − π̃| in 400-digit arithmetic (π_α by an LU solve of mp_reference's T_α,
    # π̃ by detailed balance on Ũ); recomputed by this test for the first case
    d = stationary_difference_to_limit(alpha, sigma=sigma)
    assert abs(d.sum()) <= 1e-12 * np.abs(d).sum()
    assert 0.5 * np.abs(d).sum() == pytest.approx(expected, rel=1e-6)


def test_tv_reference_value_is_reproduced_in_400_digits():
    mp = mp_reference.mp
    grid = grid_points(0.5)
    fp = grad(grid)
    T = mp_reference.sr_transition_matrix(0.03, 1.0, 0.5, grid, fp, dps=400)
    pi = mp_reference.stationary_distribution(T, dps=400)
    with mp.workdps(400):
        neg = [mp_reference.ramp(-mp.mpf(float(f))) for f in fp]  # E[(−g)⁺] at σ = 1
        pos = [mp_reference.ramp(mp.mpf(float(f))) for f in fp]
        w = [mp.mpf(1)]
        for i in range(len(grid) - 1):
            w.append(w[-1] * neg[i] / pos[i + 1])  # detailed balance of the tridiagonal T̃
        z = sum(w)
        tv = sum(abs(p - x / z) for p, x in zip(pi, w)) / 2
    assert float(tv) == pytest.approx(2.924372e-47, rel=1e-6)


def test_limit_difference_matrix_agrees_with_the_subtraction_where_that_is_accurate():
    # α = 1: entries of order 1, where T_α − T̃_α by subtraction loses nothing that matters
    a, sigma = 1.0, 2.0
    E = limit_difference_matrix(a, sigma=sigma)
    U = limit_rate_matrix(sigma=sigma)
    Tt = a * U
    np.fill_diagonal(Tt, 1.0 - a * U.sum(axis=1))  # T̃_α at α > α₀ (negative diagonal; the identity is algebraic)
    D = sr_transition_matrix(a, sigma=sigma) - Tt
    np.testing.assert_allclose(E, D, rtol=0, atol=1e-13)
    np.testing.assert_allclose(E.sum(axis=1), 0.0, atol=1e-14)


def test_limit_difference_entries_are_exact_in_the_far_tail():
    # α = 0.03, σ = 1: the up-neighbour entry from w = 4 is −2E[(s − 1)⁺] + E[(s − 2)⁺], s ~ N(m, c²)
    # with m = 0.03·1.5/0.5 = 0.09 and c = 0.06, evaluated here in 60 digits
    mp = mp_reference.mp
    E = limit_difference_matrix(0.03, sigma=1.0)
    with mp.workdps(60):
        m, c = mp.mpf("0.09"), mp.mpf("0.06")
        ref = -2 * c * mp_reference.ramp((m - 1) / c) + c * mp_reference.ramp((m - 2) / c)
    assert E[12, 13] == pytest.approx(float(ref), rel=1e-10) and E[12, 13] < -1e-60
