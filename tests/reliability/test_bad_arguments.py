"""Hypothesis-generated bad arguments to the public checkpoint and sweep functions: each
gives a TypeError/ValueError, and nothing already on disk changes."""

import hashlib
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyquant.sweep import StudyError, load_study, run_sweep
from tinyquant.sweep.study import METRICS
from tinyquant.train import CheckpointError, load_checkpoint, save_checkpoint

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def snapshot(folder):
    """{relative path: sha256} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def existing(tmp_path):
    save_checkpoint(tmp_path / "ck.npz", {"model/w": np.arange(4.0), "trainer/epoch": np.asarray(1)})
    return tmp_path


bad_values = st.one_of(
    st.builds(lambda: np.array([{"a": 1}], dtype=object)),
    st.builds(lambda: print),
    st.builds(object),
    st.lists(st.one_of(st.integers(), st.text()), min_size=2, max_size=3)
    .filter(lambda v: len({type(x) for x in v}) > 1),          # a ragged / mixed list
)
bad_keys = st.one_of(st.integers(), st.none(), st.just(""), st.just("__format_version__"),
                     st.tuples(st.text()))
bad_states = st.one_of(
    st.dictionaries(st.text(string.ascii_letters, min_size=1), bad_values, min_size=1, max_size=3),
    st.dictionaries(bad_keys, st.just(np.zeros(2)), min_size=1, max_size=2),
    st.lists(st.integers()), st.text(), st.none(), st.integers(),
)


@FAST
@given(state=bad_states)
def test_save_checkpoint_refuses_bad_state_and_leaves_the_old_file(existing, state):
    before = snapshot(existing)
    with pytest.raises((TypeError, ValueError)):
        save_checkpoint(existing / "ck.npz", state)
    assert snapshot(existing) == before


bad_paths = st.one_of(st.none(), st.integers(), st.floats(), st.just(""), st.lists(st.text()),
                      st.just(b"ck.npz"))


@FAST
@given(path=bad_paths)
def test_save_and_load_refuse_bad_paths_naming_the_argument(existing, path):
    before = snapshot(existing)
    with pytest.raises(TypeError, match="path must be a file path"):
        save_checkpoint(path, {"model/w": np.zeros(2)})
    with pytest.raises(TypeError, match="path must be a file path"):
        load_checkpoint(path)
    assert snapshot(existing) == before


@FAST
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_never_load_silently(tmp_path, data):
    path = tmp_path / "random.npz"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="random.npz"):
        load_checkpoint(path)


@FAST
@given(position=st.floats(0, 1, exclude_max=True), cut=st.booleans(), xor=st.integers(1, 255))
def test_a_damaged_checkpoint_is_refused_or_loads_exactly(existing, position, cut, xor):
    """Truncation or a changed byte anywhere: a clear error naming the file, or (a byte the
    format ignores, such as a timestamp) exactly the saved arrays -- never other numbers."""
    original = load_checkpoint(existing / "ck.npz")
    data = bytearray((existing / "ck.npz").read_bytes())
    at = int(position * len(data))
    if cut:
        data = data[:at]
    else:
        data[at] ^= xor
    damaged = existing / "damaged.npz"
    damaged.write_bytes(bytes(data))
    try:
        loaded = load_checkpoint(damaged)
    except CheckpointError as error:
        assert "damaged.npz" in str(error) and "allow_pickle" not in str(error)
        return
    assert sorted(loaded) == sorted(original)
    for key in original:
        assert loaded[key].dtype == original[key].dtype
        np.testing.assert_array_equal(loaded[key], original[key])


STUDY = """
[study]
name = {name}
description = "hypothesis"
claim = "none"
full_runtime = "seconds"
baseline = "a"
metric = {metric}

[base]
model = "mlp"
epochs = 1

[grid]
seeds = [0]

[[grid.settings]]
name = "a"
"""
toml_strings = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')


@FAST
@given(name=st.one_of(toml_strings, st.sampled_from(['".."', '"."', '"../x"', '"/etc"', '"a b"'])),
       metric=st.one_of(toml_strings, st.sampled_from([f'"{m}"' for m in METRICS])))
def test_study_names_and_metrics_are_valid_or_refused_at_load(tmp_path, name, metric):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(name=name, metric=metric), encoding="utf-8")
    try:
        study = load_study(path)
    except StudyError as error:
        assert str(path) in str(error)
        return
    assert study.metric in METRICS
    assert study.name[0].isalnum() and all(c.isalnum() or c in "_.-" for c in study.name)
    assert "/" not in study.name and study.name not in (".", "..")


@FAST
@given(workers=st.one_of(st.integers(max_value=0), st.floats(), st.booleans(), st.text(),
                         st.none()))
def test_run_sweep_refuses_bad_worker_counts_before_touching_the_folder(tmp_path, workers):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(name='"w"', metric='"test_accuracy"'), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "records.jsonl").write_text('{"run_id": "x"}\n')
    before = snapshot(out)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_sweep(load_study(path), out, workers=workers, echo=lambda line: None)
    assert snapshot(out) == before
