"""``python -m tinyquant.sweep sweep|report ...``: the subcommands without the main CLI.

A bad argument or value prints one line and exits with status 2, as ``tinyquant`` does
(:mod:`tinyquant.cli_errors`)."""

import sys

from ..cli_errors import Parser, run_reporting_user_errors
from .cli import add_report_arguments, add_sweep_arguments, run_report_command, run_sweep_command


def main(argv=None) -> int:
    parser = Parser(prog="python -m tinyquant.sweep")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sweep_arguments(sub.add_parser("sweep", help="run a study's grid"))
    add_report_arguments(sub.add_parser("report", help="tables and figure from the records"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    command = run_sweep_command if args.command == "sweep" else run_report_command
    return run_reporting_user_errors(f"tinyquant {args.command}", command, args)


if __name__ == "__main__":
    raise SystemExit(main())
