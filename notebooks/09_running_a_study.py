# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Running a study
#
# A single training run tells you little: change the seed and the test accuracy moves by a
# few tenths of a percent, often more than the effect you are looking for. A **study** runs a
# grid of *settings × seeds* and asks whether the differences between settings are larger
# than the seed-to-seed noise.
#
# In this notebook you will
#
# 1. read a study file (`studies/example_tiny.toml`) and see how it expands into runs;
# 2. run it in parallel worker processes with `tinyquant.sweep.run_sweep`;
# 3. interrupt it and resume it — only the missing runs are trained again;
# 4. read its report: mean ± std over seeds, the spread across settings, ANOVA,
#    Kruskal–Wallis and Welch t-tests against the baseline;
# 5. (Exercise 9.1) recompute the report's numbers yourself from the raw records.
#
# From the command line the same thing is `tinyquant sweep studies/example_tiny.toml --fast`
# followed by `tinyquant report studies/example_tiny.toml --fast`.

# %%
import json
import shutil
from pathlib import Path

import numpy as np
from IPython.display import Image, Markdown, display
from scipy import stats

import tinyquant
from tinyquant.sweep import load_study, read_records, run_sweep, write_report

ROOT = Path(tinyquant.__file__).resolve().parents[1]   # the source checkout (pip install -e .)
STUDY_FILE = ROOT / "studies" / "example_tiny.toml"
OUT = ROOT / "out" / "notebooks" / "09_running_a_study"   # ignored by git
shutil.rmtree(OUT, ignore_errors=True)         # start from scratch every time
print(STUDY_FILE.read_text())

# %% [markdown]
# ## 1 · The study file
#
# `[study]` says what the study is about and which setting is the **baseline**; `[base]`
# holds the `tinyquant train` options every run shares; `[grid]` lists the seeds and the
# settings (each a name plus the options it changes); `[fast]` is the small version that CI
# runs. Loading it checks every key against the training parser, so a typo fails here, not an
# hour into a sweep.
#
# Each run gets an **id**: a hash of its complete configuration. The same configuration always
# gets the same id — that is how a resumed sweep knows what is already done.

# %%
study = load_study(STUDY_FILE, fast=True)
print(f"{study.name}: {len(study.settings)} settings x {len(study.runs) // len(study.settings)} seeds "
      f"({study.mode} mode); full mode takes {study.full_runtime}")
for run in study.runs:
    print(f"  {run.run_id}  {run.setting:5s} seed {run.seed}  "
          f"optimizer={run.config['optimizer']} epochs={run.config['epochs']}")

# %% [markdown]
# ## 2 · Run it
#
# `run_sweep` sends every run to a pool of worker processes (two here: the machine has two
# cores) and appends one JSON line per finished run to `records.jsonl`. With
# `scheduler="tcp://host:port"` the same runs go to a Dask cluster instead.

# %%
result = run_sweep(study, OUT, workers=2)
print("executed:", result.executed)

# %% [markdown]
# ## 3 · Interrupt and resume
#
# Suppose the machine went down while the last run was being written: we drop the last
# record and leave half a line behind, as a killed process would. Running the sweep again
# cuts the torn line off (with a warning) and trains **only** the missing run.

# %%
records_file = OUT / "records.jsonl"
lines = records_file.read_text().splitlines(keepends=True)
lost = json.loads(lines[-1])["run_id"]
records_file.write_text("".join(lines[:-1]) + lines[-1][:40])   # a torn last line

resumed = run_sweep(study, OUT, workers=2)
print("lost:", lost, " re-run:", resumed.executed, " skipped:", len(resumed.skipped))
assert resumed.executed == [lost]

