"""The ``tinyquant sweep`` and ``tinyquant report`` subcommands.

    tinyquant sweep STUDY.toml [--fast] [--workers N | --scheduler ADDRESS] [--out DIR]
    tinyquant report STUDY.toml [--fast] [--out DIR] [--results DIR]
    tinyquant report --records PATH [--results DIR] [--metric M] [--baseline NAME]

``sweep`` writes ``<out>/records.jsonl`` (default ``out/studies/<name>``) and skips the runs
already recorded there. ``report`` writes ``<name>.md`` and ``<name>.csv`` (``<name>.fast.*``
in fast mode) to ``--results`` (default ``studies/results/``) and the figure
``<name>.png`` next to the records. Both exit with status 2 and a one-line message on a
malformed study file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .report import write_report
from .runner import SweepLockedError, default_out, run_sweep
from .study import StudyError, load_study


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_sweep_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("study", help="the study file (TOML)")
    parser.add_argument("--fast", action="store_true",
                        help="fast mode: apply the study's [fast] table (what CI runs)")
    parser.add_argument("--workers", type=_positive_int, default=2,
                        help="local worker processes (default 2)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster at ADDRESS (needs the [dask] extra)")
    parser.add_argument("--out", default=None,
                        help="records and run folders (default out/studies/<name>)")
    return parser


def run_sweep_command(args) -> int:
    try:
        study = load_study(args.study, fast=args.fast)
        result = run_sweep(study, args.out, workers=args.workers, scheduler=args.scheduler)
    except (StudyError, ImportError, SweepLockedError, ValueError) as error:
        print(f"tinyquant sweep: error: {error}", file=sys.stderr)
        return 2
    print(f"records in {result.records_path}; "
          f"report with: tinyquant report {args.study}{' --fast' if args.fast else ''}"
          f"{f' --out {args.out}' if args.out else ''}")
    return 1 if result.failed else 0


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("study", nargs="?", default=None,
                        help="the study file (TOML); or give --records")
    parser.add_argument("--records", default=None,
                        help="a records.jsonl to report on (default <out>/records.jsonl)")
    parser.add_argument("--fast", action="store_true", help="report the fast-mode runs")
    parser.add_argument("--out", default=None,
                        help="the sweep's folder (default out/studies/<name>); the figure "
                             "goes next to the records")
    parser.add_argument("--results", default="studies/results",
                        help="folder for the Markdown and CSV tables (default studies/results/)")
    parser.add_argument("--metric", default=None, help="override the study's metric")
    parser.add_argument("--baseline", default=None, help="override the study's baseline")
    return parser


def run_report_command(args) -> int:
    if args.study is None and args.records is None:
        print("tinyquant report: error: give a study file or --records PATH", file=sys.stderr)
        return 2
    try:
        study = None if args.study is None else load_study(args.study, fast=args.fast)
        if args.records is not None:
            records = Path(args.records)
        else:
            records = Path(args.out or default_out(study)) / "records.jsonl"
        written = write_report(records, args.results, study=study, metric=args.metric,
                               baseline=args.baseline)
    except (StudyError, ValueError) as error:
        print(f"tinyquant report: error: {error}", file=sys.stderr)
        return 2
    print(written["text"])
    print(f"wrote {written['md']}, {written['csv']} and {written['png']}")
    return 0
