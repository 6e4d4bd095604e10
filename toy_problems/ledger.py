"""A claims ledger: one row per statement of a paper, with what was computed and a verdict.

Shared by the sandboxes' ledgers (``ledger_sr_vs_bc``, ``ledger_quantizer_theory``). A verdict
is one of three strings: the claim holds, holds only under a stated condition, or does not
hold as printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Row", "HOLDS", "CONDITIONAL", "FAILS", "write_report"]

HOLDS = "holds"
CONDITIONAL = "holds only under a condition"
FAILS = "does not hold as printed"


@dataclass
class Row:
    """One claim: its short name, where the paper states it, what was computed, the measured
    numbers as text and as a dict (for tests), the verdict, and for a conditional verdict the
    condition under which the claim holds (printed beside the verdict)."""

    claim: str
    where: str
    computed: str
    measured: str
    verdict: str
    numbers: dict
    condition: str = ""

    def verdict_text(self) -> str:
        """The verdict in bold, followed by its condition when there is one."""
        return f"**{self.verdict}**" + (f": {self.condition}" if self.condition else "")


def write_report(path, text: str) -> str:
    """Write a sandbox's Markdown ``text`` to ``path`` (folders created); return the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return str(path)
