"""The command line's convention for a user's error: one line on stderr, exit status 2.

A bad argument (argparse) or a bad value found later (an unreadable study file, a folder that is
a file, an option that acts on nothing) prints ``PROG: error: MESSAGE`` on one line, without the
usage block or a traceback, and the command exits with status 2; anything else is a bug and keeps
its traceback. ``tinyquant`` (:mod:`tinyquant.cli`) and ``python -m tinyquant.sweep`` both use it.
"""

from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2; its subparsers
    (``add_subparsers``) are of the same class."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def user_errors() -> tuple:
    """The exceptions that are the user's (a one-line message, status 2); anything else is a bug."""
    from .config import ConfigError
    from .sweep.study import StudyError
    from .train import CheckpointError, NonFiniteLossError

    return (ConfigError, CheckpointError, StudyError, NonFiniteLossError, FileNotFoundError,
            NotADirectoryError, IsADirectoryError, PermissionError)


def run_reporting_user_errors(prog: str, command, *args) -> int:
    """``command(*args)``, with a user's error printed as ``PROG: error: MESSAGE`` and status 2."""
    try:
        return command(*args)
    except user_errors() as error:
        print(f"{prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


__all__ = ["Parser", "run_reporting_user_errors", "user_errors"]
