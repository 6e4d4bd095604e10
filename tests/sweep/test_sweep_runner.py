"""The sweep runner: parallel runs, one record each, and resuming after an interruption."""

import os
import signal
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from sweep_helpers import TINY, raw_records, write_study

import tinyquant.sweep.runner as runner
from tinyquant.sweep import load_study, read_records, run_id, run_sweep, summarize
from tinyquant.sweep.records import append_record, drop_torn_tail

QUIET = {"echo": lambda line: None}


def test_a_tiny_study_runs_to_completion_in_parallel_worker_processes(tiny_sweep):
    study, result, out = tiny_sweep
    expected = {run.run_id for run in study.runs}
    assert len(expected) == 4
    assert set(result.executed) == expected and len(result.executed) == 4
    assert result.skipped == [] and result.failed == {}
    records = raw_records(out / "records.jsonl")
    assert sorted(r["run_id"] for r in records) == sorted(expected)
    assert all(r["pid"] != os.getpid() for r in records), "runs must train in the workers"
    for run in study.runs:
        assert (out / "runs" / run.run_id / "history.json").is_file()
        assert "test accuracy" in (out / "runs" / run.run_id / "train.log").read_text()


def test_each_record_holds_config_history_final_metrics_and_wall_time(tiny_sweep):
    study, _, out = tiny_sweep
    runs = {run.run_id: run for run in study.runs}
    for record in raw_records(out / "records.jsonl"):
        run = runs[record["run_id"]]
        assert record["config"] == run.config and run_id(record["config"]) == record["run_id"]
        assert (record["setting"], record["seed"]) == (run.setting, run.seed)
        assert (record["study"], record["mode"], record["baseline"], record["metric"]) == (
            "tiny", "full", "sgd", "test_accuracy")
        assert [e["epoch"] for e in record["history"]] == [1]
        assert record["final"] == record["history"][-1]
        assert set(record["final"]) >= {"train_loss", "test_loss", "test_accuracy", "lr"}
        assert record["wall_time"] > 0


def test_rerunning_a_finished_sweep_runs_nothing(tiny_sweep):
    study, _, out = tiny_sweep
    before = (out / "records.jsonl").read_bytes()
    again = run_sweep(study, out, workers=2, **QUIET)
    assert again.executed == [] and sorted(again.skipped) == sorted(r.run_id for r in study.runs)
    assert (out / "records.jsonl").read_bytes() == before


def test_records_written_before_an_option_existed_are_still_recognised(tiny_sweep, tmp_path):
    """A newer tinyquant that adds a training option (at a default that keeps the old
    behaviour) must not orphan the records: they match with the option at its default."""
    import json

    from tinyquant.sweep.study import record_run_id, training_defaults

    study, _, out = tiny_sweep
    defaults = training_defaults()
    old = tmp_path / "old"
    old.mkdir()
    lines = []
    for record in raw_records(out / "records.jsonl"):
        assert record_run_id(record, defaults) == record["run_id"]   # nothing added: same id
        config = dict(record["config"])
        del config["step_init"], config["bn"]            # as written before those options existed
        lines.append(json.dumps({**record, "config": config, "run_id": run_id(config)}))
    (old / "records.jsonl").write_text("\n".join(lines) + "\n")
    again = run_sweep(study, old, workers=1, **QUIET)
    assert again.executed == [] and len(again.skipped) == 4


