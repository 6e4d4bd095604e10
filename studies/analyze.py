"""Extra tables for a study's report: what `tinyquant report` does not compute.

    python studies/analyze.py studies/NAME.toml [--fast] [--records DIR] [--out DIR]

Run it after `tinyquant report` (same flags): it reads the study's records (and each run's
``diagnostics.json`` when the study trains with ``diagnostics = true``) from ``--records``
(default ``out/studies/NAME``) and appends, below the marker line ``<!-- analyze.py -->`` of
``<out>/<stem>.md`` (``--out``, default ``out/reports``, as for ``tinyquant report``) (anything after an earlier
marker is replaced, so rerunning is safe):

* **Peak and error.** Per setting, the best epoch's *validation* metric (seed 000 reports
  peak validation accuracy for clipping and BN) and the test error in % of the epoch selected
  on validation (seed 002, Table 1). Records from before the validation split have only
  per-epoch test metrics: for them the peak is over the test curve, and the table says so.
* **Stability over epochs** (seed 000, exp. 4). Per run, over its per-epoch validation
  accuracy (older records: test accuracy) in pp: the standard deviation (ddof = 0, over all epochs) and the total variation
  Σ_t |acc_{t+1} − acc_t|; then mean ± std (ddof = 1) over seeds per setting, the settings
  ranked by mean TV, and a Kruskal–Wallis test of TV across settings.
* **Changed weights** (seed 002, Figs. 4–5; ``ChangedLevels``): per setting and layer, the %
  of weights whose level differs from the level at initialization, at a few epochs.
* **|w_b − w_r|** (seed 002, Fig. 7; ``LatentDistance``): per setting and layer.
* **SQNR traces** (seed 003, Fig. 4; ``QuantizerTrace``): per setting and quantizer, the SQNR
  in dB at the first record, its minimum, at the end of the first 20 % of training and at the end.
* **Gradient magnitude** (seed 004, Fig. 4; ``GradientMagnitude``): per setting, the mean
  |∂L/∂w| over the quantized layers at a few epochs, and last/first.

Every number is a mean over the seeds that recorded it (n is given). Nothing is printed for a
diagnostic the runs did not record.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from tinyquant.markdown import table
from tinyquant.sweep import default_out, load_study, read_records
from tinyquant.sweep.report import curve_metric, report_stem, select_records

MARKER = "<!-- analyze.py -->"


def epoch_picks(n: int) -> list[int]:
    """1-based epochs to tabulate: first, quarters, last (distinct, sorted)."""
    return sorted({1, max(1, round(n / 4)), max(1, round(n / 2)), max(1, round(3 * n / 4)), n})


def curve_stability(acc: list[float]) -> tuple[float, float]:
    """(std, total variation) of an accuracy curve given as fractions; both in pp."""
    a = 100 * np.asarray(acc, dtype=float)
    return float(np.std(a)), float(np.sum(np.abs(np.diff(a))))


def _ms(values) -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "—"
    if v.size == 1:
        return f"{v[0]:.3g}"
    return f"{v.mean():.3g} ± {v.std(ddof=1):.2g}"


def _by_setting(records, settings):
    grouped = {s: [] for s in settings}
    for r in records:
        grouped.setdefault(r["setting"], []).append(r)
    return {s: sorted(rs, key=lambda r: r["seed"]) for s, rs in grouped.items() if rs}


def peak_and_error(groups, metric) -> list[str]:
    key = curve_metric([r for rs in groups.values() for r in rs], metric)
    where_from = ("validation" if key != metric else
                  "test: these records predate the validation split, so the peak selects on the test set")
    lines = ["## Peak and final error", "",
             f"Per setting over seeds: the best epoch's `{key}` (peak; {where_from}), the epoch "
             f"it occurs (mean), and the test error in % (100 − the run's test accuracy, of the "
             f"epoch selected on validation where there is a split).", ""]
    body = []
    for s, rs in groups.items():
        curves = [[e[key] for e in r["history"]] for r in rs]
        peaks = [max(c) for c in curves]
        where = [1 + int(np.argmax(c)) for c in curves]
        err = [100 * (1 - r["history"][-1]["test_accuracy"]) for r in rs]
        body.append([s, len(rs), _ms(peaks), f"{np.mean(where):.1f}", _ms(err)])
    return lines + table(["setting", "n", "peak", "epoch of peak", "final error %"], body).splitlines() + [""]


def learning_curve(groups, metric) -> list[str]:
    """``metric`` at the first, quarter, half, three-quarter and last epoch: where a setting
    matters early (an initialization, a warm-up) and washes out by the end."""
    n = min(len(r["history"]) for rs in groups.values() for r in rs)
    picks = epoch_picks(n)
    metric = curve_metric([r for rs in groups.values() for r in rs], metric)
    lines = ["## Learning curve", "",
             f"`{metric}` after the given epochs, mean ± std over seeds.", ""]
    body = [[s, len(rs)] + [_ms([r["history"][e - 1][metric] for r in rs]) for e in picks] for s, rs in groups.items()]
    return lines + table(["setting", "n"] + [f"epoch {e}" for e in picks], body).splitlines() + [""]


def stability(groups) -> list[str]:
    rows, tvs = [], []
    key = curve_metric([r for rs in groups.values() for r in rs], "test_accuracy")
    for s, rs in groups.items():
        pairs = [curve_stability([e[key] for e in r["history"]]) for r in rs]
        if not pairs or len(rs[0]["history"]) < 2:
            continue
        std, tv = zip(*pairs)
        rows.append((np.mean(tv), s, len(rs), std, tv))
        tvs.append(tv)
    if not rows:
        return []
    n_epochs = len(next(iter(groups.values()))[0]["history"])
    which = "validation" if key == "val_accuracy" else "test"
    lines = [f"## Stability of the {which} accuracy over epochs", "",
             f"Per run, over its {n_epochs} per-epoch {which} accuracies in pp: the standard "
             "deviation and the total variation Σ|acc_{t+1} − acc_t|; mean ± std over seeds. "
             "Ranked from the smoothest (lowest mean total variation).", ""]
    lines += table(["rank", "setting", "n", "std over epochs (pp)", "total variation (pp)"],
                   [[i, s, n, _ms(std), _ms(tv)] for i, (_, s, n, std, tv) in enumerate(sorted(rows, key=lambda x: x[0]), start=1)]).splitlines()
    usable = [t for t in tvs if len(t) >= 2]
    if len(usable) >= 2:
        h, p = stats.kruskal(*usable)
        lines += ["", f"- Kruskal–Wallis of the total variation across settings: H = {h:.3f}, "
                      f"p = {p:.3g}"]
        std_groups = [row[3] for row in rows if len(row[3]) >= 2]
        h2, p2 = stats.kruskal(*std_groups)
        lines += [f"- Kruskal–Wallis of the std over epochs across settings: H = {h2:.3f}, "
                  f"p = {p2:.3g}"]
    return lines + [""]


def load_diagnostics(records, out: Path) -> dict:
    found = {}
    for r in records:
        path = out / "runs" / r["run_id"] / "diagnostics.json"
        if path.exists():
            found[r["run_id"]] = json.loads(path.read_text())
    return found


def _layer_table(groups, diags, recorder, key, title, intro, fmt=".3g") -> list[str]:
    """Per setting × layer, the mean over seeds of history[key][layer] at picked epochs."""
    cells, picks = {}, None
    for s, rs in groups.items():
        for r in rs:
            h = diags.get(r["run_id"], {}).get(recorder)
            if not h or not h.get(key):
                continue
            n = len(h["epoch"])
            picks = picks or epoch_picks(n)
            for layer, values in h[key].items():
                cells.setdefault((s, layer), []).append([values[e - 1] for e in picks if e <= len(values)])
    if not cells:
        return []
    body = []
    for (s, layer), rows in cells.items():
        width = min(len(x) for x in rows)
        m = np.mean([x[:width] for x in rows], axis=0)
        body.append([s, layer, len(rows)] + [format(v, fmt) for v in m] + [""] * (len(picks) - width))
    return [f"## {title}", "", intro, ""] + table(["setting", "layer", "n"] + [f"epoch {e}" for e in picks], body).splitlines() + [""]


def sqnr_table(groups, diags) -> list[str]:
    rows = {}
    for s, rs in groups.items():
        for r in rs:
            h = diags.get(r["run_id"], {}).get("QuantizerTrace")
            if not h or not h.get("sqnr"):
                continue
            steps = np.asarray(h["step"], dtype=float)
            cut = steps.max() * 0.2 if steps.size else 0
            for q, values in h["sqnr"].items():
                v = np.asarray(values, dtype=float)
                st = np.asarray(h["std"][q], dtype=float)
                idx20 = int(np.searchsorted(steps[: v.size], cut, side="right")) - 1
                rows.setdefault((s, q), []).append(
                    (v[0], v.min(), v[max(idx20, 0)], v[-1], st[0], st.max() / st[0]))
    if not rows:
        return []
    lines = ["## SQNR of the quantizers over training", "",
             "SQNR = 10·log10(Var(x)/E[(x − Q(x))²]) in dB, recorded every 10 steps; mean over "
             "seeds. 'at 20 %' is the last record in the first 20 % of the steps (the warm-up "
             "covers the first 5 of 30 epochs = 17 %). 'std jump' = max/initial std of the "
             "quantizer input.", ""]
    body = []
    for (s, q), vals in rows.items():
        m = np.mean(vals, axis=0)
        body.append([s, q, len(vals), f"{m[0]:.2f}", f"{m[1]:.2f}", f"{m[2]:.2f}", f"{m[3]:.2f}", f"{m[5]:.2f}×"])
    return lines + table(["setting", "quantizer", "n", "first", "min", "at 20 %", "final", "input std jump"], body).splitlines() + [""]


def gradient_table(groups, diags) -> list[str]:
    rows, picks = {}, None
    for s, rs in groups.items():
        for r in rs:
            h = diags.get(r["run_id"], {}).get("GradientMagnitude")
            if not h or not h.get("mean_abs_grad"):
                continue
            curve = np.mean([v for v in h["mean_abs_grad"].values()], axis=0)
            picks = picks or epoch_picks(len(curve))
            rows.setdefault(s, []).append(curve)
    if not rows:
        return []
    lines = ["## Mean gradient magnitude of the latent weights", "",
             "Mean |∂L/∂w| per step, averaged over each epoch and over the quantized layers; "
             "mean over seeds. 'last/first' is the ratio of the final to the first epoch.", ""]
    body = []
    for s, curves in rows.items():
        m = np.mean(curves, axis=0)
        body.append([s, len(curves)] + [f"{m[e - 1]:.3g}" for e in picks] + [f"{m[-1] / m[0]:.3f}"])
    return lines + table(["setting", "n"] + [f"epoch {e}" for e in picks] + ["last/first"], body).splitlines() + [""]


def analyze(study, out=None, results="out/reports") -> Path:
    """Append the extra tables to the study's report; return the report's path."""
    out = Path(default_out(study) if out is None else out)
    md = Path(results) / f"{report_stem(study.name, study.mode)}.md"
    if not md.exists():
        raise FileNotFoundError(f"{md} does not exist: run `tinyquant report` first")
    records, _ = select_records(read_records(out / "records.jsonl"), study)
    if not records:
        raise ValueError(f"no records of {study.name} ({study.mode} mode) in {out}")
    groups = _by_setting(records, study.settings)
    diags = load_diagnostics(records, out)
    lines = [MARKER, "", "# Extra tables (studies/analyze.py)", ""]
    lines += peak_and_error(groups, study.metric)
    lines += learning_curve(groups, study.metric)
    lines += stability(groups)
    lines += _layer_table(groups, diags, "ChangedLevels", "since_init",
                          "Changed weights per layer (% of levels differing from initialization)",
                          "Seed 002's Figs. 4–5 quantity: % of a layer's weights whose quantization "
                          "level (the sign for binary weights, round(w/Δ) for R and SR) differs "
                          "from its level at initialization; mean over seeds.", fmt=".2f")
    lines += _layer_table(groups, diags, "LatentDistance", "distance",
                          "Mean |w_b − w_r| per layer",
                          "Seed 002's Fig. 7 quantity: (1/d)·Σ|Q(w_r) − w_r| of each quantized "
                          "layer at the end of the epoch; mean over seeds.")
    lines += sqnr_table(groups, diags)
    lines += gradient_table(groups, diags)
    text = md.read_text().split(MARKER)[0].rstrip() + "\n\n" + "\n".join(lines)
    md.write_text(text)
    return md


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--records", default=None, help="the sweep's folder (default out/studies/NAME)")
    parser.add_argument("--out", default="out/reports", help="the report's folder (default out/reports)")
    args = parser.parse_args(argv)
    path = analyze(load_study(args.study, fast=args.fast), args.records, args.out)
    print(f"extra tables appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
