"""Seed 003's training options (§4.2, §5.1) and seed 002's finite grid: kernel-wise step sizes for
UniQ / LSQ weights, 8-bit first and last layers, the number of batches that initialize an
activation step, and the R / SR domain clip."""

import math

import numpy as np
import pytest

from tinyquant import Tensor, gradcheck
from tinyquant.nn import quantizable_layers
from tinyquant.nn.models import digits_cnn, mlp
from tinyquant.optim import SGD
from tinyquant.quant import get_quantizer
from tinyquant.quant.config import configure_quantization as configure_setup
from tinyquant.quant.uniform import LSQ, LSQFunction, UniQWeightFunction


def parse(*argv):
    """``tinyquant train``'s own parser, so the options are tested where users give them; the
    QuantConfig they make (validated: an option that acts on nothing raises here)."""
    from tinyquant.cli import Parser, add_train_arguments, config_from_args

    return config_from_args(add_train_arguments(Parser()).parse_args(list(argv))).quant


def configure_quantization(model, quant):
    setup = configure_setup(model, quant)
    return setup.model, setup.callbacks, setup.regime, setup.param_groups


def conv_weight(seed=0, channels=6):
    rng = np.random.default_rng(seed)
    # channels of very different spread, so one layer-wise step would not fit them all
    return rng.normal(size=(channels, 2, 3, 3)) * np.geomspace(0.01, 1.0, channels)[:, None, None, None]


# ------------------------------------------------------------ kernel-wise steps (§5.1)


@pytest.mark.parametrize("name, kwargs, step", [("uniq", {"bits": 2}, "step"), ("uniq", {"bits": 3, "step_init": "lsq"}, "step"),
                                                 ("lsq", {"bits": 3}, "s")])
def test_each_channel_step_is_the_step_of_that_channel_alone(name, kwargs, step):
    w = conv_weight()
    q = get_quantizer(name, granularity="channel", channels=w.shape[0], **kwargs)
    out = q(Tensor(w)).data
    assert getattr(q, step).shape == (w.shape[0],)
    for c in range(w.shape[0]):
        alone = get_quantizer(name, **kwargs)
        out_c = alone(Tensor(w[c:c + 1])).data
        assert float(getattr(q, step).data[c]) == pytest.approx(float(getattr(alone, step).data), rel=1e-6)
        np.testing.assert_allclose(out[c:c + 1], out_c, rtol=1e-6)
        np.testing.assert_array_equal(q.codes(w)[c:c + 1], alone.codes(w[c:c + 1]))
        # α (the clipping scale of seed 000's weight clipping) per channel, broadcastable against w
        np.testing.assert_allclose(np.broadcast_to(q.scale(w), w.shape)[c:c + 1],
                                   np.broadcast_to(alone.scale(w[c:c + 1]), (1,) + w.shape[1:]), rtol=1e-6)


def test_kernel_wise_uniq_step_is_the_optimal_unit_step_times_each_channel_std():
    from tinyquant.quant.functional import optimal_unit_step

    w = conv_weight(1, channels=4)
    q = get_quantizer("uniq", bits=2, granularity="channel", channels=4)
    q(Tensor(w))
    expected = optimal_unit_step(4, "weight") * w.reshape(4, -1).std(axis=1)      # seed 003, eq. 9
    np.testing.assert_allclose(q.step.data, expected, rtol=1e-6)


def test_a_constant_channel_takes_the_layer_step_instead_of_zero():
    w = conv_weight(2, channels=3)
    w[1] = 0.25
    q = get_quantizer("uniq", bits=2, granularity="channel", channels=3)
    q(Tensor(w))
    layer = get_quantizer("uniq", bits=2)
    layer(Tensor(w))
    assert float(q.step.data[1]) == pytest.approx(float(layer.step.data), rel=1e-6)
    assert np.all(q.step.data > 0)


def clipped_weights(steps, levels, seed):
    """Weights beyond each channel's clipping level α_c = Δ_c(N − 1)/2 (by 10 % to 3×), where Q_w = ±α_c
    is smooth in Δ_c, so that finite differences see the true derivative (inside, eq. 6 is an STE)."""
    rng = np.random.default_rng(seed)
    alpha = steps * (levels - 1) / 2
    mags = rng.uniform(1.1, 3.0, size=(len(steps), 2, 3, 3)) * alpha[:, None, None, None]
    return mags * rng.choice([-1.0, 1.0], size=mags.shape)


