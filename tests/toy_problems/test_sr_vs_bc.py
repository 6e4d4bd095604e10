"""The toy problem of seed 002 (eq. 8) and the R / SR / BC simulations on it."""

import numpy as np
import pytest

from tinyquant.quant.rounding import deterministic_round, stochastic_round
from toy_problems import sr_vs_bc
from toy_problems.markov import stationary_distribution, tv_distance
from toy_problems.sr_vs_bc import grad, loss, simulate, sr_transition_matrix
from toy_problems.toy_1d import cell_mass, grid_histogram, grid_points, qd_grid_units, qs_grid_units, simulate_histograms


def test_loss_matches_eq8_at_hand_computed_points():
    # by hand: f(0) = 2, f(1) = (1 − 2.5)² + 0.75 = 3, f(2.5) = 0.75, f(3.5) = 1.25² + 0.19 = 1.7525,
    # f(4.75) = 0.19, f(−2) = 6, f(7) = 2.25² + 0.19 = 5.2525
    w = np.array([0.0, 1.0, 2.5, 3.5, 4.75, -2.0, 7.0, 0.999])
    np.testing.assert_allclose(loss(w), [2.0, 3.0, 0.75, 1.7525, 0.19, 6.0, 5.2525, 0.999**2 + 2])


def test_grad_is_the_derivative_of_loss_away_from_the_breaks():
    w = np.array([-1.7, 0.3, 1.6, 3.2, 3.9, 6.1])
    h = 1e-6
    np.testing.assert_allclose(grad(w), (loss(w + h) - loss(w - h)) / (2 * h), atol=1e-6)


def test_grid_is_the_19_multiples_of_half_in_the_domain():
    g = grid_points(0.5, (-2.0, 7.0))
    assert g.size == 19 and g[0] == -2.0 and g[-1] == 7.0
    np.testing.assert_array_equal(grid_points(0.3, (-1.0, 1.0)), 0.3 * np.arange(-3, 4))


def test_grid_units_rounding_equals_the_library_rounding_with_shared_uniforms():
    rng = np.random.default_rng(5)
    x = rng.uniform(-3, 3, 1000)
    delta = 0.5
    u = np.random.default_rng(11).random(x.shape)
    ours = delta * qs_grid_units(x / delta, u)
    lib = stochastic_round(x, delta, np.random.default_rng(11))  # draws the same rng.random(x.shape)
    np.testing.assert_array_equal(ours, lib)
    np.testing.assert_array_equal(delta * qd_grid_units(x / delta), deterministic_round(x, delta))


def _reference_sr(alpha, steps, sigma, seed):
    """A plain loop with the library's rounding (one chain): a slow reference for the SR update."""
    rng = np.random.default_rng(seed)
    w, out = 4.0, []
    for _ in range(steps):
        v = w - alpha * (grad(w) + sigma * rng.standard_normal())
        w = float(np.clip(stochastic_round(v, 0.5, rng), -2.0, 7.0))
        out.append(w)
    return np.array(out)


def test_simulated_sr_has_the_same_law_as_a_plain_reference_loop():
    # compare the distribution after 30 steps over many seeds (two independent samplers)
    alpha, sigma, n = 0.3, 2.0, 400
    ref = np.array([_reference_sr(alpha, 30, sigma, s)[-1] for s in range(n)])
    ours = simulate("SR", alpha, 30, sigma=sigma, chains=4000, seed=1)[-1]
    p_ref, p_ours = grid_histogram(ref), grid_histogram(ours)
    # exact law after 30 steps from the transition matrix
    T = sr_transition_matrix(alpha, sigma=sigma)
    start = np.zeros(19)
    start[12] = 1.0  # w = 4.0
    exact = start @ np.linalg.matrix_power(T, 30)
    assert tv_distance(p_ours, exact) < 0.03
    assert tv_distance(p_ref, exact) < 0.12  # n = 400: TV of an empirical law on ~12 cells is ~0.1 at most


def test_simulated_sr_histogram_is_close_to_the_stationary_distribution():
    # α = 0.1: mixing time 179 steps (σ = 2); 2000 chains × last 400 of 800 steps
    alpha, sigma = 0.1, 2.0
    counts = simulate_histograms("SR", alpha, 800, sigma=sigma, chains=2000, seed=3, burn_in=400)
    hist = counts.sum(axis=(0, 1)) / counts.sum()
    pi = stationary_distribution(sr_transition_matrix(alpha, sigma=sigma))
    assert tv_distance(hist, pi) < 0.02


def test_expected_loss_under_pi_matches_the_simulated_long_run_mean():
    # E_π f from the exact chain against the mean loss over simulated SR iterates (independent)
    from toy_problems.markov import expected_value

    alpha, sigma = 0.1, 1.0
    counts = simulate_histograms("SR", alpha, 3000, sigma=sigma, chains=1000, seed=4, burn_in=1500)
    hist = counts.sum(axis=(0, 1)) / counts.sum()
    grid = grid_points()
    pi = stationary_distribution(sr_transition_matrix(alpha, sigma=sigma))
    assert expected_value(pi, loss(grid)) == pytest.approx(hist @ loss(grid), abs=0.01)


def test_bc_mass_on_minimum_cell_grows_to_one_while_sr_does_not():
    alphas = [1.0, 0.1, 0.01]
    grid = grid_points()
    bc = simulate_histograms("BC", alphas, 20_000, sigma=2.0, chains=4, seed=0)
    bc_cell = cell_mass(bc.sum(1) / bc.sum((1, 2))[:, None], grid)
    sr_pi = [cell_mass(stationary_distribution(sr_transition_matrix(a, sigma=2.0)), grid) for a in (0.01, 0.001)]
    assert bc_cell[0] < 0.3 and bc_cell[2] > 0.98
    assert bc_cell[2] > bc_cell[1] > bc_cell[0]
    assert sr_pi[0] < 0.75 and abs(sr_pi[0] - sr_pi[1]) < 1e-6


