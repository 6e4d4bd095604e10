"""The tinyquant command (also python -m tinyquant).

    tinyquant train [options]        train a model (default: small CNN on the embedded digits)
    tinyquant toy [NAME] [options]   theory sandbox: print tables, write figures (no NAME: list)
    tinyquant list                   the quantizers and straight-through estimators
    tinyquant sweep STUDY.toml [--fast] [--workers N | --scheduler ADDRESS]
                                     run a study's grid of training runs (resumable)
    tinyquant report STUDY.toml [--fast] [--records DIR] [--out DIR]
                                     the study's table (Markdown, CSV), tests and figure
    tinyquant course student --out DIR
                                     the student edition of the coursework notebooks

tinyquant train with no arguments trains digits_cnn on the 8x8 digits that scikit-learn
ships, writes checkpoint.npz, config.json and history.json to --out and prints the test
accuracy. The train options are the fields of tinyquant.config.TrainConfig: the parser is
generated from them. A user error (a bad value, options that act on nothing together, a
folder that holds a run) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys

from . import __version__
from .config import ConfigError, TrainConfig

#: sandbox name -> (module, command function, one-line description); every command takes
#: --fast, --out DIR, --report FILE and --seed N
TOYS = {
    "sr-vs-bc": ("toy_problems.sr_vs_bc", "main",
                 "stochastic rounding vs BinaryConnect (seed 002): toy problem, Markov chain, "
                 "convex floors, big batches, claims ledger"),
    "truncated-gaussian": ("toy_problems.truncated_gaussian", "main",
                           "the truncated-Gaussian ternary scale of seed 001: stable S and dS/d(delta), "
                           "Gaussianity of trained weights"),
    "step-sizes": ("toy_problems.step_size", "main",
                   "optimal uniform step sizes and SQNR (seed 003, Table 1), Lloyd-Max, ternary "
                   "thresholds"),
    "ste": ("toy_problems.ste_analysis", "main",
            "straight-through estimators: gradient geometry, Lemma 2 and their cost"),
    "ledger-sr-vs-bc": ("toy_problems.sr_vs_bc_commands", "ledger_main",
                        "the claims ledger of seed 002 (every part of sr-vs-bc is computed)"),
    "ledger-quantizer-theory": ("toy_problems.ledger_quantizer_theory", "main",
                                "the claims ledger of seeds 001 and 003 and its Markdown report"),
}


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=34)


# -------------------------------------------------------------- train: generated parser

def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """One argument per :class:`TrainConfig` field, with its help, default and choices."""
    groups = {"train": parser.add_argument_group("training"),
              "quant": parser.add_argument_group("quantization (tinyquant.quant)")}
    quant_names = set(TrainConfig.option_fields()) - {f for f in TrainConfig.__dataclass_fields__}
    for name, f in TrainConfig.option_fields().items():
        meta = f.metadata
        group = groups["quant" if name in quant_names else "train"]
        flag, default = "--" + name.replace("_", "-"), f.default
        if meta["type"] is bool:
            action = argparse.BooleanOptionalAction if meta["flag"] == "optional" else "store_true"
            group.add_argument(flag, action=action, default=default,
                               help=f"{meta['help']} (default: {'on' if default else 'off'})")
            continue
        choices = meta["choices"]
        choices = choices() if callable(choices) else choices
        kind = {int: int, float: float, str: str}[meta["type"]]
        shown = "not set" if default is None else default
        group.add_argument(flag, type=kind, default=default, choices=choices,
                           metavar=meta["metavar"] or (None if choices else name.upper()),
                           help=f"{meta['help']} (default: {shown})".replace("%", "%%"))
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The validated configuration of parsed ``tinyquant train`` arguments."""
    names = TrainConfig.option_fields()
    return TrainConfig.from_dict({k: v for k, v in vars(args).items() if k in names})


# -------------------------------------------------------------- toy and list

