"""Processes as Linux's /proc shows them: a process's children, and whether one still runs.

Shared by the reliability probe (``tools/probe_reliability.py``) and the fault-injection tests
(``tests/reliability``), which both kill sweeps and then check that no worker outlived them.
"""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> set[int]:
    """The direct children of ``pid``, from every thread's /proc/PID/task/TID/children."""
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
