"""Quantized training: BC vs R on least squares (seed 002 §3), weight clipping, the regimes,
the diagnostics, the CLI glue, and binary / ternary CNNs trained with `tinyquant train`'s defaults."""

import argparse
import json
import math

import numpy as np
import pytest

from tinyquant import Tensor
from tinyquant.nn import Linear, Sequential, quantizable_layers
from tinyquant.optim import SGD
from tinyquant.quant import get_quantizer
from tinyquant.quant.clipping import WeightClipping, clip_latent_weights
from tinyquant.quant.config import add_quant_arguments, configure_quantization
from tinyquant.quant.diagnostics import ChangedLevels, QuantizerTrace, sqnr_db
from tinyquant.quant.rounding import deterministic_round

# ------------------------------------------------- seed 002 §3 on least squares


def least_squares(seed=0, d=5, m=400):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d))
    # the optimum sits a quarter step away from every grid point of Δ = 0.25
    w_star = (rng.integers(-4, 4, size=d) + 0.25 + 0.5 * rng.integers(0, 2, size=d)) * 0.25
    return A, A @ w_star, w_star


def test_binaryconnect_time_average_approaches_the_optimum_while_rounding_stalls():
    A, b, w_star = least_squares()
    m, delta, lr, steps = len(b), 0.25, 0.05, 4000
    grid_error = np.min(np.abs(w_star[:, None] - delta * np.arange(-40, 41)), axis=1)
    assert np.all(grid_error >= delta / 4 - 1e-12)   # no grid point is closer than Δ/4

    # BC (eq. 7): w_r ← w_r − lr·∇F(Q(w_r)), with the quantizer and its identity STE in the graph
    quantizer = get_quantizer("deterministic_round", delta=delta)
    w_r = Tensor(np.zeros(5), requires_grad=True)
    opt = SGD([w_r], lr=lr)
    average, buffer_max = np.zeros(5), 0.0
    for t in range(steps):
        wq = quantizer(w_r)
        residual = Tensor(A) @ wq - Tensor(b)
        loss = (residual * residual).sum() * (0.5 / m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if t >= steps // 2:
            average += wq.data / (steps - steps // 2)
        buffer_max = max(buffer_max, np.abs(w_r.data).max())
    # The gradient H(Q − w*) is linear, so Σ_t lr·H(Q_t − w*) = w_r(start) − w_r(end): with a
    # bounded buffer the averaged error is O(buffer / (lr·T)) — far below the grid's Δ/4.
    assert buffer_max < np.abs(w_star).max() + delta
    assert np.max(np.abs(average - w_star)) < 0.02 < delta / 4

    # R (eq. 4): w_b ← Qd(w_b − lr·∇F(w_b)), from w_b = 0 with the same and with a small lr
    def run_r(lr_r, iters=2000):
        w_b = np.zeros(5)
        for _ in range(iters):
            w_b = deterministic_round(w_b - lr_r * A.T @ (A @ w_b - b) / m, delta)
        return w_b

    w_b = run_r(lr)
    g = A.T @ (A @ w_b - b) / m
    assert np.all(lr * np.abs(g) < delta / 2)                 # every update is rounded away:
    np.testing.assert_array_equal(deterministic_round(w_b - lr * g, delta), w_b)   # a fixed point
    assert np.max(np.abs(w_b - w_star)) >= delta / 4          # stuck on the grid
    small = 0.1 * delta / np.abs(A.T @ b / m).max()           # lr·|∇F(0)| < Δ/2 at the start
    np.testing.assert_array_equal(run_r(small), 0.0)          # R never leaves its start


# ------------------------------------------------------------ weight clipping


def two_layer(quantizer):
    model = Sequential(Linear(6, 8, rng=0), Linear(8, 3, rng=1))
    for layer in quantizable_layers(model):
        layer.weight_quantizer = get_quantizer(quantizer)
        layer.weight.data[...] *= 20   # push latent weights far out
    return model


@pytest.mark.parametrize("factor", [0.75, 1.0, 2.0, 4.0])
def test_weight_clipping_keeps_latent_weights_within_f_alpha(factor):
    model = two_layer("xnor")
    alphas = [np.abs(layer.weight.data).mean(axis=1, keepdims=True) for layer in quantizable_layers(model)]
    clip_latent_weights(model, factor)
    for layer, alpha in zip(quantizable_layers(model), alphas):
        assert np.all(np.abs(layer.weight.data) <= factor * alpha * (1 + 1e-6))


def test_weight_clipping_for_ttq_uses_wp_above_and_wn_below():
    model = two_layer("ttq")
    layer = quantizable_layers(model)[0]
    layer.weight_quantizer.w_p.data[...] = 0.5
    layer.weight_quantizer.w_n.data[...] = 0.25
    layer.weight_quantizer.initialized[...] = True
    clip_latent_weights(model, 2.0)
    w = layer.weight.data
    assert w.max() <= 1.0 + 1e-6 and w.min() >= -0.5 - 1e-6


def test_infinite_clip_factor_changes_nothing_and_bad_factors_raise():
    model = two_layer("xnor")
    before = [layer.weight.data.copy() for layer in quantizable_layers(model)]
    assert clip_latent_weights(model, math.inf) == 0
    for layer, w in zip(quantizable_layers(model), before):
        np.testing.assert_array_equal(layer.weight.data, w)
    for bad in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match="factor must be > 0"):
            WeightClipping(bad)


# ------------------------------------------------------------- diagnostics


def test_changed_levels_counts_the_percentage_of_flipped_weights():
    model = two_layer("binary_connect")
    layer = quantizable_layers(model)[0]

    class FakeTrainer:
        pass

    trainer = FakeTrainer()
    trainer.model = model
    cb = ChangedLevels()
    cb.on_train_begin(trainer)
    w = layer.weight.data
    flip = np.zeros(w.size, bool)
    flip[:12] = True
    w.reshape(-1)[flip] *= -1           # 12 of 48 weights change sign
    cb.on_epoch_end(trainer, 0, {})
    assert cb.history["since_init"]["0"] == [pytest.approx(100 * 12 / 48)]
    assert cb.history["since_init"]["1"] == [0.0]


def test_changed_levels_of_stored_binary_weights_counts_sign_changes():
    model = mlp()
    layer = quantizable_layers(model)[0]
    trainer = type("FakeTrainer", (), {})()
    trainer.model = model
    cb = ChangedLevels(layers=[("first", layer)], delta=1.0, binary=True)
    cb.on_train_begin(trainer)
    w = layer.weight.data
    w[...] = np.where(w >= 0, 1.0, -1.0) * 0.3          # same signs, other magnitude: no change
    w.reshape(-1)[:8] *= -1                               # 8 of 32 weights change sign
    cb.on_epoch_end(trainer, 0, {})
    assert cb.history["since_init"]["first"] == [pytest.approx(100 * 8 / 32)]


def test_sqnr_of_a_known_error():
    x = np.array([1.0, -1.0, 1.0, -1.0])
    assert sqnr_db(x, x * 0.9) == pytest.approx(10 * np.log10(1 / 0.01))


def test_sqnr_is_the_variance_over_the_error_so_an_offset_does_not_raise_it():
    # seed 003's Table 1 divides Var(x), not E[x²], by the MSE; with a mean of 5 the two differ
    # by 10·log10((25 + 1)/1) ≈ 14 dB, and for ReLU activations by ≈ 1.7 dB
    x = 5.0 + np.random.default_rng(0).standard_normal(10_000)
    q = deterministic_round(x, 0.5)
    mse = np.mean((x - q) ** 2)
    assert sqnr_db(x, q) == pytest.approx(10 * np.log10(np.var(x) / mse), rel=1e-12)
    assert 10 * np.log10(np.mean(x**2) / mse) - sqnr_db(x, q) > 13.0
    assert sqnr_db(x + 100.0, q + 100.0) == pytest.approx(sqnr_db(x, q), rel=1e-9)


def test_quantizer_trace_reports_seed_003s_sqnr_of_a_non_zero_mean_weight():
    model = Sequential(Linear(16, 32, rng=0))
    layer = quantizable_layers(model)[0]
    layer.weight.data[...] = 0.5 + 0.1 * np.random.default_rng(1).standard_normal(layer.weight.shape)
    layer.weight_quantizer = q = get_quantizer("uniq", bits=2)
    q(Tensor(layer.weight.data))                                # initializes Δ (eq. 9)
    trainer = type("FakeTrainer", (), {"model": model, "global_step": 0})()
    trace = QuantizerTrace()
    trace.on_train_begin(trainer)
    trace.on_batch_end(trainer, {})
    w = layer.weight.data.astype(np.float64)
    mse = np.mean((w - q.quantize(w)) ** 2)
    assert trace.history["sqnr"]["0.weight_quantizer"] == [pytest.approx(10 * np.log10(np.var(w) / mse), rel=1e-6)]


# ------------------------------------------------------------- CLI glue


def parse(*argv):
    parser = add_quant_arguments(argparse.ArgumentParser())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--optimizer", default="sgd")
    return parser.parse_args(list(argv))


def mlp():
    return Sequential(Linear(4, 8, rng=0), Linear(8, 8, rng=1), Linear(8, 3, rng=2))


def test_configure_quantization_plugs_quantizers_and_excludes_them_from_weight_decay():
    model, callbacks, regime, groups = configure_quantization(mlp(), parse("--quantizer", "uniq", "--act-bits", "2",
                                                                         "--clip", "4", "--ste", "clipped"))
    layers = quantizable_layers(model)
    assert layers[0].weight_quantizer is None and layers[2].weight_quantizer is None   # keep first/last
    assert layers[1].weight_quantizer.name == "uniq" and layers[1].activation_quantizer.name == "uniq_activation"
    assert regime is None
    assert [type(c).__name__ for c in callbacks] == ["WeightClipping"]
    quant = {id(p) for p in layers[1].weight_quantizer.parameters()} | {id(p) for p in layers[1].activation_quantizer.parameters()}
    assert groups[1]["weight_decay"] == 0.0 and {id(p) for p in groups[1]["params"]} == quant
    assert not quant & {id(p) for p in groups[0]["params"]}


def test_configure_quantization_without_a_quantizer_changes_nothing():
    model, callbacks, regime, groups = configure_quantization(mlp(), parse())
    assert callbacks == [] and regime is None and groups is None
    assert all(layer.weight_quantizer is None for layer in quantizable_layers(model))


def test_configure_alternating_regime_keeps_thresholds_out_of_the_weight_optimizer():
    model, _, regime, groups = configure_quantization(
        mlp(), parse("--quantizer", "truncated_gaussian_ternary", "--regime", "alternating", "--no-keep-first"))
    deltas = {id(layer.weight_quantizer.delta) for layer in quantizable_layers(model) if layer.weight_quantizer}
    assert len(deltas) == 2
    assert not deltas & {id(p) for g in groups for p in g["params"]}
    assert {id(p) for p in regime.threshold_optimizer.param_groups[0]["params"]} == deltas
    assert regime.threshold_optimizer.param_groups[0]["weight_decay"] == 0.0


def test_step_init_option_reaches_uniq_weights_and_activations():
    model, *_ = configure_quantization(mlp(), parse("--quantizer", "uniq", "--act-bits", "2",
                                                    "--step-init", "0.2"))
    layer = quantizable_layers(model)[1]
    assert layer.weight_quantizer.step_init == 0.2 and layer.activation_quantizer.step_init == 0.2
    model, *_ = configure_quantization(mlp(), parse("--quantizer", "uniq", "--step-init", "lsq"))
    assert quantizable_layers(model)[1].weight_quantizer.step_init == "lsq"


def test_threshold_options_reach_the_truncated_gaussian_ternarizer():
    model, _, regime, _ = configure_quantization(
        mlp(), parse("--quantizer", "truncated_gaussian_ternary", "--regime", "alternating",
                     "--no-gradient-correctness", "--threshold-init", "0.05",
                     "--threshold-optimizer", "adam"))
    q = quantizable_layers(model)[1].weight_quantizer
    assert q.gradient_correctness is False and q.init_factor == 0.05
    assert type(regime.threshold_optimizer).__name__ == "Adam"
    assert regime.threshold_optimizer.param_groups[0]["weight_decay"] == 0.0
    model, _, regime, _ = configure_quantization(
        mlp(), parse("--quantizer", "truncated_gaussian_ternary", "--regime", "alternating"))
    q = quantizable_layers(model)[1].weight_quantizer
    assert q.gradient_correctness is True and q.init_factor == 0.1
    assert type(regime.threshold_optimizer).__name__ == "SGD"


def test_scheduled_ste_adds_the_scheduler_callback():
    _, callbacks, _, _ = configure_quantization(mlp(), parse("--quantizer", "xnor", "--ste", "ab_tanh"))
    assert [type(c).__name__ for c in callbacks] == ["STEScheduler"]


@pytest.mark.parametrize("argv,ste", [
    (["--quantizer", "binary_connect", "--regime", "bc"], "identity"),       # seed 002, eq. 7
    (["--quantizer", "stochastic_binary", "--regime", "bc"], "identity"),
    (["--quantizer", "binary_connect", "--regime", "bc", "--ste", "clipped"], "clipped"),
    (["--quantizer", "binary_connect"], "clipped"),                          # its own default
    (["--quantizer", "xnor", "--regime", "bc"], "identity"),
    (["--quantizer", "uniq", "--regime", "bc"], None),                       # UniQ's own STE
])
def test_bc_regime_trains_with_the_identity_ste_unless_told_otherwise(argv, ste):
    model, *_ = configure_quantization(mlp(), parse(*argv))
    q = quantizable_layers(model)[1].weight_quantizer
    assert (q.ste.name if q.ste is not None else None) == ste


def test_bc_regime_does_not_freeze_latent_weights_past_one():
    # with the clipped STE a latent weight with |w_r| > 1 gets no gradient and never moves
    model, *_ = configure_quantization(mlp(), parse("--quantizer", "binary_connect", "--regime", "bc"))
    layer = quantizable_layers(model)[1]
    layer.weight.data[...] = 1.5 * np.sign(layer.weight.data)
    out = model(Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)))
    out.sum().backward()
    assert np.all(layer.weight.grad != 0)


