"""The records file: one JSON line per finished run, appended by a single writer.

``append_record`` writes one line and flushes and fsyncs it, so a killed sweep loses at
most the line being written. ``read_records`` returns the complete lines; a torn last line
(no newline, or not valid JSON) is ignored with a warning, while a bad line in the middle
is real corruption and raises. ``drop_torn_tail`` cuts a torn last line off before a
resumed sweep appends, so new records never get glued to it.

A record is a dict with the keys ``run_id``, ``study``, ``mode``, ``setting``, ``seed``,
``baseline``, ``metric``, ``config``, ``history`` (the per-epoch dicts exactly as the
trainer returned them, extra metrics included), ``final`` (the last epoch's dict),
``wall_time`` (seconds), ``finished`` (UTC ISO time), ``host`` and ``pid`` (of the worker).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path


def _to_json(value):
    """NumPy scalars and arrays become plain Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"record value {value!r} of type {type(value).__name__} is not JSON")


def append_record(path, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path``, flushed and fsynced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, default=_to_json, allow_nan=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _split(path: Path) -> tuple[list[dict], bytes]:
    """The parsed complete lines and the torn tail (b"" if none).

    Every record is written as one line ending in a newline, so bytes after the last newline
    are a torn write; so is a last line that is not valid JSON (a crash can leave garbage).
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # the bytes after the last newline: b"" for a clean file
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines) and not tail:
                return records, line + b"\n"
            raise ValueError(f"{path}: line {number} is not a JSON record ({error}); "
                             f"the file is corrupt beyond a torn last line") from None
    return records, tail


def read_records(path) -> list[dict]:
    """Every complete record in ``path`` (``[]`` if it does not exist), in file order."""
    path = Path(path)
    if not path.exists():
        return []
    records, tail = _split(path)
    if tail.strip():
        warnings.warn(f"{path}: ignoring a torn last line ({len(tail)} bytes) left by an "
                      f"interrupted sweep", RuntimeWarning, stacklevel=2)
    return records


def drop_torn_tail(path) -> int:
    """Truncate a torn last line off ``path``; return how many bytes were removed."""
    path = Path(path)
    if not path.exists():
        return 0
    _, tail = _split(path)
    if not tail:
        return 0
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - len(tail))
        handle.flush()
        os.fsync(handle.fileno())
    warnings.warn(f"{path}: removed a torn last line ({len(tail)} bytes) left by an "
                  f"interrupted sweep", RuntimeWarning, stacklevel=2)
    return len(tail)
