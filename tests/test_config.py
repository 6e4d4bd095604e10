"""TrainConfig / QuantConfig: round trips (dict, JSON, TOML), validation naming the option."""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.config import ConfigError, QuantConfig, TrainConfig

CONFIGS = st.builds(
    lambda epochs, lr, optimizer, quantizer, clip, seed, val, out: TrainConfig.from_dict(
        dict(epochs=epochs, lr=lr, optimizer=optimizer, seed=seed, val_fraction=val, out=out,
             quantizer=quantizer, clip=clip if quantizer != "none" else math.inf)),
    st.integers(1, 500), st.one_of(st.none(), st.floats(0, 10, allow_nan=False)),
    st.sampled_from(["sgd", "adam"]), st.sampled_from(["none", "xnor", "ttq", "uniq"]),
    st.one_of(st.just(math.inf), st.floats(0.1, 8)), st.integers(0, 2**31),
    st.floats(0, 0.5), st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                               min_size=1, max_size=12))


@settings(max_examples=60, deadline=None)
@given(CONFIGS)
def test_config_round_trips_through_dict_json_and_toml(config):
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_json(config.to_json()) == config
    assert TrainConfig.from_toml(config.to_toml()) == config


def test_json_is_strict_and_writes_infinity_as_a_string():
    import json

    text = TrainConfig().to_json()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))["clip"] == "inf"


def test_load_reads_toml_and_json_files_and_names_a_bad_one(tmp_path):
    config = TrainConfig.from_dict({"model": "mlp", "quantizer": "xnor", "clip": 4})
    (tmp_path / "a.toml").write_text(config.to_toml())
    (tmp_path / "a.json").write_text(config.to_json())
    assert TrainConfig.load(tmp_path / "a.toml") == config == TrainConfig.load(tmp_path / "a.json")
    (tmp_path / "bad.toml").write_text("epochs = 0\n")
    with pytest.raises(ConfigError, match="bad.toml.*--epochs 0: expected a value >= 1"):
        TrainConfig.load(tmp_path / "bad.toml")


def test_the_flat_dict_has_one_key_per_option_and_nested_quant_is_accepted():
    flat = TrainConfig().to_dict()
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "quant"]
    names += [f.name for f in dataclasses.fields(QuantConfig)]
    assert list(flat) == names
    nested = TrainConfig.from_dict({"epochs": 3, "quant": {"quantizer": "twn"}})
    assert nested == TrainConfig.from_dict({"epochs": 3, "quantizer": "twn"})


def test_configs_are_frozen_and_replace_validates():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    assert config.replace(epochs=3).epochs == 3
    with pytest.raises(ConfigError, match="--epochs -1"):
        config.replace(epochs=-1)


@pytest.mark.parametrize("changes, message", [
    ({"lerning_rate": 1}, "unknown training option 'lerning_rate'"),
    ({"epochs": 2.5}, "--epochs 2.5: expected an integer"),
    ({"epochs": True}, "--epochs True: expected an integer"),
    ({"lr": "fast"}, "--lr 'fast': expected a number"),
    ({"lr": -1}, "--lr -1.0: expected a finite number >= 0"),
    ({"momentum": 1.0}, r"--momentum 1.0: expected a number in \[0, 1\)"),
    ({"val_fraction": 1.0}, r"--val-fraction 1.0: expected a fraction in \[0, 1\)"),
    ({"seed": -1}, "--seed -1: expected a value >= 0"),
    ({"clip": float("nan"), "quantizer": "xnor"}, "--clip nan: expected a number, not NaN"),
    ({"dataset": "cifar10"}, "--dataset cifar10 reads local files"),
    ({"data_dir": "/data"}, "--data-dir /data acts on nothing here: digits needs no files"),
    ({"optimizer": "adam", "nesterov": True}, "--nesterov acts on nothing"),
    ({"momentum": 0.0, "nesterov": True}, "--nesterov acts on nothing here: it needs --momentum > 0"),
    ({"resume": True, "overwrite": True}, "--resume and --overwrite contradict"),
    ({"act_bits": 40}, r"--act-bits 40: expected a bit width in \[0, "),
])
def test_bad_values_name_the_option_the_value_and_what_is_expected(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(changes)


def test_hyperparameters_leave_the_run_control_options_out():
    hyper = TrainConfig(out="elsewhere", resume=True, no_progress=True).hyperparameters()
    assert hyper == TrainConfig().hyperparameters()
    assert set(TrainConfig.run_control_options()) == {"out", "resume", "overwrite", "no_progress"}


def test_differences_list_every_changed_option():
    a, b = TrainConfig(), TrainConfig.from_dict({"lr": 0.1, "quantizer": "xnor", "out": "x"})
    assert a.differences(b) == {"lr": (None, 0.1), "quantizer": ("none", "xnor")}


def test_step_init_given_as_a_number_is_stored_as_its_text():
    assert QuantConfig(quantizer="uniq", step_init=0.1).step_init == "0.1"


def test_build_model_gives_the_runs_initial_weights_and_is_reachable_from_the_top_level():
    import numpy as np

    import tinyquant as tq
    from tinyquant.run import build_run

    config = tq.TrainConfig(model="mlp", seed=3)
    run = build_run(config)
    model = tq.build_model(config, run.data.input_shape, run.data.num_classes)
    for (name, a), (_, b) in zip(model.state_dict().items(), run.model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert tq.load_config is not None and tq.QuantConfig is QuantConfig
