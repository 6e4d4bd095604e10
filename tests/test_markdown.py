"""The one Markdown table helper, and every committed Markdown table has consistent columns."""

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyquant.markdown import cell, number, table

ROOT = Path(__file__).resolve().parents[1]


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table row, split on unescaped | (GitHub's rule)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return re.split(r"(?<!\\)\|", body)


def test_pipes_inside_cells_are_escaped_and_keep_the_column_count():
    md = table(["law", "E|w|"], [["Laplace", "E|w| = 0.707"], ["a | b", 3]])
    lines = md.splitlines()
    assert lines[0] == "| law | E\\|w\\| |"
    assert all(len(_cells(line)) == 2 for line in lines)


def test_already_escaped_pipes_are_not_escaped_twice():
    assert cell("E\\|w\\|") == "E\\|w\\|"


@given(st.lists(st.text(alphabet="ab|\\\n x", max_size=8), min_size=1, max_size=5))
def test_any_cell_text_keeps_one_row_of_the_right_width(texts):
    md = table([f"c{i}" for i in range(len(texts))], [texts])
    lines = md.splitlines()
    assert len(lines) == 3 and len(_cells(lines[2])) == len(texts)


def test_numbers_are_formatted_alike():
    assert [number(x) for x in (12345, 0.123456, 1.23456e-7, float("nan"), float("inf"), -float("inf"), None, True)] == \
        ["12,345", "0.1235", "1.235e-07", "nan", "inf", "-inf", "—", "yes"]
    assert number(2.0) == "2" and number(0.5, digits=2) == "0.5"


def test_bad_rows_and_alignment_are_refused():
    with pytest.raises(ValueError, match="row 0 has 1 cells but the header has 2"):
        table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align"):
        table(["a", "b"], [], align="lx")
    with pytest.raises(TypeError, match="number"):
        number("3")


def _committed_markdown() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.split()]


def _tables(text: str):
    """(line number, rows) of every table: a header row followed by a |---| rule."""
    lines = text.splitlines()
    in_code = False
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and lines[i].lstrip().startswith("|") and re.fullmatch(r"\s*\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*\|?\s*", lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            yield i + 1, lines[i:j]
            i = j
        else:
            i += 1


def test_every_committed_markdown_table_has_a_consistent_column_count():
    broken = []
    n_tables = 0
    for path in _committed_markdown():
        for lineno, rows in _tables(path.read_text(encoding="utf-8")):
            n_tables += 1
            width = len(_cells(rows[0]))
            bad = [k for k, r in enumerate(rows) if len(_cells(r)) != width]
            if bad:
                broken.append(f"{path.relative_to(ROOT)}:{lineno + bad[0]} ({len(_cells(rows[bad[0]]))} cells, header {width})")
    assert n_tables > 20
    assert not broken, "tables with rows of the wrong width:\n" + "\n".join(broken)
