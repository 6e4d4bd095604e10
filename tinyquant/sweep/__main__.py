"""``python -m tinyquant.sweep sweep|report ...``: the subcommands without the main CLI."""

import argparse
import sys

from .cli import add_report_arguments, add_sweep_arguments, run_report_command, run_sweep_command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinyquant.sweep")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sweep_arguments(sub.add_parser("sweep", help="run a study's grid"))
    add_report_arguments(sub.add_parser("report", help="tables and figure from the records"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_sweep_command(args) if args.command == "sweep" else run_report_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
