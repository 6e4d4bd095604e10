"""Docstrings as tinyquant writes them (plain text with Unicode math, e.g. ``|w|``, ``W*x``,
indented tables and commands), turned into reStructuredText that renders as written.

Hooked into autodoc (``autodoc-process-docstring``) by conf.py:
* ``|``, ``*`` and a word's trailing ``_`` are escaped outside ``literals`` and roles, so
  ``|w|`` is not a substitution and ``W*x`` no emphasis; ``**bold**``, ``*emphasis*`` of words
  and roles are kept;
* an indented block after a paragraph (a table, a command, an aligned formula) becomes a literal
  block, shown as typed.
"""

from __future__ import annotations

import re

# spans left alone: ``literal``, :role:`target`, `interpreted`, **bold**, *emphasis*, a reST link `text <url>`_
_KEEP = re.compile(r"(``.+?``|:[\w:.-]+:`[^`]+`|`[^`]+`_{0,2}|\*\*[^*\s][^*]*\*\*"
                   r"|(?<![\w*])\*[A-Za-z][^*\n]*?[A-Za-z]\*(?![\w*]))")


def _escape(text: str) -> str:
    parts = _KEEP.split(text)
    for i in range(0, len(parts), 2):             # the even parts are outside the kept spans
        s = parts[i].replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
        parts[i] = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", s)
    return "".join(parts)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _unexpected_literal_markers(lines: list[str]) -> list[str]:
    """A line ending in ``::`` with no indented block after it ends in ``:`` (plain-text intent)."""
    lines = list(lines)
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::"):
            following = next((x for x in lines[i + 1:] if x.strip()), "")
            if _indent(following) <= _indent(line):
                lines[i] = line.rstrip()[:-1]
    return lines


def to_rst(lines: list[str]) -> list[str]:
    lines = _unexpected_literal_markers(lines)
    out: list[str] = []
    literal_indent = None      # inside a literal block: its smallest indent
    bullet = False             # inside a "* item" / "- item" whose continuation lines are indented by 2
    prev = ""
    for line in lines:
        text = line.strip()
        if literal_indent is not None:
            if not text or _indent(line) >= literal_indent:
                out.append(line)
                prev = line
                continue
            literal_indent = None
            if out and out[-1].strip():
                out.append("")
        if not text:
            bullet = False if _indent(prev) == 0 and not prev.strip() else bullet
            out.append(line)
            prev = line
            continue
        indent = _indent(line)
        if re.match(r"[*-] ", line):
            bullet = True
            out.append(line[:2] + _escape(line[2:]))
        elif bullet and indent >= 2:
            out.append("  " + _escape(line.strip()))     # a deeper continuation joins the item's text
        elif indent > 0:
            last = next((x for x in reversed(out) if x.strip()), "")
            if prev.strip() and indent <= _indent(prev):
                out.append(line)                       # same level as the line before: keep going
            else:
                if out and out[-1].strip():
                    out.append("")
                if not last.rstrip().endswith("::"):
                    out += ["::", ""]
                literal_indent = indent
                out.append(line)
            bullet = False
        else:
            bullet = False
            out.append(line if text.endswith("::") else _escape(line))
        prev = line
    return out


def process_docstring(app, what, name, obj, options, lines):
    lines[:] = to_rst(list(lines))
