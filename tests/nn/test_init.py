"""nn.init: PyTorch's initializer formulas, seeded, in place, dtype kept.

Bounds and standard deviations below are worked out by hand from the formulas (Glorot &
Bengio 2010, eq. 16; He et al. 2015, eq. 10; PyTorch's calculate_gain), not by the code."""

import math

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn
from tinyquant.nn import init


def weight(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_calculate_gain_follows_pytorchs_table():
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(1.4142135623730951)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / 1.0001))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans_of_a_conv_weight_multiply_by_the_receptive_field():
    assert init.fans(weight(16, 8, 3, 3)) == (72, 144)
    assert init.fans(weight(10, 4)) == (4, 10)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans(weight(5))


@pytest.mark.parametrize("fn, kwargs, shape, bound", [
    # fan_in 72: kaiming default gain √2 → b = √3·√2/√72 = 1/√12
    (init.kaiming_uniform_, {}, (16, 8, 3, 3), 1 / math.sqrt(12)),
    # mode fan_out (144), relu gain √2 → b = √6/√144 = √6/12
    (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu"), (16, 8, 3, 3), math.sqrt(6) / 12),
    # a = √5: gain √(2/6) → b = √3·√(1/3)/√fan_in = 1/√fan_in = 1/√72 (the layers' default)
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), (16, 8, 3, 3), 1 / math.sqrt(72)),
    # xavier: b = gain·√(6/(fan_in + fan_out)) = √(6/(30 + 20)) for a (20, 30) weight
    (init.xavier_uniform_, {}, (20, 30), math.sqrt(6 / 50)),
    (init.xavier_uniform_, dict(gain=2.0), (20, 30), 2 * math.sqrt(6 / 50)),
])
def test_uniform_initializers_draw_u_minus_b_b_with_the_hand_computed_bound(fn, kwargs, shape, bound):
    w = weight(*shape)
    assert fn(w, rng=0, **kwargs) is w
    expected = np.random.default_rng(0).uniform(-bound, bound, size=shape).astype(np.float32)
    np.testing.assert_array_equal(w.data, expected)


@pytest.mark.parametrize("fn, kwargs, shape, std", [
    (init.kaiming_normal_, {}, (64, 32, 3, 3), math.sqrt(2 / 288)),          # He: Var = 2/fan_in
    (init.kaiming_normal_, dict(nonlinearity="tanh"), (64, 32), (5 / 3) / math.sqrt(32)),
    (init.xavier_normal_, {}, (64, 32), math.sqrt(2 / 96)),
    (init.normal_, dict(mean=1.0, std=0.5), (10, 3), 0.5),
])
def test_normal_initializers_draw_with_the_hand_computed_std(fn, kwargs, shape, std):
    w = weight(*shape, dtype=np.float64)
    fn(w, rng=5, **kwargs)
    mean = kwargs.get("mean", 0.0)
    # the same draws up to float64 rounding of σ (√(2/288) vs √2/√288)
    np.testing.assert_allclose(w.data, np.random.default_rng(5).normal(mean, std, size=shape),
                               rtol=1e-13, atol=1e-15)


def test_the_layers_default_init_is_kaiming_uniform_with_a_sqrt5():
    layer = nn.Linear(30, 7, rng=11)
    w = weight(7, 30)
    init.kaiming_uniform_(w, a=math.sqrt(5), rng=11)
    np.testing.assert_array_equal(layer.weight.data, w.data)


def test_constant_zeros_ones_and_uniform_fill_in_place_keeping_the_dtype():
    w = weight(3, 4)
    data = w.data
    init.constant_(w, 0.25)
    assert w.data is data and w.dtype == np.float32 and np.all(w.data == 0.25)
    assert np.all(init.zeros_(w).data == 0) and np.all(init.ones_(w).data == 1)
    init.uniform_(w, -0.1, 0.3, rng=2)
    assert w.data.min() >= -0.1 and w.data.max() < 0.3


def test_module_apply_initializes_every_linear_layer():
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))

    def reset(m):
        if isinstance(m, nn.Linear):
            init.xavier_uniform_(m.weight, rng=3)
            init.zeros_(m.bias)

    model.apply(reset)
    bound = math.sqrt(6 / 12)
    np.testing.assert_array_equal(
        model[0].weight.data, np.random.default_rng(3).uniform(-bound, bound, (8, 4)).astype(np.float32))
    assert all(np.all(m.bias.data == 0) for m in (model[0], model[2]))


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.kaiming_uniform_(weight(3, 4), mode="fan"), ValueError, "mode must be 'fan_in' or 'fan_out'"),
    (lambda: init.uniform_(weight(3), 1.0, 0.0), ValueError, "expected a <= b"),
    (lambda: init.normal_(weight(3), std=-1.0), ValueError, "std must be >= 0"),
    (lambda: init.xavier_uniform_(weight(0, 4)), ValueError, "no elements"),
    (lambda: init.zeros_(np.zeros(3)), TypeError, "expected a tinyquant Tensor"),
    (lambda: init.ones_(tq.Tensor(np.zeros(3, dtype=np.int64))), TypeError, "floating-point"),
])
def test_bad_arguments_are_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()
