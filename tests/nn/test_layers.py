"""Layers against NumPy references, and the quantizer hook."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn
from tinyquant.nn.models import build_model


def test_linear_matches_numpy_and_its_gradient_checks():
    layer = nn.Linear(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(tq.Tensor(x)).data, expected, rtol=1e-6)
    tq.gradcheck(nn.functional.linear, x, layer.weight.data, layer.bias.data)


def test_linear_rejects_a_feature_mismatch():
    with pytest.raises(ValueError, match="input has 5 features .* weight expects 4"):
        nn.Linear(4, 3)(tq.Tensor(np.zeros((2, 5))))


@pytest.mark.parametrize("sizes, error, message", [
    ((0, 3), ValueError, "Linear: in_features must be a positive int, got 0"),      # was ZeroDivisionError
    ((3, 0), ValueError, "Linear: out_features must be a positive int, got 0"),
    ((2.5, 3), TypeError, "Linear: in_features must be a positive int, got 2.5"),
])
def test_linear_constructor_refuses_bad_sizes(sizes, error, message):
    with pytest.raises(error) as info:
        nn.Linear(*sizes)
    assert message in str(info.value)


def test_linear_refuses_a_bias_that_would_broadcast_across_rows():
    x, w = tq.Tensor(np.ones((2, 4))), tq.Tensor(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(3,\) .* got \(3, 1\)"):
        nn.functional.linear(x, w, tq.Tensor(np.ones((3, 1))))    # broadcast to (3, 3) before
    with pytest.raises(ValueError, match="linear: weight must be 2-D"):
        nn.functional.linear(x, tq.Tensor(np.ones(4)))


def test_linear_refuses_integer_input():
    with pytest.raises(TypeError, match="linear: input must be floating-point .* got dtype int64"):
        nn.Linear(2, 2)(tq.Tensor(np.array([[1, 2]])))


class Halve(nn.Module):
    """A stand-in quantizer with a learned scale: w ↦ s·w/2."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, w):
        return w * self.scale * 0.5


def test_weight_quantizer_replaces_the_weight_in_forward_and_trains_its_parameters():
    layer = nn.Linear(3, 2, bias=False, rng=0)
    x = tq.Tensor(np.ones((1, 3), dtype=np.float32))
    full = layer(x).data
    layer.weight_quantizer = Halve()
    np.testing.assert_allclose(layer(x).data, full / 2, rtol=1e-6)
    assert "weight_quantizer.scale" in dict(layer.named_parameters())
    layer(x).sum().backward()
    assert layer.weight_quantizer.scale.grad is not None and layer.weight.grad is not None


def test_activation_quantizer_sees_the_layer_input():
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["shape"] = x.shape
            return x

    layer = nn.Conv2d(2, 4, 3, padding=1, rng=0)
    layer.activation_quantizer = Spy()
    layer(tq.Tensor(np.zeros((1, 2, 5, 5), dtype=np.float32)))
    assert seen["shape"] == (1, 2, 5, 5)


@pytest.mark.parametrize("keep_first, keep_last", [(True, True), (False, False), (True, False)])
def test_quantize_model_skips_first_and_last_layers_on_request(keep_first, keep_last):
    model = build_model("digits_cnn", (1, 8, 8), 10, rng=0)
    nn.quantize_model(model, weight_quantizer=lambda layer: Halve(),
                      keep_first=keep_first, keep_last=keep_last)
    flags = [layer.weight_quantizer is not None for layer in nn.quantizable_layers(model)]
    assert flags[0] is not keep_first and flags[-1] is not keep_last
    assert all(flags[1:-1])
