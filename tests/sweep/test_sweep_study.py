"""Study files: validation errors name file, key and problem; grids expand as documented."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sweep_helpers import TINY, write_study

from tinyquant.config import TrainConfig
from tinyquant.sweep import StudyError, load_study, run_id

STUDIES = sorted((Path(__file__).resolve().parents[2] / "studies").glob("*.toml"))


@pytest.mark.parametrize("path", STUDIES, ids=[p.name for p in STUDIES])
def test_every_study_in_studies_is_valid_in_both_modes(path):
    for fast in (False, True):
        study = load_study(path, fast=fast)
        assert study.runs and study.baseline in study.settings
        assert study.full_runtime.strip()


def test_runs_are_settings_times_seeds_with_the_resolved_config(tmp_path):
    study = load_study(write_study(tmp_path, epochs=3, seeds=(4, 7)))
    assert [(r.setting, r.seed) for r in study.runs] == [
        ("sgd", 4), ("sgd", 7), ("adam", 4), ("adam", 7)]
    expected = TrainConfig(model="mlp", dataset="digits", epochs=3, optimizer="adam",
                           seed=7).hyperparameters()
    assert "out" not in expected and "resume" not in expected and "overwrite" not in expected
    assert study.runs[-1].config == expected
    assert study.runs[-1].run_id == run_id(expected)


def test_fast_mode_overrides_base_and_seeds(tmp_path):
    path = write_study(tmp_path, epochs=5, seeds=(0, 1, 2),
                       text=TINY.format(epochs=5, seeds=[0, 1, 2]) + "\n[fast]\nepochs = 1\n"
                                                                     "seeds = [9]\n")
    full, fast = load_study(path), load_study(path, fast=True)
    assert {r.config["epochs"] for r in full.runs} == {5} and len(full.runs) == 6
    assert [(r.setting, r.seed, r.config["epochs"]) for r in fast.runs] == [
        ("sgd", 9, 1), ("adam", 9, 1)]
    assert fast.mode == "fast" and full.mode == "full"


def test_axes_give_the_product_of_their_values(tmp_path):
    text = TINY.split("[[grid.settings]]")[0].replace('baseline = "sgd"',
                                                      'baseline = "optimizer=sgd, lr=0.1"')
    text += '[grid.axes]\noptimizer = ["sgd", "adam"]\nlr = [0.1, 0.01]\n'
    study = load_study(write_study(tmp_path, text=text.format(epochs=1, seeds=[0])))
    assert study.settings == ["optimizer=sgd, lr=0.1", "optimizer=sgd, lr=0.01",
                              "optimizer=adam, lr=0.1", "optimizer=adam, lr=0.01"]
    assert [(r.config["optimizer"], r.config["lr"]) for r in study.runs] == [
        ("sgd", 0.1), ("sgd", 0.01), ("adam", 0.1), ("adam", 0.01)]


def test_an_int_for_a_float_option_gives_the_same_run_id_as_the_float(tmp_path):
    a = load_study(write_study(tmp_path, text=TINY.replace('epochs = {epochs}',
                                                           'epochs = 1\nweight_decay = 0')
                               .format(seeds=[0])))
    b = load_study(write_study(tmp_path, text=TINY.replace('epochs = {epochs}',
                                                           'epochs = 1\nweight_decay = 0.0')
                               .format(seeds=[0])))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]


config_values = st.one_of(st.integers(-10, 10), st.floats(allow_nan=False), st.text(max_size=5),
                          st.booleans(), st.none())


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), config_values, min_size=1, max_size=8),
       st.randoms(use_true_random=False))
def test_run_id_ignores_key_order_and_sees_every_value(config, random):
    keys = list(config)
    random.shuffle(keys)
    shuffled = {key: config[key] for key in keys}
    assert run_id(shuffled) == run_id(config)
    key = keys[0]
    changed = {**config, key: [config[key]]}  # a different JSON value for one key
    assert run_id(changed) != run_id(config)
    assert run_id(json.loads(json.dumps(config))) == run_id(config)  # survives a JSON trip


def _mutate(old: str, new: str) -> str:
    text = TINY.format(epochs=1, seeds=[0, 1])
    assert old in text, old
    return text.replace(old, new, 1)


MALFORMED = {
    # case: (file text, fragments the message must contain)
    "unknown section": (_mutate("[base]", "[bsae]\n[base]"), ["'bsae'", "unknown key"]),
    "unknown study key": (_mutate('baseline = "sgd"', 'baseline = "sgd"\nauthor = "me"'),
                          ["'author'", "unknown key"]),
    "missing study key": (_mutate('full_runtime = "a few seconds"\n', ""),
                          ["'full_runtime'", "missing"]),
    "wrong metadata type": (_mutate('claim = "none: a test of the machinery"', "claim = 3"),
                            ["claim", "non-empty string", "3"]),
    "wrong option type": (_mutate("epochs = 1", 'epochs = "one"'),
                          ["'epochs'", "'one'", "expected an integer"]),
    "float for an int option": (_mutate("epochs = 1", "epochs = 1.5"),
                                ["'epochs'", "1.5", "expected an integer"]),
    "bad choice": (_mutate('optimizer = "adam"', 'optimizer = "rmsprop"'),
                   ["'optimizer'", "'rmsprop'", "expected one of"]),
    "unknown training option": (_mutate('dataset = "digits"', 'dataset = "digits"\nlearning_rate = 1'),
                                ["'learning_rate'", "unknown training option"]),
    "runner option": (_mutate('dataset = "digits"', 'dataset = "digits"\nseed = 3'),
                      ["'seed'", "cannot be set"]),
    "empty settings": (TINY.split("[[grid.settings]]")[0].format(epochs=1, seeds=[0])
                       + "settings = []\n", ["settings", "empty grid"]),
    "no settings": (TINY.split("[[grid.settings]]")[0].format(epochs=1, seeds=[0]),
                    ["'settings'", "'axes'", "neither"]),
    "empty axis": (TINY.split("[[grid.settings]]")[0].format(epochs=1, seeds=[0])
                   + "[grid.axes]\nlr = []\n", ["axes.lr", "empty grid"]),
    "duplicate setting": (_mutate('name = "adam"', 'name = "sgd"'),
                          ["duplicate setting name", "'sgd'"]),
    "baseline missing": (_mutate('baseline = "sgd"', 'baseline = "momentum"'),
                         ["baseline", "'momentum'", "not among the settings"]),
    "empty seeds": (_mutate("seeds = [0, 1]", "seeds = []"), ["seeds", "non-empty list"]),
    "repeated seed": (_mutate("seeds = [0, 1]", "seeds = [0, 0]"), ["seeds", "repeats"]),
    "negative seed": (_mutate("seeds = [0, 1]", "seeds = [-1]"), ["seeds", "-1"]),
    "setting without name": (_mutate('name = "adam"\n', ""), ["settings[1].name", "None"]),
    "fast clash": (TINY.format(epochs=1, seeds=[0]) + '\n[fast]\noptimizer = "sgd"\n',
                   ["[fast]", "'optimizer'", "'sgd'"]),
    "same configuration": (_mutate('optimizer = "adam"', 'optimizer = "sgd"'),
                           ["'sgd'", "'adam'", "same training configuration"]),
    "name with a slash": (_mutate('name = "tiny"', 'name = "../tiny"'),
                          ["name", "'../tiny'", "plain file name"]),
    "base not a table": ("base = 3\n" + _mutate('[base]\nmodel = "mlp"\ndataset = "digits"\n'
                                                 'epochs = 1\n', ""),
                         ["[base]", "must be a table", "int 3"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_study_names_the_file_the_key_and_the_problem(case, tmp_path):
    text, fragments = MALFORMED[case]
    path = write_study(tmp_path, text=text)
    with pytest.raises(StudyError) as info:
        load_study(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_invalid_toml_and_a_missing_file_are_named(tmp_path):
    path = write_study(tmp_path, text="[study\nname = ")
    with pytest.raises(StudyError, match="not valid TOML"):
        load_study(path)
    with pytest.raises(StudyError, match="does not exist"):
        load_study(tmp_path / "nope.toml")


def test_study_errors_are_value_errors():
    assert issubclass(StudyError, ValueError)


def test_quantization_options_are_validated_against_the_config_fields(tmp_path):
    text = _mutate('optimizer = "adam"', 'optimizer = "adam"\nquantizer = "xnor"\nclip = 4')
    study = load_study(write_study(tmp_path, text=text))
    assert study.runs[-1].config["quantizer"] == "xnor" and study.runs[0].config["quantizer"] == "none"
    assert study.runs[-1].config["clip"] == 4.0 and isinstance(study.runs[-1].config["clip"], float)
    with pytest.raises(StudyError, match="'quantizer' = 'ternary' is invalid: --quantizer 'ternary': "
                                         "expected one of none, binary_connect"):
        load_study(write_study(tmp_path, text=text.replace('"xnor"', '"ternary"')))


@pytest.mark.parametrize("option, message", [
    ('quantizer = "ttq"\nweight_bits = 3', "--weight-bits 3 acts on nothing"),
    ("clip = 2", "--clip 2.0 acts on nothing"),
    ('regime = "bc"', "--regime bc acts on nothing"),
    ("warmup_epochs = -1", "'warmup_epochs' = -1 is invalid: --warmup-epochs -1.0: expected"),
    ('bn = "pre"', "--bn pre acts on nothing"),
    ("epochs = 0", "'epochs' = 0 is invalid: --epochs 0: expected a value >= 1"),
    ('dataset = "mnist"', "--dataset mnist reads local files"),
    ("momentum = 0.5", "setting 'adam' .*--momentum 0.5 acts on nothing"),
])
def test_options_that_act_on_nothing_are_refused_at_load_time(tmp_path, option, message):
    text = _mutate('optimizer = "adam"', 'optimizer = "adam"\n' + option)
    with pytest.raises(StudyError, match=message):
        load_study(write_study(tmp_path, text=text))


@pytest.mark.parametrize("edit, message", [
    (('baseline = "sgd"', 'baseline = "sgd"\nmetric = "nope"'), "metric 'nope' is not a metric"),
    (('name = "tiny"', 'name = ".."'), r"name '\.\.' must be a plain file name"),
    (('name = "tiny"', 'name = ".hidden"'), "must be a plain file name"),
    (('name = "tiny"', 'name = "a/b"'), "must be a plain file name"),
])
def test_study_fields_are_checked_when_the_file_is_loaded(tmp_path, edit, message):
    path = write_study(tmp_path, text=TINY.format(epochs=1, seeds=[0]).replace(*edit))
    with pytest.raises(StudyError, match=message) as info:
        load_study(path)
    assert str(path) in str(info.value)


def test_every_recorded_metric_is_accepted(tmp_path):
    for metric in ("test_accuracy", "test_loss", "val_accuracy", "val_loss", "train_accuracy",
                   "train_loss"):
        text = TINY.format(epochs=1, seeds=[0]).replace('baseline = "sgd"',
                                                        f'baseline = "sgd"\nmetric = "{metric}"')
        assert load_study(write_study(tmp_path, text=text)).metric == metric


def test_a_study_that_is_not_utf8_gives_an_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(TINY.format(epochs=1, seeds=[0]).replace("two optimizers", "caf\xe9")
                     .encode("latin-1"))
    with pytest.raises(StudyError, match=r"latin1.toml: not UTF-8 text \(byte 0xe9 on line 4\)"):
        load_study(path)


def test_a_study_path_that_is_a_folder_gives_an_error_naming_it(tmp_path):
    with pytest.raises(StudyError, match="cannot be read"):
        load_study(tmp_path)
