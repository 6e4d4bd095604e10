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