def eq6(x, step, levels):
    """∂Q_w/∂Δ of seed 003 eq. 6 (clipped branch sign(x)(N − 1)/2, see UniQWeightFunction)."""
    alpha = step * (levels - 1) / 2
    return np.where(np.abs(x) < alpha, -x / step + np.round(x / step - 0.5) + 0.5, np.sign(x) * (levels - 1) / 2)


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_per_channel_uniq_step_gradient_matches_finite_differences_where_q_is_smooth(levels):
    steps = np.array([0.004, 0.01, 0.03, 0.1, 0.4])
    w = clipped_weights(steps, levels, levels)
    gradcheck(lambda x, s: UniQWeightFunction.apply(x, s.reshape(-1, 1, 1, 1), levels=levels), w, steps, wrt=[1])


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_per_channel_uniq_step_gradient_is_equation_6_summed_over_each_channel(levels):
    w = conv_weight(3, channels=5)
    steps = np.array([0.004, 0.01, 0.03, 0.1, 0.4]) * (4 / levels)
    g = np.random.default_rng(9).normal(size=w.shape)
    st_ = Tensor(steps, requires_grad=True)
    (UniQWeightFunction.apply(Tensor(w), st_.reshape(-1, 1, 1, 1), levels=levels) * Tensor(g)).sum().backward()
    expected = (g * eq6(w, steps[:, None, None, None], levels)).reshape(5, -1).sum(axis=1)
    np.testing.assert_allclose(st_.grad, expected, rtol=1e-10)


def test_per_channel_lsq_step_gradient_matches_finite_differences_and_uses_n_per_channel():
    steps = np.array([0.005, 0.02, 0.08, 0.3])
    rng = np.random.default_rng(4)
    v = rng.uniform(4.3, 9.0, size=(4, 2, 3, 3)) * rng.choice([-1.0, 1.0], size=(4, 2, 3, 3))   # beyond −Q_n, Q_p
    gradcheck(lambda x, s: LSQFunction.apply(x, s.reshape(-1, 1, 1, 1), qn=4, qp=3, grad_scale=1.0),
              v * steps[:, None, None, None], steps, wrt=[1])
    w = conv_weight(4, channels=4)
    q = get_quantizer("lsq", bits=3, granularity="channel", channels=4)
    (q(Tensor(w)) * Tensor(np.ones_like(w))).sum().backward()
    # LSQ eq. 3 with §2.2's gradient scale 1/√(N·Q_p), N = 2·3·3 = 18: the weights that share one step
    s = q.s.data.astype(np.float64)[:, None, None, None]
    r = w / s
    dq = np.where(r <= -4, -4, np.where(r >= 3, 3, np.round(r) - r))
    np.testing.assert_allclose(q.s.grad, dq.reshape(4, -1).sum(axis=1) / math.sqrt(18 * 3), rtol=1e-4, atol=1e-6)


def test_channel_granularity_rejects_a_weight_with_another_channel_count():
    q = get_quantizer("uniq", bits=2, granularity="channel", channels=4)
    with pytest.raises(ValueError, match="per output channel for 4 channels"):
        q(Tensor(np.ones((5, 3))))
    with pytest.raises(ValueError, match="needs channels"):
        get_quantizer("lsq", bits=2, granularity="channel")
    with pytest.raises(ValueError, match="granularity must be one of layer, channel"):
        get_quantizer("uniq", granularity="kernel")
    with pytest.raises(ValueError, match="layer-wise"):
        LSQ(2, signed=False, granularity="channel", channels=3)


def test_step_granularity_option_gives_every_layer_one_step_per_output_channel():
    model = digits_cnn(rng=0)
    configure_quantization(model, parse("--quantizer", "uniq", "--step-granularity", "channel"))
    quantized = [la for la in quantizable_layers(model) if la.weight_quantizer is not None]
    assert quantized
    for layer in quantized:
        assert layer.weight_quantizer.step.shape == (layer.weight.shape[0],)
    with pytest.raises(ValueError, match="needs --quantizer uniq or lsq"):
        configure_quantization(mlp(), parse("--quantizer", "xnor", "--step-granularity", "channel"))


def test_a_kernel_wise_checkpoint_loads_into_a_fresh_model():
    model = digits_cnn(rng=0)
    configure_quantization(model, parse("--quantizer", "lsq", "--step-granularity", "channel"))
    model(Tensor(np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)))
    fresh = digits_cnn(rng=1)
    configure_quantization(fresh, parse("--quantizer", "lsq", "--step-granularity", "channel"))
    fresh.load_state_dict(model.state_dict())
    for a, b in zip(quantizable_layers(model), quantizable_layers(fresh)):
        if a.weight_quantizer is not None:
            np.testing.assert_array_equal(a.weight_quantizer.s.data, b.weight_quantizer.s.data)


# ------------------------------------------------------------ 8-bit first and last layers (§5.1)