@pytest.mark.parametrize("quantizer", ["stochastic_binary", "stochastic_round"])
def test_same_seed_gives_bit_identical_parameters_with_and_without_diagnostics(quantizer, tmp_path):
    # regression: the diagnostics called quantize()/codes(), which ran the training forward and
    # drew from the stochastic quantizer's stream (0.5627 vs 0.4903 test accuracy, same seed)
    from tinyquant.nn.models import mlp as build_mlp

    finals = []
    for diagnostics in (False, True):
        model = build_mlp(64, hidden=(32,), rng=0)
        argv = ["--quantizer", quantizer, "--no-keep-first", "--out", str(tmp_path / str(diagnostics))]
        model, callbacks, regime, groups = configure_quantization(model, parse(*argv + ["--diagnostics"] * diagnostics))
        assert any(type(c).__name__ == "ChangedLevels" for c in callbacks) == diagnostics
        tiny_trainer(model, regime, SGD(groups or model.parameters(), lr=0.1), epochs=2, callbacks=callbacks).fit()
        finals.append([p.data.copy() for p in model.parameters()])
    assert len(finals[0]) == len(finals[1])
    for a, b in zip(*finals):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("argv,message", [
    (["--clip", "-1"], "factor must be > 0"),
    (["--quantizer", "binarize"], "invalid choice"),
    (["--act-bits", "-2"], "must be >= 0"),
    (["--step-init", "big"], "step_init must be one of optimal, lsq"),
    (["--threshold-init", "-0.1"], "must be a finite number >= 0"),
])
def test_bad_cli_values_are_rejected_by_argparse(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--quantizer", "lsq", "--ste", "tanh"], "fixed estimator"),
    (["--quantizer", "uniq", "--weight-bits", "0"], "bits must be >= 1"),
    (["--quantizer", "xnor", "--regime", "alternating"], "truncated_gaussian_ternary"),
    (["--quantizer", "xnor", "--regime", "r"], "stored quantized"),
    (["--quantizer", "lsq", "--step-init", "lsq"], "--step-init lsq has no effect"),
    (["--quantizer", "ttq", "--no-gradient-correctness"], "--no-gradient-correctness has no effect"),
    (["--quantizer", "ttq", "--threshold-init", "0.2"], "--threshold-init 0.2 has no effect"),
    (["--quantizer", "truncated_gaussian_ternary", "--threshold-optimizer", "adam"],
     "needs --regime alternating"),
    (["--quantizer", "xnor", "--binary-rounding"], "needs --regime r or sr"),
])
def test_inconsistent_options_raise_value_errors(argv, message):
    with pytest.raises(ValueError, match=message):
        configure_quantization(mlp(), parse(*argv))


