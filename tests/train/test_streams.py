"""Random streams in checkpoints: a Generator's state survives the .npz round trip exactly."""

import numpy as np
import pytest

from tinyquant import nn
from tinyquant.quant.binary import StochasticBinary
from tinyquant.train import load_checkpoint, save_checkpoint
from tinyquant.train.streams import (generator_state, generator_states, load_generator_states,
                                     set_generator_state)


def test_a_restored_generator_continues_with_the_same_numbers(tmp_path):
    rng = np.random.default_rng(7)
    rng.random(5)
    path = save_checkpoint(tmp_path / "ck.npz", {"rng": generator_state(rng)})
    expected = rng.random(10)
    other = np.random.default_rng(123)
    set_generator_state(other, load_checkpoint(path)["rng"], "rng")
    np.testing.assert_array_equal(other.random(10), expected)


def test_every_generator_inside_a_model_is_found_by_its_module_path():
    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Linear(4, 2, rng=0))
    model[1].weight_quantizer = StochasticBinary(rng=np.random.default_rng(1))
    states = generator_states(model)
    assert list(states) == ["1.weight_quantizer.rng"]
    draws = model[1].weight_quantizer.rng.random(3)
    load_generator_states(model, states)                 # back to before the draws
    np.testing.assert_array_equal(model[1].weight_quantizer.rng.random(3), draws)


def test_a_missing_or_foreign_stream_is_refused_naming_it():
    model = nn.Sequential(nn.Linear(4, 2, rng=0))
    model[0].weight_quantizer = StochasticBinary(rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"lacks \['0.weight_quantizer.rng'\]"):
        load_generator_states(model, {})
    mt = np.random.Generator(np.random.MT19937(0))
    with pytest.raises(ValueError, match="random stream 'x'.*expected a PCG64 state"):
        set_generator_state(np.random.default_rng(0), generator_state(mt), "x")
