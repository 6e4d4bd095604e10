"""Sweeps that cannot go stale or collide: content-hashed inputs, paths relative to the
study, one sweep per folder, temporaries of killed writes cleaned."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sweep_helpers import TINY, raw_records, write_study

from tinyquant.sweep import load_study, run_sweep
from tinyquant.sweep.runner import SweepLockedError, folder_lock
from tinyquant.sweep.study import record_run_id
from tinyquant.train import save_checkpoint


def _init_study(folder, init="init.npz"):
    text = TINY.format(epochs=1, seeds=[0]).replace('dataset = "digits"',
                                                    f'dataset = "digits"\ninit_from = "{init}"')
    return write_study(folder, text=text)


def _checkpoint(path, value):
    return save_checkpoint(path, {"model/w": np.full(3, value, np.float32)})


def test_relative_input_paths_resolve_against_the_study_file(tmp_path, monkeypatch):
    folder = tmp_path / "studies"
    folder.mkdir()
    _checkpoint(folder / "init.npz", 1.0)
    path = _init_study(folder)
    monkeypatch.chdir(tmp_path)
    study = load_study("studies/study.toml")
    assert {run.config["init_from"] for run in study.runs} == {str(folder / "init.npz")}
    assert path.exists()


def test_run_id_hashes_the_input_files_content_not_their_path(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    _checkpoint(a / "init.npz", 1.0)
    _init_study(a)
    shutil.copytree(a, b)                                   # same content, another path
    ids_a = [r.run_id for r in load_study(a / "study.toml").runs]
    assert [r.run_id for r in load_study(b / "study.toml").runs] == ids_a
    _checkpoint(a / "init.npz", 2.0)                        # same path, new content
    assert not set(r.run_id for r in load_study(a / "study.toml").runs) & set(ids_a)


def test_data_dir_content_is_part_of_the_run_id(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.bin").write_bytes(b"1234")
    text = TINY.format(epochs=1, seeds=[0]).replace('dataset = "digits"',   # data_dir acts on
                                                    'dataset = "mnist"\ndata_dir = "data"')  # mnist
    path = write_study(tmp_path, text=text)
    before = load_study(path).runs[0]
    (data / "train.bin").write_bytes(b"1235")
    after = load_study(path).runs[0]
    assert before.config == after.config and before.run_id != after.run_id
    assert after.inputs["data_dir"].startswith("sha256:")


def test_a_record_of_a_replaced_input_is_not_taken_for_the_new_run(tmp_path):
    _checkpoint(tmp_path / "init.npz", 1.0)
    old = load_study(_init_study(tmp_path)).runs[0]
    record = {"run_id": old.run_id, "config": old.config, "inputs": old.inputs}
    assert record_run_id(record) == old.run_id
    _checkpoint(tmp_path / "init.npz", 2.0)
    new = load_study(tmp_path / "study.toml").runs[0]
    assert record_run_id(record) != new.run_id
    assert record_run_id({"run_id": "x", "config": old.config}) != new.run_id  # no digests


def test_a_sweep_whose_input_file_is_missing_refuses_before_running(tmp_path):
    study = load_study(_init_study(tmp_path, init="absent.npz"))
    assert study.missing_inputs() == [str(tmp_path / "absent.npz")]
    with pytest.raises(ValueError, match="absent.npz.*do not exist"):
        run_sweep(study, tmp_path / "out", echo=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_a_second_sweep_on_a_locked_folder_refuses_and_writes_nothing(tmp_path):
    study = load_study(write_study(tmp_path))
    out = tmp_path / "out"
    with folder_lock(out):
        with pytest.raises(SweepLockedError, match=r"another sweep \(pid \d+ .*out.*another --out"):
            run_sweep(study, out, echo=lambda line: None)
    assert sorted(p.name for p in out.iterdir()) == [".sweep.lock"]


def test_the_lock_of_a_killed_sweep_is_released_by_the_kernel(tmp_path):
    code = ("import sys, time; from pathlib import Path; from tinyquant.sweep.runner import folder_lock\n"
            "with folder_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "out")],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(SweepLockedError):
        with folder_lock(tmp_path / "out"):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with folder_lock(tmp_path / "out"):   # no stale lock after kill -9
        pass


def test_temporaries_of_killed_checkpoint_writes_are_removed_on_the_next_start(tmp_path):
    study = load_study(write_study(tmp_path, seeds=(0,)))
    out = tmp_path / "out"
    for run in study.runs:   # pretend every run is recorded: the sweep only cleans up
        (out / "runs" / run.run_id).mkdir(parents=True)
        stale = out / "runs" / run.run_id / ".checkpoint.npz.k1ll3d.tmp"
        stale.write_bytes(b"PK half")
    (out / "records.jsonl").write_text("".join(
        '{"run_id": "%s", "config": null}\n' % run.run_id for run in study.runs))
    lines = []
    result = run_sweep(study, out, echo=lines.append)
    assert result.executed == [] and len(result.skipped) == len(study.runs)
    assert not list(out.glob("runs/*/*.tmp"))
    assert "removed 2 temporary file(s)" in lines[0]
    assert len(raw_records(out / "records.jsonl")) == len(study.runs)