# ----------------------------------------- regimes through the Trainer (tiny data)


def tiny_trainer(model, regime, optimizer, epochs=1, callbacks=()):
    from tinyquant.data import DataLoader, get_dataset
    from tinyquant.train import Trainer

    data = get_dataset("digits")
    loader = DataLoader((data.x_train[:256].reshape(256, -1), data.y_train[:256]), 64, shuffle=True, seed=0)
    return Trainer(model, optimizer, loader, epochs=epochs, regime=regime, callbacks=callbacks,
                   show_progress=False)


@pytest.mark.parametrize("regime_name", ["r", "sr"])
def test_rounding_regimes_keep_the_weights_on_the_grid(regime_name):
    from tinyquant.nn.models import mlp as build_mlp

    model = build_mlp(64, hidden=(32,), rng=0)
    _, _, regime, groups = configure_quantization(model, parse("--regime", regime_name, "--grid-delta", "0.02",
                                                               "--no-keep-first"))
    trainer = tiny_trainer(model, regime, SGD(groups, lr=0.1))
    trainer.fit()
    w = quantizable_layers(model)[0].weight.data
    np.testing.assert_allclose(w / 0.02, np.round(w / 0.02), atol=1e-3)


def test_binary_rounding_is_sign_deterministically_and_unbiased_stochastically():
    from tinyquant.quant.regimes import binary_round

    w = np.array([-2.0, -0.5, 0.0, 0.25, 3.0])
    np.testing.assert_array_equal(binary_round(w, 1.0), [-1, -1, 1, 1, 1])       # sign(0) = +1
    rng = np.random.default_rng(3)
    x = np.full(200_000, 0.3)
    q = binary_round(x, 0.5, rng)
    assert set(np.unique(q)) == {-0.5, 0.5}
    # P(+Δ) = (0.3/0.5 + 1)/2 = 0.8, so E[Q] = 0.3; std of the mean Δ·2·√(p(1−p)/n)
    assert abs(q.mean() - 0.3) < 5 * 0.5 * 2 * np.sqrt(0.8 * 0.2 / x.size)
    assert set(np.unique(binary_round(np.array([-7.0, 7.0]), 1.0, rng))) == {-1.0, 1.0}   # clipped p


