"""Every paper study in studies/ runs in its fast mode and produces its table.

One test per study file: load it in fast mode, run its grid through the sweep API into a
temporary folder (two spawned workers shared by all studies), write the report and check that
the table holds every setting with the fast seeds. Studies that fine-tune get a freshly trained
one-epoch full-precision checkpoint instead of out/checkpoints/…. Studies whose extra tables
come from studies/analyze.py are checked for them too.

A study that names an option `tinyquant train` does not have fails, naming the option.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tinyquant.sweep import run_sweep, study_from_dict, write_report
from tinyquant.sweep.study import training_options

STUDIES = Path(__file__).resolve().parents[2] / "studies"
FILES = sorted(p for p in STUDIES.glob("s*.toml"))

#: study stem → headings studies/analyze.py must append for it in fast mode
EXTRA = {
    "s2_clip_ttq": ["## Peak and final error"],
    "s2_clip_xnor": ["## Peak and final error"],
    "s4_instability_ttq": ["## Stability of the validation accuracy over epochs"],
    "s4_instability_xnor": ["## Stability of the validation accuracy over epochs"],
    "s5_quantized_nets_adam": ["## Changed weights per layer", "## Mean |w_b − w_r| per layer"],
    "s7_binary_warmup": ["## SQNR of the quantizers over training"],
    "s8_ab_ste": ["## Mean gradient magnitude of the latent weights"],
}


def _options_used(data: dict) -> set:
    grid = data.get("grid", {})
    used = set(data.get("base", {})) | (set(data.get("fast", {})) - {"seeds"})
    for setting in grid.get("settings", []):
        used |= set(setting) - {"name"}
    used |= set(grid.get("axes", {}))
    return used


def _analyze_module():
    spec = importlib.util.spec_from_file_location("studies_analyze", STUDIES / "analyze.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pool():
    executor = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A one-epoch full-precision mnist1d_cnn checkpoint for the fine-tuning studies."""
    from tinyquant.config import TrainConfig
    from tinyquant.run import train

    out = tmp_path_factory.mktemp("fp_checkpoint")
    train(TrainConfig(model="mnist1d_cnn", dataset="mnist1d", epochs=1, batch_size=256,
                      seed=0, out=str(out), no_progress=True, overwrite=True))
    return out / "checkpoint.npz"


def test_every_study_is_listed():
    assert len(FILES) >= 8, f"expected the eight studies of issue #6, found {[p.name for p in FILES]}"
    assert set(EXTRA) <= {p.stem for p in FILES}


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_study_fast_mode_produces_its_table(path, tmp_path, pool, checkpoint):
    data = tomllib.loads(path.read_text())
    missing = _options_used(data) - set(training_options())
    assert not missing, f"{path.name}: tinyquant train has no option(s) {', '.join(sorted(missing))}"
    if "init_from" in data["base"]:
        data["base"]["init_from"] = str(checkpoint)
    study = study_from_dict(data, path, fast=True)
    assert study.name == path.stem, "the study's name should match its file name"

    result = run_sweep(study, tmp_path / "sweep", executor=pool, echo=lambda *a: None)
    assert not result.failed, result.failed
    written = write_report(result.records_path, tmp_path / "results", tmp_path, study=study)

    seeds = sorted({run.seed for run in study.runs})
    rows = {row.setting: row for row in written["report"].rows}
    assert list(rows) == study.settings
    for setting, row in rows.items():
        assert row.seeds == seeds, f"{setting}: seeds {row.seeds}, expected {seeds}"
        assert 0.0 <= row.mean <= 1.0, f"{setting}: accuracy {row.mean} out of range"
        name = f"{setting} (baseline)" if setting == study.baseline else setting
        assert f"| {name} |" in written["text"], f"{setting} missing from the Markdown table"
    assert written["csv"].read_text().count("\n") == len(study.settings) + 1

    analyze = _analyze_module()
    MARKER = analyze.MARKER
    md = analyze.analyze(study, tmp_path / "sweep", tmp_path / "results")
    text = md.read_text()
    for heading in ["## Peak and final error", "## Learning curve"] + EXTRA.get(path.stem, []):
        assert heading in text, f"{path.name}: analyze.py did not write {heading!r}"
    for setting in study.settings:
        assert f"| {setting} |" in text.split(MARKER)[1], f"{setting} missing from the extra tables"
