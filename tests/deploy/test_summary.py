"""tinyquant.deploy.summary against parameter, memory and MAC counts done by hand."""

import numpy as np
import pytest

from tinyquant.deploy import summary
from tinyquant.nn import BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential
from tinyquant.quant import get_quantizer


def tiny_model():
    model = Sequential(Conv2d(1, 2, 3, padding=1, bias=False, rng=0), BatchNorm2d(2), ReLU(),
                       Conv2d(2, 4, 3, bias=False, rng=1), Flatten(), Linear(16, 3, rng=2))
    model[3].weight_quantizer = get_quantizer("xnor")
    model[3].activation_quantizer = get_quantizer("sign_activation")
    model[5].weight_quantizer = get_quantizer("ttq")
    return model


def test_summary_counts_parameters_memory_and_macs_by_precision_as_done_by_hand():
    s = summary(tiny_model(), (1, 4, 4))
    conv0, bn, conv1, fc = s.layers
    # conv0: 1·2·3·3 = 18 float weights, output 2×4×4: 18·16 = 288 float MACs, 72 bytes
    assert (conv0.params, conv0.macs, conv0.float32_bytes, conv0.packed_bytes) == ({32: 18}, {32: 288}, 72, 72)
    # batch norm folded to a scale and a shift per channel: 4 float numbers, 16 bytes
    assert (bn.params, bn.float32_bytes, bn.packed_bytes) == ({32: 4}, 16, 16)
    # conv1: 2·4·9 = 72 binary weights, W1A1, output 4×2×2: 72·4 = 288 binary MACs;
    # packed: 72 bits = 9 bytes and 4 per-filter scales of 4 bytes
    assert (conv1.weight_bits, conv1.activation_bits) == (1, 1)
    assert (conv1.params, conv1.macs, conv1.float32_bytes, conv1.packed_bytes) == ({1: 72}, {1: 288}, 288, 25)
    # fc: 16·3 = 48 ternary weights (2 bits), 3 float biases; float inputs: 48 float MACs;
    # packed: 96 bits = 12 bytes, two scales per output (24 bytes), the bias (12 bytes)
    assert (fc.params, fc.macs, fc.float32_bytes, fc.packed_bytes) == ({2: 48, 32: 3}, {32: 48}, 204, 48)
    assert (s.params(), s.params(32), s.params(1), s.params(2)) == (145, 25, 72, 48)
    assert (s.macs(), s.macs(1), s.macs(32)) == (624, 288, 336)
    assert (s.float32_bytes, s.packed_bytes) == (580, 161)
    assert s.compression_ratio == pytest.approx(580 / 161)
    text = str(s)
    assert "xnor" in text and "sign_activation" in text and "3.60×" in text


def test_k_bit_weights_and_activations_do_k_bit_macs_and_are_stored_as_int8():
    layer = Linear(4, 2, bias=False, rng=0)
    layer.weight_quantizer = get_quantizer("uniq", bits=2)
    layer.activation_quantizer = get_quantizer("uniq_activation", bits=2)
    row = summary(Sequential(layer), (4,)).layers[0]
    assert (row.weight_bits, row.activation_bits, row.params, row.macs) == (2, 2, {2: 8}, {2: 8})
    assert (row.float32_bytes, row.packed_bytes) == (32, 8 + 4)          # int8 codes and one scale


def test_summary_leaves_modes_and_uninitialized_quantizers_alone():
    model = tiny_model()
    model[5].weight_quantizer = get_quantizer("uniq", bits=2)
    model.train()
    summary(model, (1, 4, 4))
    assert all(m.training for m in model.modules())
    assert not bool(model[5].weight_quantizer.initialized)
    assert "forward" not in model[3].__dict__


def test_bad_input_shape_is_refused_naming_it():
    with pytest.raises(ValueError, match="input_shape"):
        summary(tiny_model(), (0, 4, 4))