@pytest.mark.parametrize("regime_name", ["r", "sr"])
def test_binary_rounding_regimes_keep_two_levels(regime_name):
    from tinyquant.nn.models import mlp as build_mlp

    model = build_mlp(64, hidden=(32,), rng=0)
    _, _, regime, groups = configure_quantization(model, parse("--regime", regime_name, "--grid-delta", "0.1",
                                                               "--binary-rounding", "--no-keep-first"))
    tiny_trainer(model, regime, SGD(groups, lr=0.1)).fit()
    assert set(np.unique(quantizable_layers(model)[0].weight.data)) == {np.float32(-0.1), np.float32(0.1)}


def test_rounding_regimes_round_before_the_callbacks_see_the_weights():
    from tinyquant.nn.models import mlp as build_mlp
    from tinyquant.train.callbacks import Callback

    model = build_mlp(64, hidden=(32,), rng=0)
    _, _, regime, groups = configure_quantization(model, parse("--regime", "sr", "--binary-rounding",
                                                               "--grid-delta", "0.5", "--no-keep-first"))
    seen = {}

    class Spy(Callback):
        def on_train_begin(self, trainer):
            seen["w"] = quantizable_layers(model)[0].weight.data.copy()

    tiny_trainer(model, regime, SGD(groups, lr=0.0), callbacks=[Spy()]).fit()
    assert set(np.unique(seen["w"])) == {np.float32(-0.5), np.float32(0.5)}


