"""Markdown tables: the one helper every report, study and toy prints its tables with.

``table(header, rows)`` escapes ``|`` inside cells (``E|w|`` would otherwise split a cell and
break the row) and newlines, and formats numbers alike everywhere through :func:`number`:
integers with thousands separators, floats with ``digits`` significant digits, nan/inf and
``None`` spelled out. Strings are taken as already formatted (only escaped).
"""

from __future__ import annotations

import math
import numbers

__all__ = ["number", "cell", "table"]


def number(x, digits: int = 4) -> str:
    """A number as table text: ints as ``12,345``; floats with ``digits`` significant digits
    (``0.1235``, ``1.235e-07``); ``nan``, ``inf``, ``-inf``; ``None`` as an em dash."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}"
    if isinstance(x, numbers.Real):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.{digits}g}"
    raise TypeError(f"number: expected a real number or None, got {x!r} of type {type(x).__name__}")


def cell(value, digits: int = 4) -> str:
    """One cell: numbers through :func:`number`, anything else through ``str``; ``|`` escaped,
    newlines turned into spaces."""
    text = value if isinstance(value, str) else (number(value, digits) if value is None or isinstance(value, numbers.Number) else str(value))
    return text.replace("\\|", "|").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(header, rows, *, align=None, digits: int = 4) -> str:
    """A Markdown table. ``header`` is a sequence of column names, ``rows`` a sequence of rows of
    the same length (cells as in :func:`cell`); ``align`` an optional string of ``l``/``r``/``c``,
    one per column. Raises ValueError for a row of the wrong length."""
    header = [cell(h, digits) for h in header]
    n = len(header)
    if n == 0:
        raise ValueError("table: header must have at least one column")
    if align is None:
        rule = ["---"] * n
    else:
        if len(align) != n or set(align) - set("lrc"):
            raise ValueError(f"table: align must be {n} letters from 'l', 'r', 'c', got {align!r}")
        rule = [{"l": ":---", "r": "---:", "c": ":---:"}[a] for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != n:
            raise ValueError(f"table: row {i} has {len(row)} cells but the header has {n}: {row!r}")
        lines.append("| " + " | ".join(cell(c, digits) for c in row) + " |")
    return "\n".join(lines)
