"""Checkpoint files: atomic, pickle-free, and loud about damage."""

import zipfile

import numpy as np
import pytest

from tinyquant.train import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_preserves_arrays_dtypes_and_strings(tmp_path):
    state = {"model/w": np.arange(6, dtype=np.float32).reshape(2, 3),
             "trainer/epoch": np.asarray(3), "trainer/rng": np.asarray('{"a": 1}')}
    path = save_checkpoint(tmp_path / "ck.npz", state)
    loaded = load_checkpoint(path)
    assert set(loaded) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype


def test_checkpoint_is_readable_without_pickle(tmp_path):
    path = save_checkpoint(tmp_path / "ck.npz", {"x": np.ones(2)})
    with np.load(path, allow_pickle=False) as data:
        assert "x" in data.files


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError, match="object array"):
        save_checkpoint(tmp_path / "ck.npz", {"x": np.array([{"a": 1}], dtype=object)})


def test_truncated_file_raises_an_error_naming_it(tmp_path):
    path = save_checkpoint(tmp_path / "ck.npz", {"x": np.arange(1000.0)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="ck.npz.*truncated or corrupted"):
        load_checkpoint(path)


def test_flipped_byte_in_the_payload_is_detected(tmp_path):
    path = save_checkpoint(tmp_path / "ck.npz", {"x": np.arange(1000.0)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored array: the CRC-32 check fails
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="ck.npz"):
        load_checkpoint(path)


def test_missing_file_raises_an_error_naming_it(tmp_path):
    with pytest.raises(CheckpointError, match="nope.npz.*does not exist"):
        load_checkpoint(tmp_path / "nope.npz")


def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "ck.npz", {"x": np.zeros(3)})
    before = path.read_bytes()

    def exploding_savez(f, **arrays):
        f.write(b"PK partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", exploding_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"x": np.ones(3)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_file_mode_follows_the_umask(tmp_path, umask):
    import os

    old = os.umask(umask)
    try:
        path = save_checkpoint(tmp_path / "ck.npz", {"x": np.zeros(2)})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("path, state, error, message", [
    (None, {"x": np.zeros(2)}, TypeError, "path must be a file path, got None"),
    ("", {"x": np.zeros(2)}, TypeError, "path must be a file path"),
    ("ck.npz", [("x", np.zeros(2))], TypeError, "state must be a dict of arrays, got list"),
    ("ck.npz", {3: np.zeros(2)}, TypeError, "keys must be non-empty strings, got 3"),
    ("ck.npz", {"__format_version__": np.asarray(9)}, ValueError, "reserved"),
    ("ck.npz", {"f": print}, TypeError, "'f' is an object array"),
])
def test_bad_arguments_are_refused_before_the_existing_file_is_touched(tmp_path, path, state,
                                                                       error, message):
    target = save_checkpoint(tmp_path / "ck.npz", {"x": np.arange(3.0)})
    before = target.read_bytes()
    with pytest.raises(error, match=message):
        save_checkpoint(tmp_path / path if path else path, state)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]


def test_saving_onto_a_directory_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        save_checkpoint(tmp_path, {"x": np.zeros(2)})