# %% [markdown]
# ## 4 · The report
#
# `write_report` reads the records and writes the table as Markdown and CSV (to the study's
# results folder; here a folder of our own) and a figure of the metric over epochs with ±std
# bands. The statistics:
#
# * **mean ± std** of the final test accuracy over seeds (`ddof = 1`, the sample std);
# * **spread**: the largest minus the smallest setting mean;
# * **one-way ANOVA** and **Kruskal–Wallis** (its rank-based cousin): is *any* setting different?
# * **Welch t-test** of each setting against the baseline (no equal-variance assumption).
#
# With two seeds per setting these tests have almost no power: a large p value here means
# "not enough seeds", not "no effect".

# %%
written = write_report(records_file, OUT / "results", OUT, study=study)
display(Markdown(written["text"]))
display(Image(filename=str(written["png"])))

# %% [markdown]
# ## 5 · Growing a study
#
# Adding a setting does not redo the old runs: their configurations — and so their ids — are
# unchanged. Here we add Adam with a smaller learning rate and sweep again; only its two runs
# are trained.

# %%
from tinyquant.sweep import study_from_dict
from tinyquant.sweep.study import tomllib   # the standard library's (tomli on Python 3.10)

data = tomllib.loads(STUDY_FILE.read_text())
data["grid"]["settings"].append({"name": "adam_lr1e-3", "optimizer": "adam", "lr": 0.001})
bigger = study_from_dict(data, STUDY_FILE, fast=True)
grown = run_sweep(bigger, OUT, workers=2)
print(f"{len(grown.executed)} new runs, {len(grown.skipped)} reused")
assert len(grown.executed) == 2 and len(grown.skipped) == 4
written = write_report(records_file, OUT / "results", OUT, study=bigger)
display(Markdown(written["text"]))

# %% [markdown]
# ## Exercise 9.1 · Check the report by hand
#
# Never trust a table you cannot recompute. Using only the raw lines of `records.jsonl`
# (parse them with `json.loads`; a run's test accuracy, measured once at the end on the epoch
# selected by validation accuracy, is `record["history"][-1]["test_accuracy"]`), compute for
# the grown study:
#
# 1. `means`: a dict setting → mean final test accuracy over seeds;
# 2. `welch_p`: a dict setting → p value of the Welch t-test of that setting against the
#    baseline `"sgd"` (`scipy.stats.ttest_ind(..., equal_var=False)`), for the two non-baseline settings;
# 3. `anova_p`: the p value of the one-way ANOVA across all three settings.
#
# Return the three from `report_by_hand(records_file)` and run the check.

# %%
def report_by_hand(records_file):
    """Return (means, welch_p, anova_p) computed from the raw lines of records_file."""
    ### BEGIN SOLUTION
    raw = [json.loads(line) for line in records_file.read_text().splitlines() if line.strip()]
    finals = {}
    for record in raw:
        finals.setdefault(record["setting"], []).append(record["history"][-1]["test_accuracy"])
    means = {setting: float(np.mean(values)) for setting, values in finals.items()}
    welch_p = {setting: stats.ttest_ind(values, finals["sgd"], equal_var=False).pvalue
               for setting, values in finals.items() if setting != "sgd"}
    anova_p = stats.f_oneway(*finals.values()).pvalue
    return means, welch_p, anova_p
    ### END SOLUTION


# %%
# Check exercise 9.1
# your numbers must equal the report's
means, welch_p, anova_p = report_by_hand(records_file)
report = written["report"]
for row in report.rows:
    assert np.isclose(means[row.setting], row.mean, rtol=1e-12), row.setting
    if row.setting != report.baseline:
        assert np.isclose(welch_p[row.setting], row.welch_p, rtol=1e-12), row.setting
assert np.isclose(anova_p, report.anova[1], rtol=1e-12)
print("all numbers match the report")

# %% [markdown]
# **To think about.** How many seeds per setting would you need to detect a difference of
# 0.5 percentage points in test accuracy, given the std you measured? (For two groups,
# n ≈ 2·(z₀.₉₇₅ + z₀.₈)²·σ²/δ² ≈ 16·σ²/δ² per group.) The paper studies in `studies/` state
# their seeds and their runtime for that reason.