def test_deterministic_rounding_never_leaves_the_start_for_small_alpha():
    # α = 0.01, σ = 2: leaving needs |α g| ≥ Δ/2 = 0.25, i.e. |g| ≥ 25 — a 12σ event
    w = simulate("R", 0.01, 5000, sigma=2.0, chains=3, seed=0)
    assert np.all(w == 4.0)


def test_bc_iterates_are_grid_points_and_vector_alpha_matches_scalar_runs():
    grid = grid_points()
    w = simulate("BC", [0.1, 0.01], 300, sigma=2.0, chains=2, seed=7)
    assert w.shape == (300, 2, 2)
    assert np.all(np.isin(w, grid))
    w_sr = simulate("SR", 0.1, 300, sigma=2.0, chains=2, seed=7)
    assert w_sr.shape == (300, 2) and np.all(np.isin(w_sr, grid))


def test_same_seed_gives_same_iterates_and_histograms_match_simulate():
    a = simulate("SR", [0.5, 0.05], 5000, sigma=2.0, chains=3, seed=9)
    b = simulate("SR", [0.5, 0.05], 5000, sigma=2.0, chains=3, seed=9)
    np.testing.assert_array_equal(a, b)
    counts = simulate_histograms("SR", [0.5, 0.05], 5000, sigma=2.0, chains=3, seed=9)
    grid = grid_points()
    for i in range(2):
        for c in range(3):
            np.testing.assert_array_equal(counts[i, c], np.bincount(np.searchsorted(grid, a[:, i, c]), minlength=19))


def test_stochastic_forward_bc_runs_and_is_seeded():
    a = simulate("BC", 0.1, 200, sigma=2.0, chains=2, seed=1, forward="stochastic")
    b = simulate("BC", 0.1, 200, sigma=2.0, chains=2, seed=1, forward="stochastic")
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=-0.1), "alpha"),
        (dict(sigma=-1.0), "sigma"),
        (dict(delta=0.0), "delta"),
        (dict(delta=-0.5), "delta"),
        (dict(domain=(3.0, 3.0)), "domain"),
        (dict(domain=(7.0, -2.0)), "domain"),
        (dict(domain=(0.1, 0.2)), "no multiple"),
        (dict(method="SGD"), "method"),
        (dict(steps=0), "steps"),
        (dict(chains=0), "chains"),
        (dict(w0=10.0), "w0"),
    ],
)
def test_simulate_rejects_bad_input(kwargs, match):
    args = dict(method="SR", alpha=0.1, steps=10, sigma=1.0, delta=0.5, domain=(-2.0, 7.0), chains=1, w0=4.0)
    args.update(kwargs)
    method, alpha, steps = args.pop("method"), args.pop("alpha"), args.pop("steps")
    with pytest.raises(ValueError, match=match):
        simulate(method, alpha, steps, **args)


def test_public_names_are_importable_from_sr_vs_bc():
    for name in ("loss", "grad", "simulate", "sr_transition_matrix", "stationary_distribution",
                 "limit_transition_matrix", "mixing_time", "main"):
        assert callable(getattr(sr_vs_bc, name))


def test_command_fast_mode_writes_figures_report_and_tables(tmp_path, capsys):
    assert sr_vs_bc.main(["--fast", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"fig2_toy_problem.png", "fig3_markov_chain.png", "fig_convex.png", "fig_big_batch.png", "sr_vs_bc.md"} <= names
    text = (tmp_path / "sr_vs_bc.md").read_text()
    assert "## Claims ledger" in text and "Theorem 6" in text
    assert "σ = 1" in text and "σ = 2" in text and "does not state the σ of Figure 2" in text
    printed = capsys.readouterr().out
    assert "| α |" in printed and "wrote:" in printed and str(tmp_path / "sr_vs_bc.md") in printed


@pytest.mark.parametrize("command", ["markov_main", "big_batch_main"])
def test_part_commands_print_their_tables(command, tmp_path, capsys):
    from toy_problems import sr_vs_bc_commands

    assert getattr(sr_vs_bc_commands, command)(["--fast", "--out", str(tmp_path)]) == 0
    assert "| " in capsys.readouterr().out and any(tmp_path.glob("*.png"))


def test_every_figure_panel_has_labelled_axes(tmp_path, monkeypatch):
    # a panel's x axis is labelled if it, or a panel of the same grid column, carries an x label
    # (shared axes label the outer panels only); likewise y by grid row
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    unlabelled = []
    original = Figure.savefig

    def checking_savefig(fig, path, *args, **kwargs):
        axes = [ax for ax in fig.axes if ax.axison]
        for ax in axes:
            spec = ax.get_subplotspec()
            rows, cols = set(spec.rowspan), set(spec.colspan)
            same_col = [a for a in axes if set(a.get_subplotspec().colspan) & cols]
            same_row = [a for a in axes if set(a.get_subplotspec().rowspan) & rows]
            if not any(a.get_xlabel() for a in same_col) or not any(a.get_ylabel() for a in same_row):
                unlabelled.append(f"{path}: panel {ax.get_title()!r}")
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checking_savefig)
    results = sr_vs_bc.run_experiments(fast=True, sigmas=(2.0,))
    paths = sr_vs_bc.write_figures(results, tmp_path)
    assert len(paths) == 5
    assert not unlabelled, unlabelled