def add_toy_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("name", nargs="?", choices=sorted(TOYS), metavar="NAME",
                        help="the sandbox to run (none: list them): " + ", ".join(sorted(TOYS)))
    parser.add_argument("--fast", action="store_true", help="small sizes (seconds), for tests and CI")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for the figures and tables (default: out/<name>)")
    parser.add_argument("--report", default=None, metavar="FILE",
                        help="also write the Markdown report to FILE (default: none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def run_toy(args) -> int:
    if args.name is None:
        width = max(map(len, TOYS))
        print("sandboxes (tinyquant toy NAME [--fast] [--out DIR] [--report FILE]):")
        for name, (_, _, description) in sorted(TOYS.items()):
            print(f"  {name:<{width}}  {description}")
        return 0
    module, function, _ = TOYS[args.name]
    argv = (["--fast"] if args.fast else []) + ["--seed", str(args.seed)]
    argv += ["--out", args.out or f"out/{args.name.replace('-', '_')}"]
    if args.report:
        argv += ["--report", args.report]
    return int(getattr(importlib.import_module(module), function)(argv) or 0)


def plain(text: str) -> str:
    """reStructuredText roles and literals as plain text, on one line:
    ``:class:`X``` -> X, double-backquoted literals -> their content."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return " ".join(re.sub(r"`{1,2}([^`]+)`{1,2}", r"\1", text).split())


def run_list() -> int:
    from .quant.registry import QUANTIZERS
    from .quant.ste import list_stes

    print("quantizers (tinyquant train --quantizer NAME; *_activation with --act-bits B):")
    width = max(map(len, QUANTIZERS))
    for name, cls in QUANTIZERS.items():
        facts = getattr(cls, "facts", None)
        line = re.split(r"(?<=\.)\s", plain((inspect.getdoc(cls) or "").split("\n\n")[0]))[0]
        reference = getattr(facts, "reference", None)
        if reference:
            line += f" [{plain(str(reference[0] if isinstance(reference, tuple) else reference))}]"
        print(f"  {name:<{width}}  {line}")
    print("\nstraight-through estimators (--ste NAME): soft forward F and F'")
    rows = list_stes()
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        print(f"  {row['name']:<{width}}  {plain(row['formula'])}")
    return 0


# -------------------------------------------------------------- main

#: errors that are the user's (a one-line message, status 2); anything else is a bug
def _user_errors():
    from .sweep.study import StudyError
    from .train import CheckpointError, NonFiniteLossError

    return (ConfigError, CheckpointError, StudyError, NonFiniteLossError, FileNotFoundError,
            NotADirectoryError, IsADirectoryError, PermissionError)


def build_parser() -> Parser:
    from .sweep.cli import add_report_arguments, add_sweep_arguments

    parser = Parser(prog="tinyquant", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"tinyquant {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_train_arguments(sub.add_parser("train", help="train a model", formatter_class=_Formatter,
                                       description="Train a model; every option is a field of "
                                                   "tinyquant.config.TrainConfig."))
    add_toy_arguments(sub.add_parser("toy", help="theory sandbox: print tables, write figures",
                                     formatter_class=_Formatter))
    sub.add_parser("list", help="the quantizers and STEs with formula and reference")
    add_sweep_arguments(sub.add_parser("sweep", help="run a study's grid of training runs "
                                                     "(resumable)", formatter_class=_Formatter))
    add_report_arguments(sub.add_parser("report", help="a study's tables, significance tests "
                                                       "and figure", formatter_class=_Formatter))
    from .course import add_course_arguments   # coursework (tinyquant/course.py)

    add_course_arguments(sub.add_parser("course", help="coursework: write the student edition "
                                                       "of the notebooks", formatter_class=_Formatter))
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except _user_errors() as error:
        message = " ".join(str(error).split())
        print(f"tinyquant {args.command}: error: {message}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if args.command == "train":
        from .run import train

        train(config_from_args(args))
        return 0
    if args.command == "toy":
        return run_toy(args)
    if args.command == "list":
        return run_list()
    if args.command == "course":
        from .course import run_course_command

        return run_course_command(args)
    from .sweep.cli import run_report_command, run_sweep_command

    return run_sweep_command(args) if args.command == "sweep" else run_report_command(args)


__all__ = ["TOYS", "add_train_arguments", "build_parser", "config_from_args", "main"]


if __name__ == "__main__":   # python -m tinyquant.cli (python -m tinyquant is the same)
    raise SystemExit(main())
