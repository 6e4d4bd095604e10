"""The arguments every sandbox command takes: ``--fast``, ``--out``, ``--seed``, ``--report``.

``tinyquant toy NAME`` and ``python -m toy_problems.NAME`` parse the same four: small sizes for
tests and CI, the folder for figures, the random seed, and where else to write the Markdown report.
"""

from __future__ import annotations

import argparse


def toy_parser(prog: str, description: str, out: str, *, out_help: str | None = None,
               report_help: str = "also write the Markdown report to this file") -> argparse.ArgumentParser:
    """An ArgumentParser with the four shared arguments; ``out`` is ``--out``'s default."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--fast", action="store_true", help="small sizes (seconds), for tests and CI")
    p.add_argument("--out", default=out, help=out_help or f"output directory (default {out})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--report", default=None, help=report_help)
    return p