@pytest.mark.parametrize("quantizer, step", [("uniq", "step"), ("lsq", "s")])
def test_edge_bits_quantize_the_first_and_last_layers_to_eight_bits(quantizer, step):
    model = mlp(rng=0)
    configure_quantization(model, parse("--quantizer", quantizer, "--weight-bits", "2", "--act-bits", "2",
                                        "--edge-bits", "8"))
    layers = quantizable_layers(model)
    first, middle, last = layers[0], layers[1], layers[-1]
    assert first.weight_quantizer.num_levels == last.weight_quantizer.num_levels == 2**8
    assert middle.weight_quantizer.num_levels == 4
    assert first.activation_quantizer is None                  # the data itself, not an activation
    assert last.activation_quantizer.num_levels == 256 and middle.activation_quantizer.num_levels == 4
    x = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    model(Tensor(x))
    w = first.weight.data
    assert len(np.unique(first.weight_quantizer.quantize(w))) > 16   # far more than 2-bit levels
    assert float(getattr(first.weight_quantizer, step).data) < float(getattr(middle.weight_quantizer, step).data)


def test_without_edge_bits_first_and_last_stay_full_precision_and_edge_bits_need_a_bit_quantizer():
    model = mlp(rng=0)
    configure_quantization(model, parse("--quantizer", "uniq", "--act-bits", "2"))
    layers = quantizable_layers(model)
    assert layers[0].weight_quantizer is None and layers[-1].weight_quantizer is None
    with pytest.raises(ValueError, match="--edge-bits 8 acts on nothing"):
        configure_quantization(mlp(), parse("--quantizer", "xnor", "--edge-bits", "8"))
    with pytest.raises(ValueError, match="--edge-bits 8 acts on nothing"):
        configure_quantization(mlp(), parse("--quantizer", "uniq", "--edge-bits", "8", "--no-keep-first",
                                            "--no-keep-last"))


# ------------------------------------------------------------ init_batches (§4.2, eq. 10)


def test_init_batches_sets_the_step_from_the_largest_of_the_first_n_batches_then_stops():
    from tinyquant.quant.functional import optimal_unit_step

    model = mlp(rng=0)
    configure_quantization(model, parse("--quantizer", "uniq", "--act-bits", "2", "--init-batches", "3"))
    q = quantizable_layers(model)[1].activation_quantizer
    assert q.init_batches == 3
    rng = np.random.default_rng(0)
    scales, xs = [0.5, 2.0, 1.0, 9.0], []
    for s in scales:
        x = np.abs(rng.normal(size=(16, 256))).astype(np.float32) * s
        q(Tensor(x))
        xs.append(x)
    sigma = max(math.sqrt(2 * np.mean(x.astype(np.float64) ** 2)) for x in xs[:3])      # 4th batch not used
    assert float(q.step.data) == pytest.approx(optimal_unit_step(4, "activation") * sigma, rel=1e-6)
    with pytest.raises(ValueError, match="--init-batches 3 acts on nothing"):
        configure_quantization(mlp(), parse("--quantizer", "uniq", "--init-batches", "3"))
    with pytest.raises(ValueError, match="init_batches"):
        get_quantizer("uniq_activation", bits=2, init_batches=0)


# ------------------------------------------------------------ the R / SR domain clip (seed 002 §4)


@pytest.mark.parametrize("regime_name", ["r", "sr"])
def test_grid_clip_bounds_the_stored_weights(regime_name):
    from tinyquant.data import DataLoader, get_dataset
    from tinyquant.train import Trainer

    model = mlp(64, hidden=(32,), rng=0)
    _, _, regime, groups = configure_quantization(model, parse("--regime", regime_name, "--grid-delta", "0.02",
                                                               "--grid-clip", "0.04", "--no-keep-first"))
    assert regime.clip == 0.04
    data = get_dataset("digits")
    loader = DataLoader(data.x_train[:128].reshape(128, -1), data.y_train[:128], 64, shuffle=True, seed=0)
    Trainer(model, SGD(groups, lr=0.5), loader, epochs=1, regime=regime, show_progress=False).fit()
    w = quantizable_layers(model)[0].weight.data
    assert set(np.round(np.unique(w) / 0.02).astype(int)) <= {-2, -1, 0, 1, 2}
    assert np.abs(w).max() == pytest.approx(0.04)                  # the bound is reached, and held
    with pytest.raises(ValueError, match="--grid-clip 0.04 acts on nothing"):
        configure_quantization(mlp(), parse("--quantizer", "uniq", "--grid-clip", "0.04"))
    with pytest.raises(ValueError, match=r"--grid-clip 0.0: expected a number > 0"):
        parse("--grid-clip", "0")
