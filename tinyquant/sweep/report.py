"""A study's report from its records: the table, the significance tests and a figure.

Selection is on validation, never on the test set: a run with a validation split
(``val_fraction`` > 0) reports, in its last history entry, the test metric of the epoch
selected by validation accuracy, measured once at the end (``selected_epoch``); its curves
are the per-epoch validation metrics (:func:`curve_metric`). Records written before the
validation split (the test metric at every epoch, no ``val_*``) are still read: their last
epoch's test metric is the value, their curves the per-epoch test metric.

For each setting, the final value of the study's metric (the last epoch's) over seeds:
n, mean and standard deviation (ddof = 1). Across settings: the spread (max − min of the
means), a one-way ANOVA (``scipy.stats.f_oneway``) and a Kruskal–Wallis test
(``scipy.stats.kruskal``) over the settings with at least two seeds (at least two such
settings needed, else "n/a" with the reason), and a Welch t-test
(``scipy.stats.ttest_ind(..., equal_var=False)``) of each setting against the baseline.
p values are not corrected for multiple comparisons.

``summarize`` computes, ``to_markdown`` / ``to_csv`` format, ``plot_curves`` draws the
per-setting mean of the metric over epochs with ±std bands, ``write_report`` does all.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from ..markdown import table
from .study import Study, record_run_id, training_defaults


@dataclass
class SettingStats:
    """One row of the table; ``None`` where a statistic is undefined (see ``note``)."""

    setting: str
    values: list  # final metric per seed, in seed order
    seeds: list
    n: int
    mean: float
    std: float | None  # ddof = 1; None with a single seed
    diff: float | None = None  # mean minus the baseline's mean
    welch_t: float | None = None
    welch_p: float | None = None
    note: str = ""


@dataclass
class Report:
    """The study's statistics; ``anova``/``kruskal`` are (statistic, p) or None with a note."""

    metric: str
    baseline: str
    rows: list = field(default_factory=list)
    spread: float | None = None
    anova: tuple | None = None
    anova_note: str = ""
    kruskal: tuple | None = None
    kruskal_note: str = ""
    n_records: int = 0
    n_ignored: int = 0


def select_records(records: list[dict], study: Study | None = None) -> tuple[list[dict], int]:
    """The records to report and how many were left out.

    With a study: the records of its runs in the chosen mode (other runs, e.g. the other
    mode's, sharing the folder are left out). Without: all, but each (setting, seed) once.
    """
    if study is not None:
        wanted, defaults = {run.run_id for run in study.runs}, training_defaults()
        chosen, seen = [], set()
        for record in records:
            rid = record_run_id(record, defaults)
            if rid in wanted and rid not in seen:
                seen.add(rid)
                chosen.append(record)
        return chosen, len(records) - len(chosen)
    by_key = {}
    for record in records:
        key = (record["setting"], record["seed"])
        if key in by_key and by_key[key]["run_id"] != record["run_id"]:
            raise ValueError(f"the records hold two runs of setting {key[0]!r} seed {key[1]} "
                             f"(run ids {by_key[key]['run_id']} and {record['run_id']}), e.g. "
                             f"from fast and full mode; pass the study file to choose")
        by_key.setdefault(key, record)
    return list(by_key.values()), len(records) - len(by_key)


def final_value(record: dict, metric: str) -> float:
    """The metric's value in the record's last epoch; a clear error if it is missing."""
    final = record["history"][-1]
    if metric not in final:
        raise ValueError(f"metric {metric!r} is not in the records (run {record['run_id']} "
                         f"has {sorted(final)})")
    return float(final[metric])


def curve_metric(records: list[dict], metric: str) -> str:
    """The per-epoch key to draw ``metric``'s learning curves with: ``metric`` itself if
    every epoch of every record has it (records without a validation split), else its
    validation counterpart (``test_accuracy`` -> ``val_accuracy``)."""
    if all(metric in epoch for r in records for epoch in r["history"]):
        return metric
    val = "val_" + metric[len("test_"):] if metric.startswith("test_") else metric
    if all(val in epoch for r in records for epoch in r["history"]):
        return val
    raise ValueError(f"metric {metric!r} is not recorded at every epoch and has no per-epoch "
                     f"validation counterpart {val!r} in the records")


