"""The ``tinyquant sweep`` and ``tinyquant report`` subcommands.

    tinyquant sweep STUDY.toml [--fast] [--workers N | --scheduler ADDRESS] [--out DIR]
    tinyquant report STUDY.toml [--fast] [--records DIR] [--out DIR]
    tinyquant report --records DIR [--out DIR] [--metric M] [--baseline NAME]

``sweep`` writes ``<out>/records.jsonl`` (default ``out/studies/<name>``) and skips the runs
already recorded there, with a progress bar over the runs. ``report`` reads the records from
``--records`` (a sweep's folder or its ``records.jsonl``; default ``out/studies/<name>``) and
writes ``<name>.md``, ``<name>.csv`` and the figure ``<name>.png`` (``<name>.fast.*`` in fast
mode) to ``--out`` (default ``out/reports``): nothing tracked is overwritten unless asked
(``--out studies/results`` regenerates the committed reports). Both exit with status 2 and
a one-line message on a malformed study file.
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
                        help="records and run folders (default: out/studies/<name>)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar over the runs (default: off)")
    return parser


def run_sweep_command(args) -> int:
    try:
        study = load_study(args.study, fast=args.fast)
        result = run_sweep(study, args.out, workers=args.workers, scheduler=args.scheduler,
                           progress=not args.no_progress)
    except (StudyError, ImportError, SweepLockedError, ValueError) as error:
        print(f"tinyquant sweep: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    print(f"records in {result.records_path}; "
          f"report with: tinyquant report {args.study}{' --fast' if args.fast else ''}"
          f"{f' --records {args.out}' if args.out else ''}")
    return 1 if result.failed else 0


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("study", nargs="?", default=None,
                        help="the study file (TOML); or give --records")
    parser.add_argument("--records", default=None, metavar="DIR",
                        help="the sweep's folder or its records.jsonl (default: "
                             "out/studies/<name>)")
    parser.add_argument("--fast", action="store_true",
                        help="report the fast-mode runs (default: off)")
    parser.add_argument("--out", default="out/reports", metavar="DIR",
                        help="folder for the Markdown and CSV tables and the figure "
                             "(default: out/reports)")
    parser.add_argument("--metric", default=None,
                        help="override the study's metric (default: the study's)")
    parser.add_argument("--baseline", default=None,
                        help="override the study's baseline (default: the study's)")
    return parser


def records_path(records, study) -> Path:
    """``--records`` as a file: a folder means its ``records.jsonl``; none, the study's default."""
    path = Path(records) if records is not None else default_out(study)
    return path / "records.jsonl" if path.is_dir() or path.suffix != ".jsonl" else path


def run_report_command(args) -> int:
    if args.study is None and args.records is None:
        print("tinyquant report: error: give a study file or --records DIR", file=sys.stderr)
        return 2
    try:
        study = None if args.study is None else load_study(args.study, fast=args.fast)
        records = records_path(args.records, study)
        written = write_report(records, args.out, args.out, study=study, metric=args.metric,
                               baseline=args.baseline)
    except (StudyError, ValueError) as error:
        print(f"tinyquant report: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    print(written["text"])
    print(f"wrote {written['md']}, {written['csv']} and {written['png']}")
    return 0
