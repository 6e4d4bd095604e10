"""The report: its statistics equal those computed by hand on the records with numpy/scipy."""

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats
from sweep_helpers import raw_records

from tinyquant.sweep import summarize, write_report
from tinyquant.sweep.__main__ import main


def _by_hand(records, metric, baseline):
    """Everything the report states, recomputed from the raw records."""
    groups = {}
    for record in sorted(records, key=lambda r: r["seed"]):
        groups.setdefault(record["setting"], []).append(record["history"][-1][metric])
    hand = {s: {"n": len(v), "mean": np.mean(v),
                "std": np.std(v, ddof=1) if len(v) > 1 else None} for s, v in groups.items()}
    for setting, values in groups.items():
        if setting != baseline and len(values) > 1 and len(groups[baseline]) > 1:
            hand[setting]["welch"] = stats.ttest_ind(values, groups[baseline], equal_var=False)
    means = [h["mean"] for h in hand.values()]
    usable = [v for v in groups.values() if len(v) > 1]
    return hand, max(means) - min(means), stats.f_oneway(*usable), stats.kruskal(*usable)


def _check(report, records, metric, baseline):
    hand, spread, anova, kruskal = _by_hand(records, metric, baseline)
    assert sorted(row.setting for row in report.rows) == sorted(hand)
    for row in report.rows:
        h = hand[row.setting]
        assert row.n == h["n"]
        assert row.mean == pytest.approx(h["mean"], rel=1e-12)
        assert (row.std is None) if h["std"] is None else row.std == pytest.approx(h["std"],
                                                                                   rel=1e-12)
        assert row.diff == pytest.approx(h["mean"] - hand[baseline]["mean"], abs=1e-12)
        if "welch" in h:
            assert row.welch_t == pytest.approx(h["welch"].statistic, rel=1e-12)
            assert row.welch_p == pytest.approx(h["welch"].pvalue, rel=1e-12)
        else:
            assert row.welch_t is None and row.welch_p is None
    assert report.spread == pytest.approx(spread, rel=1e-12)
    assert report.anova == pytest.approx((anova.statistic, anova.pvalue), rel=1e-12)
    assert report.kruskal == pytest.approx((kruskal.statistic, kruskal.pvalue), rel=1e-12)


