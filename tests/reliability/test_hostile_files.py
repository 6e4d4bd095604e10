"""Damaged and hostile checkpoint files are refused with a ValueError naming the file.

The corpus (tools/hostile_files.py) is generated in the test: truncated, empty, wrong
magic, text, a bare .npy, a member whose npy header declares 2 PiB, crafted zip headers,
a 3 GiB zip bomb in 3 MB, a pickled object array, a member that is not an array, a
folder, a flipped byte. None may allocate what it claims, run code or suggest
``allow_pickle=``; then checkpoints whose arrays are well-formed but whose contents are
implausible (NaN weights, negative running variances, an epoch of 10⁶).
"""

import time

import hostile_files
import numpy as np
import pytest

from tinyquant import nn
from tinyquant.train import CheckpointError, load_checkpoint, save_checkpoint
from tinyquant.train.checkpoint import MAX_EPOCHS


@pytest.fixture
def valid(tmp_path):
    model = nn.models.mlp(64, hidden=(16,), num_classes=10, rng=0)
    state = {f"model/{k}": v for k, v in model.state_dict().items()}
    state.update({"trainer/epoch": np.asarray(2), "trainer/global_step": np.asarray(20)})
    return save_checkpoint(tmp_path / "valid.npz", state)


@pytest.mark.parametrize("name", sorted(hostile_files.CORPUS))
def test_hostile_file_is_refused_quickly_with_an_error_naming_it(name, tmp_path, valid):
    path = hostile_files.CORPUS[name](tmp_path, valid)
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert "allow_pickle" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert time.perf_counter() - start < 20, "the loader inflated what the file claims"


def test_zip_bomb_and_crafted_headers_name_what_they_declare(tmp_path, valid):
    bomb = hostile_files.zip_bomb(tmp_path, valid)
    with pytest.raises(CheckpointError, match="declares more than 1073741824 bytes"):
        load_checkpoint(bomb)
    with pytest.raises(CheckpointError, match=r"declares shape \(274877906944, 1024\)"):
        load_checkpoint(hostile_files.huge_shape(tmp_path, valid))
    with pytest.raises(CheckpointError, match="object array"):
        load_checkpoint(hostile_files.pickled_object(tmp_path, valid))


def test_size_limit_can_be_raised_for_a_big_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "big.npz", {"model/w": np.zeros(1000, np.float32)})
    with pytest.raises(CheckpointError, match="more than 1000 bytes"):
        load_checkpoint(path, max_bytes=1000)
    assert load_checkpoint(path, max_bytes=5000)["model/w"].shape == (1000,)


def _edited(valid, tmp_path, key, value):
    state = load_checkpoint(valid)
    state[key] = value
    return save_checkpoint(tmp_path / "edited.npz", state)


@pytest.mark.parametrize("edit, message", [
    (lambda s: ("model/1.weight", np.full_like(s["model/1.weight"], np.nan)), "non-finite"),
    (lambda s: ("model/1.weight", np.full_like(s["model/1.weight"], np.inf)), "non-finite"),
    (lambda s: ("model/2.running_var", -np.ones_like(s["model/2.running_var"])), "negative variances"),
    (lambda s: ("trainer/epoch", np.asarray(10 ** 6)), "trainer/epoch must be an integer"),
    (lambda s: ("trainer/epoch", np.asarray(-1)), "trainer/epoch must be an integer"),
    (lambda s: ("trainer/epoch", np.asarray(2.5)), "trainer/epoch must be an integer"),
    (lambda s: ("trainer/global_step", np.asarray([1, 2])), "trainer/global_step must be"),
], ids=["nan", "inf", "negative-variance", "epoch-1e6", "epoch-negative", "epoch-float",
        "step-array"])
def test_implausible_contents_are_refused_naming_the_file_and_entry(edit, message, valid, tmp_path):
    key, value = edit(load_checkpoint(valid))
    path = _edited(valid, tmp_path, key, value)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert "edited.npz" in str(info.value) and key in str(info.value)


def test_a_plausible_epoch_bound_is_far_above_any_real_run():
    assert MAX_EPOCHS >= 10 ** 4
