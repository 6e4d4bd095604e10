"""Sign activations (BinaryNet / XNOR-Net BinActive): forward levels, sign(0) = +1, the STE
backward with and without XNOR-Net's per-sample K, CLI selection, and W1A1 training on digits
(seed 004's Algorithm 1 with the AB-Tanh STE on weights and activations)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinyquant import Tensor
from tinyquant.nn import Identity, ReLU, quantizable_layers
from tinyquant.nn.models import digits_cnn, resnet20
from tinyquant.quant import SignActivation, get_quantizer
from tinyquant.quant.config import configure_quantization
from tinyquant.quant.sign_activation import SignActivationFunction, replace_relus
from tinyquant.quant.ste import get_ste


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, st.sampled_from([(4, 3), (2, 3, 2, 2)]),
                elements=st.floats(-4, 4, allow_nan=False)))
def test_sign_activation_outputs_plus_or_minus_one_with_the_sign_of_its_input(x):
    out = SignActivation()(Tensor(x)).data
    assert set(np.unique(out)) <= {-1.0, 1.0}
    assert np.all(out[x > 0] == 1) and np.all(out[x < 0] == -1) and np.all(out[x == 0] == 1)


def test_scaled_sign_activation_multiplies_by_the_mean_absolute_input_of_each_sample():
    x = np.array([[[[1.0, -3.0], [0.0, 2.0]]], [[[-0.5, 0.5], [0.5, -0.5]]]])   # (2, 1, 2, 2)
    out = SignActivation(scaled=True)(Tensor(x)).data
    # K_0 = (1 + 3 + 0 + 2)/4 = 1.5, K_1 = 0.5 (XNOR-Net §3.2, one K per sample)
    np.testing.assert_array_equal(out[0, 0], [[1.5, -1.5], [1.5, 1.5]])
    np.testing.assert_array_equal(out[1, 0], [[-0.5, 0.5], [0.5, -0.5]])


def test_clipped_ste_passes_the_gradient_only_inside_the_unit_window():
    x = Tensor(np.array([[-2.0, -1.0, -0.3, 0.0, 0.7, 1.0, 1.5]]), requires_grad=True)
    g = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    (SignActivation()(x) * Tensor(g)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]])   # 1[|x| ≤ 1]


def test_scaled_backward_is_k_times_the_ste_plus_the_path_through_k():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 2, 2))
    g = rng.standard_normal(x.shape)
    xt = Tensor(x, requires_grad=True)
    (SignActivationFunction.apply(xt, ste=get_ste("clipped"), scaled=True) * Tensor(g)).sum().backward()
    n = x[0].size
    k = np.abs(x).reshape(3, -1).mean(1)[:, None, None, None]
    s = np.where(x >= 0, 1.0, -1.0)
    expected = k * (np.abs(x) <= 1) * g + s / n * (g * s).reshape(3, -1).sum(1)[:, None, None, None]
    np.testing.assert_allclose(xt.grad, expected, rtol=1e-12)


def test_sign_activation_is_registered_and_refuses_more_than_one_bit():
    assert isinstance(get_quantizer("sign_activation"), SignActivation)
    with pytest.raises(ValueError, match="bits must be 1"):
        get_quantizer("sign_activation", bits=2)


def test_replacing_relus_keeps_the_order_of_a_sequential_and_reaches_resnet_blocks():
    model = digits_cnn(rng=0)
    before = [type(m).__name__ for m in model.children()]
    assert replace_relus(model) == 3
    after = [type(m).__name__ for m in model.children()]
    assert after == [("Identity" if b == "ReLU" else b) for b in before]
    net = resnet20(rng=0)
    assert replace_relus(net) == 10 and not any(isinstance(m, ReLU) for m in net.modules())
    assert isinstance(net.blocks[0].act, Identity)


def cli_args(**kw):
    from tinyquant.config import TrainConfig

    return TrainConfig.from_dict({"no_progress": True, **kw})


def configure(model, config):
    return configure_quantization(model, config.quant)


def test_cli_options_plug_sign_activations_into_the_binary_layers():
    model = digits_cnn(rng=0)
    configure(model, cli_args(quantizer="binary_connect", act_bits=1,
                              act_quantizer="sign_activation", act_ste="ab_tanh"))
    layers = quantizable_layers(model)
    assert layers[0].activation_quantizer is None and layers[-1].activation_quantizer is None
    for layer in layers[1:-1]:
        assert isinstance(layer.activation_quantizer, SignActivation)
        assert layer.activation_quantizer.ste.name == "ab_tanh"
    assert not any(isinstance(m, ReLU) for m in model.modules())


def test_act_ste_without_sign_activations_is_refused():
    with pytest.raises(ValueError, match="--act-ste"):
        cli_args(quantizer="xnor", act_ste="ab_tanh")


@pytest.mark.parametrize("ste", ["clipped", "ab_tanh"])
def test_w1a1_digits_cnn_learns_far_above_chance(ste, tmp_path):
    # ab_tanh on weights and activations with f scheduled 0.2 -> 0.8 is seed 004's Algorithm 1
    from tinyquant.run import train

    history = train(cli_args(quantizer="binary_connect", ste=ste, act_bits=1, epochs=3,
                                 act_quantizer="sign_activation", act_ste=ste, out=str(tmp_path)))
    assert history[-1]["test_accuracy"] >= 0.6      # chance is 0.1; measured 0.91 and 0.94
