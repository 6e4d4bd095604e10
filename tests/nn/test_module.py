"""Module: registration, traversal, modes and state dicts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_apply_visits_children_before_parents_and_returns_the_module():
    model = Tiny()
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Tiny"]
    with pytest.raises(TypeError, match="fn must be callable"):
        model.apply("reset")


def test_module_list_registers_its_modules_parameters_under_indexed_names():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2, rng=i) for i in range(3)])

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    assert [n for n, _ in model.named_parameters()][:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert len(model.blocks) == 3 and len(model.parameters()) == 6
    assert model.blocks[-1] is list(model.blocks)[2] and len(model.blocks[1:]) == 2
    model.blocks.append(nn.Linear(2, 2, rng=9))
    assert "blocks.3.weight" in model.state_dict()
    assert model(tq.Tensor(np.ones((1, 2), np.float32))).shape == (1, 2)
    with pytest.raises(TypeError, match="can only hold Modules"):
        model.blocks.append(lambda x: x)


def test_load_state_dict_non_strict_loads_the_common_keys_and_reports_the_others():
    model, source = Tiny(), Tiny()
    source.fc1.weight.data[...] = 5.0
    state = source.state_dict()
    del state["fc2.weight"]
    state["extra.weight"] = np.zeros(3)
    keys = model.load_state_dict(state, strict=False)
    assert keys.missing_keys == ["fc2.weight"] and keys.unexpected_keys == ["extra.weight"]
    assert np.all(model.fc1.weight.data == 5.0)
    assert model.load_state_dict(Tiny().state_dict()) == ([], [])


@pytest.mark.parametrize("corrupt, error, message", [
    (lambda s: s.update({"fc2.weight": np.zeros((3, 3))}), ValueError, "'fc2.weight' has shape \\(3, 3\\)"),
    (lambda s: s["fc2.weight"].__setitem__((0, 0), np.nan), ValueError, "'fc2.weight' has 1 non-finite"),
    (lambda s: s.update({"fc2.weight": np.full((2, 4), 1e300)}), ValueError, "non-finite value\\(s\\) in float32"),
    (lambda s: s.update({"fc2.weight": np.zeros((2, 4), np.int64)}), TypeError, "dtype int64, expected a floating"),
    (lambda s: s.update({"fc2.weight": "weights"}), TypeError, "must be an array, got str"),
])
def test_load_state_dict_is_atomic_a_bad_later_entry_leaves_earlier_layers_unchanged(corrupt, error, message):
    model, source = Tiny(), Tiny()
    before = model.state_dict()
    source.fc1.weight.data[...] = 9.0                    # layer 0 would change if written first
    state = source.state_dict()
    corrupt(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_casts_float64_into_float32_parameters():
    model, state = Tiny(), {k: v.astype(np.float64) for k, v in Tiny().state_dict().items()}
    state["fc1.weight"][...] = 0.1
    model.load_state_dict(state)
    assert model.fc1.weight.dtype == np.float32 and np.all(model.fc1.weight.data == np.float32(0.1))


def test_assigning_an_array_to_a_buffer_name_keeps_it_a_buffer():
    bn = nn.BatchNorm1d(3)
    bn.running_mean = np.full(3, 2.0, np.float32)
    assert "running_mean" in bn.state_dict() and np.all(bn.state_dict()["running_mean"] == 2.0)
    bn.running_var = None                               # anything else unregisters it
    assert "running_var" not in bn.state_dict()


CORRUPTIONS = {
    "shape": lambda v: np.zeros(v.shape + (1,), v.dtype),
    "nan": lambda v: np.where(np.arange(v.size).reshape(v.shape) == 0, np.nan, v).astype(v.dtype),
    "inf": lambda v: np.full(v.shape, np.inf, v.dtype),
    "int": lambda v: np.zeros(v.shape, np.int64),
    "string": lambda v: np.full(v.shape, "w"),
}


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_single_bad_entry_is_refused_and_nothing_is_written(data):
    """Generated: corrupt one float entry of a full state (every other entry changed too)
    and check that load_state_dict raises and the module is exactly as before."""
    model = Tiny()
    before = model.state_dict()
    state = {k: v + 1 for k, v in Tiny().state_dict().items()}             # all entries differ
    name = data.draw(st.sampled_from(sorted(state)))
    kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)))
    state[name] = CORRUPTIONS[kind](state[name])
    with pytest.raises((ValueError, TypeError), match=f"load_state_dict: '{name}'"):
        model.load_state_dict(state, strict=data.draw(st.booleans()))
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)