def test_a_record_holding_another_value_of_an_option_is_not_reused(tiny_sweep, tmp_path):
    import json

    study, _, out = tiny_sweep
    changed = tmp_path / "changed"
    changed.mkdir()
    records = raw_records(out / "records.jsonl")
    record = records[0]
    config = {**record["config"], "momentum": 0.5}          # e.g. a default that has changed since
    records[0] = {**record, "config": config, "run_id": run_id(config)}
    (changed / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    again = run_sweep(study, changed, workers=1, **QUIET)
    assert again.executed == [record["run_id"]]


def test_resuming_after_a_torn_last_line_runs_only_the_missing_runs(tiny_sweep, tmp_path):
    study, _, out = tiny_sweep
    lines = (out / "records.jsonl").read_bytes().splitlines(keepends=True)
    kept = lines[:2]
    records_path = tmp_path / "out" / "records.jsonl"
    records_path.parent.mkdir()
    records_path.write_bytes(b"".join(kept) + lines[2][: len(lines[2]) // 2])  # torn third
    with pytest.warns(RuntimeWarning, match="torn last line"):
        assert len(read_records(records_path)) == 2
    with pytest.warns(RuntimeWarning, match="removed a torn last line"):
        result = run_sweep(study, tmp_path / "out", workers=1, **QUIET)
    recorded = {r["run_id"] for r in raw_records(out / "records.jsonl")[:2]}
    missing = {run.run_id for run in study.runs} - recorded
    assert set(result.executed) == missing and len(result.executed) == 2
    assert set(result.skipped) == recorded
    data = records_path.read_bytes()
    assert data.startswith(b"".join(kept))  # the old records are untouched
    assert sorted(r["run_id"] for r in raw_records(records_path)) == sorted(
        run.run_id for run in study.runs)


def test_killing_a_sweep_midway_and_rerunning_completes_only_the_missing_runs(tmp_path):
    """A real interruption: SIGKILL the sweep (parent and workers) after its first record."""
    study_path = write_study(tmp_path, epochs=2, seeds=range(6))
    out = tmp_path / "out"
    records_path = out / "records.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tinyquant.sweep", "sweep", str(study_path), "--out", str(out),
         "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while not (records_path.exists() and records_path.read_bytes().count(b"\n") >= 1):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the sweep wrote no record within 60 s"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()

    study = load_study(study_path)
    all_ids = {run.run_id for run in study.runs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the kill may tear a line
        recorded = [r["run_id"] for r in read_records(records_path)]
    assert 1 <= len(recorded) < len(all_ids), f"kill came too late: {len(recorded)} recorded"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = run_sweep(study, out, workers=2, **QUIET)
    assert sorted(result.executed) == sorted(all_ids - set(recorded))
    assert sorted(result.skipped) == sorted(recorded)
    final = raw_records(records_path)
    assert sorted(r["run_id"] for r in final) == sorted(all_ids)  # each run exactly once


def _fake_run(config, run_dir):
    """Stands in for execute_run: two epochs with an extra per-epoch metric."""
    if config["optimizer"] == "adam" and config["seed"] == 1:
        raise RuntimeError("diverged")
    history = [{"epoch": e, "test_accuracy": 0.5 + 0.1 * e + 0.01 * config["seed"],
                "changed_weights_pct": [1.5 * e, {"layer": "fc1"}]} for e in (1, 2)]
    return {"history": history, "wall_time": 0.01, "finished": "now", "host": "h", "pid": 1}


def test_extra_metrics_pass_through_and_a_failed_run_spares_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "execute_run", _fake_run)
    study = load_study(write_study(tmp_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = run_sweep(study, tmp_path / "out", executor=pool, **QUIET)
    bad = next(r.run_id for r in study.runs if r.setting == "adam" and r.seed == 1)
    assert list(result.failed) == [bad] and "diverged" in result.failed[bad]
    records = raw_records(tmp_path / "out" / "records.jsonl")
    assert len(records) == 3 and bad not in {r["run_id"] for r in records}
    for record in records:
        assert record["history"] == _fake_run(record["config"], "")["history"]
    report = summarize(records, "test_accuracy", "sgd")
    assert [(row.setting, row.n) for row in report.rows] == [("sgd", 2), ("adam", 1)]


def test_the_records_reader_refuses_a_corrupt_middle_line(tmp_path):
    path = tmp_path / "records.jsonl"
    append_record(path, {"run_id": "a"})
    with open(path, "a") as handle:
        handle.write("{not json\n")
    append_record(path, {"run_id": "b"})
    with pytest.raises(ValueError, match="line 2 is not a JSON record"):
        read_records(path)


def test_a_clean_records_file_is_left_alone(tmp_path):
    path = tmp_path / "records.jsonl"
    append_record(path, {"run_id": "a", "x": float("nan")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert drop_torn_tail(path) == 0
        assert read_records(path)[0]["run_id"] == "a"
    assert read_records(tmp_path / "missing.jsonl") == []


def test_bad_arguments_are_named(tmp_path, monkeypatch):
    study = load_study(write_study(tmp_path))
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        run_sweep(study, tmp_path / "out", workers=0, **QUIET)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were missing
    with pytest.raises(ImportError, match=r"tinyquant\[dask\].*'distributed' is not installed"):
        run_sweep(study, tmp_path / "out", scheduler="tcp://127.0.0.1:1", **QUIET)


def test_the_sweep_command_reports_a_malformed_study_in_one_line(tmp_path, capsys):
    from tinyquant.sweep.__main__ import main

    path = write_study(tmp_path, text=TINY.format(epochs=1, seeds=[0]).replace(
        'baseline = "sgd"', 'baseline = "nope"'))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("tinyquant sweep: error:") and "'nope'" in error
    assert not (tmp_path / "out").exists()


def test_worker_initializer_shares_the_cores_between_blas_and_the_convolution(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    from tinyquant.nn import parallel

    monkeypatch.setattr(parallel, "_default", parallel.ConvRuntime(threads=4))
    with threadpool_limits():          # restores the BLAS thread counts afterwards
        runner._init_worker(1)
        assert parallel.default_runtime().threads == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