def _test(function, groups) -> tuple[tuple | None, str]:
    """Run an across-settings test; (statistic, p) or None and why."""
    usable = [g for g in groups if len(g) >= 2]
    if len(usable) < 2:
        return None, (f"n/a: needs at least 2 settings with at least 2 seeds each "
                      f"(have {len(usable)})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            statistic, p = function(*usable)
    except ValueError as error:  # e.g. kruskal on identical numbers
        return None, f"n/a: {error}"
    if not (math.isfinite(statistic) and math.isfinite(p)):
        return None, "n/a: undefined (no variation within the settings)"
    return (float(statistic), float(p)), ""


def summarize(records: list[dict], metric: str, baseline: str,
              settings: list[str] | None = None) -> Report:
    """The report's statistics over ``records`` (each a finished run; see records.py).

    Rows follow ``settings`` (the study's order); without it the baseline comes first,
    then the other settings in the order the records first mention them."""
    grouped = {}
    for record in records:
        grouped.setdefault(record["setting"], []).append(record)
    first = settings if settings is not None else [baseline]  # else: baseline, then as found
    order = [s for s in first if s in grouped] + [s for s in grouped if s not in first]
    if baseline not in grouped:
        raise ValueError(f"baseline {baseline!r} has no records; settings with records: "
                         f"{order}")
    report = Report(metric=metric, baseline=baseline, n_records=len(records))
    for setting in order:
        runs = sorted(grouped[setting], key=lambda r: r["seed"])
        values = [final_value(r, metric) for r in runs]
        report.rows.append(SettingStats(
            setting=setting, values=values, seeds=[r["seed"] for r in runs], n=len(values),
            mean=float(np.mean(values)),
            std=float(np.std(values, ddof=1)) if len(values) >= 2 else None))
    base = next(row for row in report.rows if row.setting == baseline)
    for row in report.rows:
        row.diff = row.mean - base.mean
        if row is base:
            continue
        if row.n < 2 or base.n < 2:
            row.note = "Welch n/a: needs at least 2 seeds in both settings"
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, p = stats.ttest_ind(row.values, base.values, equal_var=False)
        if math.isfinite(t) and math.isfinite(p):
            row.welch_t, row.welch_p = float(t), float(p)
        else:
            row.note = "Welch n/a: no variation within the two settings"
    means = [row.mean for row in report.rows]
    report.spread = max(means) - min(means)
    groups = [row.values for row in report.rows]
    report.anova, report.anova_note = _test(stats.f_oneway, groups)
    report.kruskal, report.kruskal_note = _test(stats.kruskal, groups)
    return report


def _fmt(value, spec=".4f", signed=False) -> str:
    if value is None:
        return "—"
    return format(value, ("+" if signed else "") + spec)


def to_markdown(report: Report, study: Study | None = None, source: str = "") -> str:
    """The table and the across-settings tests as Markdown."""
    lines = []
    if study is not None:
        lines += [f"# Study `{study.name}` ({study.mode} mode)", "",
                  f"**Claim.** {study.claim}", "", study.description.strip(), "",
                  f"Full mode on 2 cores: {study.full_runtime}.", ""]
    lines += [f"`{report.metric}` of each run (of the epoch selected on validation accuracy, "
              f"measured once at the end; for runs without a validation split, the last "
              f"epoch's): mean ± std (ddof = 1) over seeds; "
              f"baseline `{report.baseline}`; {report.n_records} runs"
              + (f" from `{source}`" if source else "")
              + (f" ({report.n_ignored} other records left out)" if report.n_ignored else "")
              + ".", ""]
    body = []
    for row in report.rows:
        name = f"{row.setting} (baseline)" if row.setting == report.baseline else row.setting
        spread = f"{_fmt(row.mean)} ± {_fmt(row.std)}"
        diff = "—" if row.setting == report.baseline else _fmt(row.diff, signed=True)
        body.append([name, row.n, spread, diff, _fmt(row.welch_t, ".3f"), _fmt(row.welch_p, ".3g")])
    lines.append(table(["setting", "n", "mean ± std", "Δ vs baseline", "Welch t", "Welch p"], body, align="lrlrrr"))
    notes = [f"{row.setting}: {row.note}" for row in report.rows if row.note]
    lines += [""] + [f"- {note}" for note in notes] + ([""] if notes else [])
    anova = (f"F = {report.anova[0]:.3f}, p = {report.anova[1]:.3g}" if report.anova
             else report.anova_note)
    kruskal = (f"H = {report.kruskal[0]:.3f}, p = {report.kruskal[1]:.3g}" if report.kruskal
               else report.kruskal_note)
    lines += [f"- Spread across settings (max − min of the means): {report.spread:.4f}",
              f"- One-way ANOVA across settings: {anova}",
              f"- Kruskal–Wallis across settings: {kruskal}",
              "- p values are not corrected for multiple comparisons.", ""]
    return "\n".join(lines)


CSV_COLUMNS = ["setting", "is_baseline", "n", "mean", "std", "diff_vs_baseline",
               "welch_t", "welch_p", "values"]


def to_csv(report: Report) -> str:
    """One row per setting at full precision (empty cells for undefined statistics)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([row.setting, row.setting == report.baseline, row.n, repr(row.mean),
                         "" if row.std is None else repr(row.std), repr(row.diff),
                         "" if row.welch_t is None else repr(row.welch_t),
                         "" if row.welch_p is None else repr(row.welch_p),
                         " ".join(repr(v) for v in row.values)])
    return buffer.getvalue()


def plot_curves(records: list[dict], report: Report, path) -> Path:
    """Per-setting mean of the metric over epochs with ±std (ddof = 1) bars and bands, as
    a PNG (a setting with one seed gets no bars)."""
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    longest = 1
    key = curve_metric(records, report.metric)
    for row in report.rows:
        curves = [[epoch[key] for epoch in r["history"]]
                  for r in records if r["setting"] == row.setting]
        length = min(len(c) for c in curves)
        values = np.array([c[:length] for c in curves], dtype=float)
        epochs = np.arange(1, length + 1)
        mean = values.mean(axis=0)
        std = values.std(axis=0, ddof=1) if len(curves) >= 2 else np.zeros(length)
        lines = axes.errorbar(epochs, mean, yerr=std, marker="o", capsize=3,
                              label=f"{row.setting} (n={len(curves)})")
        axes.fill_between(epochs, mean - std, mean + std, alpha=0.15,
                          color=lines[0].get_color())
        longest = max(longest, length)
    axes.set_xlim(0.5, longest + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.set_xlabel("epoch")
    axes.set_ylabel(key)
    axes.set_title(f"{key}: mean ± std over seeds", fontsize="medium")
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def report_stem(name: str, mode: str | None) -> str:
    """File stem of a report: ``<name>`` for full mode, ``<name>.fast`` for fast mode."""
    return f"{name}.fast" if mode == "fast" else name


def _common(records: list[dict], key: str, given):
    """A value all records agree on (study, mode, metric, baseline), unless given."""
    if given is not None:
        return given
    found = sorted({str(record.get(key)) for record in records})
    if len(found) != 1:
        raise ValueError(f"the records disagree on {key!r} (found {found}); "
                         f"pass the study file or --{key}")
    return records[0].get(key)


def write_report(records_path, results_dir, figure_dir=None, study: Study | None = None,
                 metric: str | None = None, baseline: str | None = None) -> dict:
    """Read the records, write ``<stem>.md`` and ``<stem>.csv`` to ``results_dir`` and
    ``<stem>.png`` to ``figure_dir`` (default: next to the records); return a dict with
    the ``report``, its Markdown ``text``, the ``records`` reported on and the paths ``md``,
    ``csv``, ``png``. Without a study, the records name their study,
    metric and baseline (or pass ``metric`` / ``baseline``)."""
    from .records import read_records

    records_path = Path(records_path)
    records = read_records(records_path)
    if not records:
        raise ValueError(f"no records in {str(records_path)!r}; run the sweep first")
    chosen, ignored = select_records(records, study)
    if not chosen:
        raise ValueError(f"none of the {len(records)} records in {str(records_path)!r} is a "
                         f"run of study {study.name!r} in {study.mode} mode; run that sweep")
    if study is not None:
        metric, baseline = metric or study.metric, baseline or study.baseline
        stem = report_stem(study.name, study.mode)
    else:
        metric = _common(chosen, "metric", metric)
        baseline = _common(chosen, "baseline", baseline)
        stem = report_stem(_common(chosen, "study", None), _common(chosen, "mode", None))
    report = summarize(chosen, metric, baseline, study.settings if study else None)
    report.n_ignored = ignored
    markdown = to_markdown(report, study, source=str(records_path))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    written = {"report": report, "text": markdown, "records": chosen,
               "md": results_dir / f"{stem}.md", "csv": results_dir / f"{stem}.csv"}
    written["md"].write_text(markdown)
    written["csv"].write_text(to_csv(report))
    figure_dir = records_path.parent if figure_dir is None else Path(figure_dir)
    written["png"] = plot_curves(chosen, report, figure_dir / f"{stem}.png")
    return written
