"""The Dask path: the same sweep on a local Dask cluster listening on loopback."""

import os

import pytest
from sweep_helpers import raw_records, write_study

from tinyquant.sweep import load_study, run_sweep

distributed = pytest.importorskip(
    "distributed", reason="the Dask path needs the optional extra: pip install 'tinyquant[dask]'")


def test_a_tiny_study_runs_on_a_local_dask_cluster_and_resumes(tmp_path):
    study = load_study(write_study(tmp_path))
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        result = run_sweep(study, out, scheduler=cluster.scheduler_address,
                           echo=lambda line: None)
        again = run_sweep(study, out, scheduler=cluster.scheduler_address,
                          echo=lambda line: None)
    ids = sorted(run.run_id for run in study.runs)
    assert sorted(result.executed) == ids and result.failed == {}
    assert again.executed == [] and sorted(again.skipped) == ids
    records = raw_records(out / "records.jsonl")
    assert sorted(r["run_id"] for r in records) == ids
    assert all(r["pid"] != os.getpid() for r in records)  # trained in the Dask worker
    assert all(r["final"]["test_accuracy"] > 0.5 for r in records)