def test_report_of_the_tiny_sweep_equals_statistics_computed_by_hand(tiny_sweep, tmp_path):
    study, _, out = tiny_sweep
    records = raw_records(out / "records.jsonl")
    written = write_report(out / "records.jsonl", tmp_path / "results", tmp_path / "figures",
                           study=study)
    _check(written["report"], records, "test_accuracy", "sgd")
    # the CSV holds the same numbers at full precision
    hand = _by_hand(records, "test_accuracy", "sgd")[0]
    with open(written["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["setting"] for row in rows] == ["sgd", "adam"]
    for row in rows:
        assert float(row["mean"]) == hand[row["setting"]]["mean"]
        assert float(row["std"]) == hand[row["setting"]]["std"]
    assert float(rows[1]["welch_p"]) == hand["adam"]["welch"].pvalue
    assert rows[0]["welch_p"] == "" and rows[0]["is_baseline"] == "True"
    # the Markdown table and the figure
    text = written["md"].read_text()
    mean, std = hand["adam"]["mean"], hand["adam"]["std"]
    assert f"| adam | 2 | {mean:.4f} ± {std:.4f} |" in text
    assert "sgd (baseline)" in text and "Kruskal–Wallis" in text
    assert written["md"].name == "tiny.md" and written["png"].name == "tiny.png"
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _synthetic(sizes: dict, seed: int = 0, extra=None) -> list[dict]:
    """Records with two epochs each, final values drawn from a seeded generator."""
    rng = np.random.default_rng(seed)
    records = []
    for offset, (setting, n) in enumerate(sizes.items()):
        for s in range(n):
            final = float(0.9 + 0.01 * offset + 0.02 * rng.standard_normal())
            records.append({"run_id": f"{setting}-{s}", "setting": setting, "seed": s,
                            "history": [{"epoch": 1, "acc": final - 0.1, **(extra or {})},
                                        {"epoch": 2, "acc": final, **(extra or {})}]})
    return records


def test_report_on_unequal_group_sizes_equals_statistics_computed_by_hand():
    records = _synthetic({"base": 4, "a": 3, "b": 5, "single": 1}, seed=3)
    report = summarize(records, "acc", "base")
    _check(report, records, "acc", "base")
    single = report.rows[-1]
    assert single.std is None and "Welch n/a" in single.note


def test_across_setting_tests_say_na_and_why_without_two_settings_of_two_seeds():
    report = summarize(_synthetic({"base": 3, "a": 1}), "acc", "base")
    assert report.anova is None and report.kruskal is None
    assert "at least 2 settings with at least 2 seeds" in report.anova_note
    assert "(have 1)" in report.kruskal_note
    identical = _synthetic({"base": 2, "a": 2})
    for record in identical:
        record["history"][-1]["acc"] = 0.5
    report = summarize(identical, "acc", "base")
    assert report.kruskal is None and report.kruskal_note.startswith("n/a")
    assert report.rows[1].welch_p is None and "n/a" in report.rows[1].note


def test_a_missing_metric_or_baseline_is_named():
    records = _synthetic({"base": 2, "a": 2})
    with pytest.raises(ValueError, match="metric 'test_accuracy' is not in the records"):
        summarize(records, "test_accuracy", "base")
    with pytest.raises(ValueError, match="baseline 'sgd' has no records"):
        summarize(records, "acc", "sgd")


def test_the_report_command_works_from_the_records_alone(tiny_sweep, tmp_path, capsys):
    _, _, out = tiny_sweep
    assert main(["report", "--records", str(out / "records.jsonl"),
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| sgd (baseline) | 2 |" in printed and (tmp_path / "tiny.csv").is_file()


def test_the_report_reads_records_from_a_folder_and_writes_under_out_by_default(
        tiny_sweep, tmp_path, monkeypatch, capsys):
    study, _, out = tiny_sweep
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(study.path), "--records", str(out)]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "reports").iterdir()) == \
        ["tiny.csv", "tiny.md", "tiny.png"]
    assert not (out / "tiny.png").exists()   # nothing written next to the records


def test_the_report_selects_one_mode_and_refuses_to_mix_them(tiny_sweep, tmp_path, capsys):
    study, _, out = tiny_sweep
    mixed = tmp_path / "records.jsonl"
    lines = (out / "records.jsonl").read_text().splitlines()
    other = [json.loads(line) for line in lines]
    for record in other:  # the same settings and seeds, as a fast mode would record them
        record["run_id"], record["mode"] = "fast-" + record["run_id"], "fast"
    mixed.write_text("\n".join(lines + [json.dumps(r) for r in other]) + "\n")
    assert main(["report", "--records", str(mixed), "--out", str(tmp_path)]) == 2
    assert "two runs of setting" in capsys.readouterr().err
    written = write_report(mixed, tmp_path, study=study)
    assert written["report"].n_records == 4 and written["report"].n_ignored == 4
    assert "4 other records left out" in written["text"]
    assert math.isclose(written["report"].rows[0].mean,
                        np.mean([json.loads(x)["final"]["test_accuracy"] for x in lines[:4]
                                 if json.loads(x)["setting"] == "sgd"]))


def test_curves_are_drawn_on_validation_and_old_records_stay_readable():
    from tinyquant.sweep.report import curve_metric

    new = [{"history": [{"val_accuracy": 0.5}, {"val_accuracy": 0.6, "test_accuracy": 0.55}]}]
    old = [{"history": [{"test_accuracy": 0.5}, {"test_accuracy": 0.6}]}]
    assert curve_metric(new, "test_accuracy") == "val_accuracy"
    assert curve_metric(old, "test_accuracy") == "test_accuracy"
    assert curve_metric(new, "val_accuracy") == "val_accuracy"
    with pytest.raises(ValueError, match="no per-epoch validation counterpart"):
        curve_metric([{"history": [{"train_loss": 1.0}, {"test_loss": 0.3}]}], "test_loss")