def test_stochastic_rounding_in_training_is_independent_of_the_weights_initialization():
    """Regression: the trainer's Generator and the model's were both default_rng(seed), so
    the first stochastic rounding reused the uniform numbers that drew the weights and
    binary SR flipped the sign of every weight. Independent streams keep the sign of a
    weight w with probability (1 + |w|)/2 > 1/2."""
    from tinyquant.data import get_dataset
    from tinyquant.nn.models import build_model
    from tinyquant.train import Trainer

    data = get_dataset("mnist1d")
    for seed in (0, 1):
        model = build_model("mnist1d_cnn", data.input_shape, data.num_classes, rng=seed)
        _, _, regime, _ = configure_quantization(model, parse("--regime", "sr", "--binary-rounding",
                                                              "--grid-delta", "1", "--no-keep-first"))
        w0 = [p.data.copy() for p in regime.params]
        regime.round_params(Trainer(model, SGD(model.parameters(), lr=0.0), [], seed=seed).rng)
        kept = np.mean(np.concatenate([(np.sign(p.data) == np.where(w >= 0, 1, -1)).ravel()
                                       for p, w in zip(regime.params, w0)]))
        expected = np.mean(np.concatenate([(1 + np.abs(w.ravel())) / 2 for w in w0]))
        n = sum(w.size for w in w0)
        assert abs(kept - expected) < 5 * np.sqrt(0.25 / n), (seed, kept, expected)


