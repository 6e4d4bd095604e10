"""kill -9 at random moments: during checkpoint writes and during sweeps.

Fast in CI (a few kills); TINYQUANT_FULL=1 runs the long loops.
"""

import json
import random
import signal
import time

import pytest
from helpers import FULL, ENV, alive, children, cli, popen_cli

from tinyquant.train import load_checkpoint

STUDY = """
[study]
name = "killed"
description = "kill -9 loops"
claim = "none: a test of the machinery"
full_runtime = "seconds"
baseline = "a"

[base]
model = "{model}"
dataset = "digits"
epochs = {epochs}
batch_size = 256

[grid]
seeds = {seeds}

[[grid.settings]]
name = "a"
lr = 0.05

[[grid.settings]]
name = "b"
lr = 0.1
"""


def _study(folder, model="mlp", epochs=1, seeds=(0, 1)):
    path = folder / "study.toml"
    path.write_text(STUDY.format(model=model, epochs=epochs, seeds=list(seeds)))
    return path


def _record_ids(out):
    path = out / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["run_id"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_kill_9_during_checkpoint_writes_always_leaves_a_loadable_checkpoint(tmp_path):
    """A training of 1-batch epochs writes a checkpoint every few milliseconds; each kill
    lands during a write or between two. The checkpoint on disk always loads, its epoch
    never goes back, and temporaries never pile up (the next start removes them)."""
    import subprocess
    import sys

    rng = random.Random(0)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "tinyquant.cli", "train", "--model", "mlp", "--epochs", "1000",
           "--batch-size", "2000", "--schedule", "constant", "--out", str(out),
           "--no-progress", "--resume"]
    last_epoch = 0
    for _ in range(20 if FULL else 4):
        ck = out / "checkpoint.npz"
        before = ck.stat().st_mtime_ns if ck.exists() else None
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120   # until this process has written a checkpoint itself
        while time.time() < deadline and proc.poll() is None and \
                (not ck.exists() or ck.stat().st_mtime_ns == before):
            time.sleep(0.01)
        time.sleep(rng.random() * 0.5)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert proc.returncode == -9, err[-2000:]
        if (out / "checkpoint.npz").exists():
            epoch = int(load_checkpoint(out / "checkpoint.npz")["trainer/epoch"])
            assert epoch >= last_epoch
            last_epoch = epoch
        assert len(list(out.glob(".*.tmp"))) <= 1
    assert last_epoch > 0, "no checkpoint was ever written: the kills came too early"


@pytest.mark.slow
def test_kill_9_of_a_sweep_takes_its_workers_with_it(tmp_path):
    path = _study(tmp_path, model="digits_cnn", epochs=6, seeds=(0, 1, 2))
    out = tmp_path / "out"
    sweep = popen_cli("sweep", path, "--out", out, "--workers", 2)
    workers = set()
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("runs/*/train.log")):
        workers |= children(sweep.pid)
        time.sleep(0.1)
    workers |= children(sweep.pid)
    assert workers, "the sweep started no worker"
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    started = set(out.glob("runs/*"))
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in workers):
        time.sleep(0.1)
    survivors = [p for p in workers if alive(p)]
    for p in survivors:   # do not leave them running if the test fails
        import os

        os.kill(p, signal.SIGKILL)
    assert not survivors, f"{len(survivors)} of {len(workers)} workers outlived the sweep"
    time.sleep(1)
    assert set(out.glob("runs/*")) == started, "a worker started a queued run after the kill"
    assert _record_ids(out) == []


@pytest.mark.slow
def test_kill_loop_during_a_sweep_neither_duplicates_nor_loses_records(tmp_path):
    path = _study(tmp_path, epochs=3, seeds=(0, 1, 2) if FULL else (0, 1))  # kills mid-run too
    out = tmp_path / "out"
    rng = random.Random(1)
    for _ in range(6 if FULL else 2):
        written = _checkpoint_times(out)
        sweep = popen_cli("sweep", path, "--out", out)
        deadline = time.time() + 120    # until a worker has written a checkpoint: mid-run
        while time.time() < deadline and sweep.poll() is None and _checkpoint_times(out) == written:
            time.sleep(0.02)
        time.sleep(0.3 * rng.random())
        sweep.send_signal(signal.SIGKILL)
        sweep.communicate()
        ids = _record_ids(out)
        assert len(ids) == len(set(ids)), "a killed sweep duplicated a record"
    final = cli("sweep", path, "--out", out)
    assert final.returncode == 0, final.stderr[-2000:]
    ids = _record_ids(out)
    assert len(ids) == len(set(ids)) == (6 if FULL else 4)
    clean = cli("sweep", path, "--out", tmp_path / "clean")   # never killed
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert _histories(out) == _histories(tmp_path / "clean"), \
        "a run continued after a kill differs from the uninterrupted run"


def _checkpoint_times(out):
    return {p: p.stat().st_mtime_ns for p in out.glob("runs/*/checkpoint.npz")}


def _histories(out):
    """run id -> its per-epoch history without wall times."""
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()
               if line.strip()]
    return {r["run_id"]: [{k: v for k, v in h.items() if k != "seconds"} for h in r["history"]]
            for r in records}


@pytest.mark.slow
def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    path = _study(tmp_path, seeds=(0, 1, 2))
    out = tmp_path / "out"
    first = popen_cli("sweep", path, "--out", out)
    deadline = time.time() + 60
    while time.time() < deadline and not ((out / ".sweep.lock").exists()
                                          and (out / ".sweep.lock").read_text().strip()):
        time.sleep(0.05)
    second = cli("sweep", path, "--out", out)
    first.communicate(timeout=600)
    assert second.returncode == 2
    assert second.stderr.startswith("tinyquant sweep: error: another sweep (pid ")
    assert first.returncode == 0
    ids = _record_ids(out)
    assert len(ids) == len(set(ids)) == 6
