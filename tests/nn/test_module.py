"""Module: registration, traversal, modes and state dicts."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, rng=0)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2, bias=False, rng=1)

    def forward(self, x):
        return self.fc2(nn.functional.relu(self.bn(self.fc1(x))))


def test_parameters_are_registered_with_dotted_names_in_definition_order():
    names = [n for n, _ in Tiny().named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight"]


def test_state_dict_holds_parameters_and_buffers_and_round_trips():
    a, b = Tiny(), Tiny()
    b.fc1.weight.data[...] = 7.0
    b.bn.running_mean[...] = 3.0
    state = b.state_dict()
    assert {"bn.running_mean", "bn.running_var"} <= set(state)
    weight_array = a.fc1.weight.data
    a.load_state_dict(state)
    assert a.fc1.weight.data is weight_array  # copied in place: optimizers stay valid
    for name, value in b.state_dict().items():
        np.testing.assert_array_equal(a.state_dict()[name], value)


def test_load_state_dict_rejects_missing_keys_and_wrong_shapes():
    model, state = Tiny(), Tiny().state_dict()
    del state["fc2.weight"]
    with pytest.raises(ValueError, match="missing keys \\['fc2.weight'\\]"):
        model.load_state_dict(state)
    state = Tiny().state_dict()
    state["fc1.bias"] = np.zeros(5)
    with pytest.raises(ValueError, match="'fc1.bias' has shape \\(5,\\), expected \\(4,\\)"):
        model.load_state_dict(state)


def test_train_and_eval_set_the_mode_of_every_submodule():
    model = Tiny().eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_same_seed_builds_the_same_model():
    a, b = nn.Linear(5, 3, rng=42), nn.Linear(5, 3, rng=42)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert a.weight.dtype == np.float32


def test_setting_an_attribute_to_none_unregisters_it():
    layer = nn.Linear(2, 2, rng=0)
    layer.weight_quantizer = nn.Identity()
    assert "weight_quantizer" in dict(layer.named_children())
    layer.weight_quantizer = None
    assert "weight_quantizer" not in dict(layer.named_children())


def test_module_without_super_init_gets_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Broken()