def test_alternating_regime_trains_thresholds_and_weights():
    from tinyquant.nn.models import mlp as build_mlp

    model = build_mlp(64, hidden=(32,), rng=0)
    model, _, regime, groups = configure_quantization(
        model, parse("--quantizer", "truncated_gaussian_ternary", "--regime", "alternating", "--no-keep-first",
                     "--threshold-lr", "0.001"))
    q = quantizable_layers(model)[0].weight_quantizer
    w0 = quantizable_layers(model)[0].weight.data.copy()
    trainer = tiny_trainer(model, regime, SGD(groups, lr=0.05))
    trainer.fit()
    assert float(q.delta.data) != pytest.approx(0.1 * np.abs(w0).max(), rel=1e-9)   # δ moved
    assert not np.allclose(quantizable_layers(model)[0].weight.data, w0)            # w moved


# ------------------------------------------- binary and ternary CNNs via the CLI


@pytest.mark.parametrize("quantizer", ["xnor", "ttq"])
def test_binary_and_ternary_cnns_reach_90_percent_on_digits_with_cli_defaults(quantizer, tmp_path):
    from tinyquant.cli import run_train, train_namespace

    history = run_train(train_namespace(quantizer=quantizer, no_progress=True, out=str(tmp_path),
                                        diagnostics=True))
    assert history[-1]["test_accuracy"] >= 0.90
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    changed = diagnostics["ChangedLevels"]["since_init"]
    assert changed and all(0 <= v <= 100 for series in changed.values() for v in series)
