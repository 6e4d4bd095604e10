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
