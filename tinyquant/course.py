"""The coursework's exercise convention and its student edition (``tinyquant course student``).

The notebooks in ``notebooks/`` are the *solution edition*: every exercise ships a working
reference solution, so the notebooks run top to bottom and their checks pass. The student
edition is generated from them, never kept by hand. The convention (``notebooks/README.md``):

* an exercise is announced by a Markdown heading that says ``Exercise N.M`` (N the notebook's
  number, M the exercise's number in it), e.g. ``### Exercise 3.2 — the running update``;
* its reference solution sits in the code cells after it, between nbgrader's markers
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``, always *inside a function body* (so that
  defining the function works in the student edition, and only calling it fails);
* its check is a code cell whose first line is ``# Check exercise N.M``; it calls the
  solution and asserts something that fails when the solution is wrong.

The student edition replaces each marked region by ``# YOUR CODE HERE`` and
``raise NotImplementedError("exercise N.M unfinished: ...")``, and keeps everything else
(explanations, figures, checks). Run as a student edition, a notebook's only failing cells are
its check cells, each failing with the message naming its unfinished exercise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
_EXERCISE = re.compile(r"^#+ .*?\bExercise (\d+)\.(\d+)\b", re.M)
_CHECK = re.compile(r"# Check exercise (\d+)\.(\d+)\s*$")

#: the solution edition, next to the package in a source checkout
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass
class Exercise:
    """One exercise of a notebook: where its solution regions and its check cells are."""

    id: str                                   # "3.2"
    solution_cells: list[int] = field(default_factory=list)
    check_cells: list[int] = field(default_factory=list)
    regions: int = 0                          # marked solution regions
    lines_stripped: int = 0                   # solution lines replaced by the stub

    @property
    def message(self) -> str:
        """The NotImplementedError message of the student edition's stub."""
        return f"exercise {self.id} unfinished: replace the stub with your code (YOUR CODE HERE)"


def _stub(source: str, exercise: Exercise, where: str) -> str:
    """``source`` with every marked solution region replaced by the exercise's stub."""
    out, region = [], None
    for lineno, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped == SOLUTION_BEGIN:
            if region is not None:
                raise ValueError(f"{where}, line {lineno}: {SOLUTION_BEGIN!r} inside an open solution region")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise ValueError(f"{where}, line {lineno}: a solution region must sit inside a function body "
                                 f"(indented), so that only calling the stub fails; got it at the top level")
            region = indent
            exercise.regions += 1
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError({exercise.message!r})")
        elif stripped == SOLUTION_END:
            if region is None:
                raise ValueError(f"{where}, line {lineno}: {SOLUTION_END!r} without {SOLUTION_BEGIN!r}")
            region = None
        elif region is not None:
            exercise.lines_stripped += bool(stripped)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{where}: {SOLUTION_BEGIN!r} is never closed by {SOLUTION_END!r}")
    return "\n".join(out)


def student_notebook(notebook, name: str):
    """The student edition of one notebook (an ``nbformat`` notebook) and its exercises.

    ``name`` (the file name) is used in error messages and for the notebook's number. Raises
    ValueError when the notebook breaks the convention: a solution region before any exercise,
    an exercise numbered for another notebook, an exercise without a solution or without a check.
    """
    import copy

    number = int(name[:2]) if name[:2].isdigit() else None
    student = copy.deepcopy(notebook)
    exercises: dict[str, Exercise] = {}
    current: Exercise | None = None
    for i, cell in enumerate(student.cells):
        where = f"{name}, cell {i}"
        if cell.cell_type == "markdown":
            for major, minor in _EXERCISE.findall(cell.source):
                ex_id = f"{major}.{minor}"
                if number is not None and int(major) != number:
                    raise ValueError(f"{where}: exercise {ex_id} is numbered for notebook {major}, "
                                     f"expected {number}.M")
                current = exercises.setdefault(ex_id, Exercise(ex_id))
            continue
        if cell.cell_type != "code":
            continue
        first = cell.source.lstrip("\n").split("\n", 1)[0]
        check = _CHECK.match(first)
        if check:
            ex_id = f"{check[1]}.{check[2]}"
            if ex_id not in exercises:
                raise ValueError(f"{where}: checks exercise {ex_id}, which no Markdown heading before it announces")
            exercises[ex_id].check_cells.append(i)
        if SOLUTION_BEGIN in cell.source or SOLUTION_END in cell.source:
            if current is None:
                raise ValueError(f"{where}: a solution region before any 'Exercise N.M' Markdown heading")
            cell.source = _stub(cell.source, current, where)
            current.solution_cells.append(i)
        if cell.get("outputs"):
            cell.outputs = []
        if "execution_count" in cell:
            cell.execution_count = None
    for ex in exercises.values():
        if not ex.regions:
            raise ValueError(f"{name}: exercise {ex.id} has no '{SOLUTION_BEGIN}' region")
        if not ex.check_cells:
            raise ValueError(f"{name}: exercise {ex.id} has no check cell ('# Check exercise {ex.id}')")
    student.metadata.pop("jupytext", None)   # the student copy is a plain notebook, not a pair
    return student, list(exercises.values())


def write_student_edition(out_dir, notebooks_dir=None, overwrite: bool = False) -> dict[str, list[Exercise]]:
    """Write the student edition of every notebook of ``notebooks_dir`` into ``out_dir``.

    Returns, per notebook file name, its exercises (what was stripped where). Refuses to
    replace notebooks already in ``out_dir`` unless ``overwrite`` is true.
    """
    import nbformat

    src = Path(NOTEBOOKS_DIR if notebooks_dir is None else notebooks_dir)
    paths = sorted(src.glob("[0-9]*.ipynb"))
    if not paths:
        raise ValueError(f"notebooks_dir: {str(src)!r} holds no coursework notebook (NN_*.ipynb); "
                         f"run from a source checkout or pass the notebooks folder")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir: {str(out)!r} is a file, expected a folder")
    clashes = [p.name for p in paths if (out / p.name).exists()]
    if clashes and not overwrite:
        shown = ", ".join(clashes[:3]) + (f" and {len(clashes) - 3} more" if len(clashes) > 3 else "")
        raise ValueError(f"out_dir: {str(out)!r} already holds {shown}; "
                         f"choose another folder or pass overwrite=True (--overwrite)")
    editions = {}
    for path in paths:
        student, exercises = student_notebook(nbformat.read(path, as_version=4), path.name)
        editions[path.name] = (student, exercises)
    out.mkdir(parents=True, exist_ok=True)
    for name, (student, _) in editions.items():
        nbformat.write(student, out / name)
    return {name: exercises for name, (_, exercises) in editions.items()}


def summary_table(editions: dict[str, list[Exercise]]) -> str:
    """A Markdown table of what the student edition strips per notebook."""
    lines = ["| notebook | exercises | solution regions | solution lines stripped |", "|---|---:|---:|---:|"]
    for name, exercises in editions.items():
        lines.append(f"| {name} | {len(exercises)} | {sum(e.regions for e in exercises)} | "
                     f"{sum(e.lines_stripped for e in exercises)} |")
    return "\n".join(lines)


def add_course_arguments(parser) -> None:
    """``tinyquant course student --out DIR``: the argparse part of the course command."""
    sub = parser.add_subparsers(dest="course_command", required=True)
    student = sub.add_parser("student", help="write the student edition of the notebooks (solutions stubbed)")
    student.add_argument("--out", required=True, help="folder to write the student notebooks into")
    student.add_argument("--notebooks", default=None,
                         help=f"the solution edition's folder (default: {NOTEBOOKS_DIR})")
    student.add_argument("--overwrite", action="store_true", help="replace notebooks already in --out")


def run_course_command(args) -> int:
    import sys

    try:
        editions = write_student_edition(args.out, args.notebooks, overwrite=args.overwrite)
    except (ValueError, OSError) as error:
        print(f"tinyquant course: error: {error}", file=sys.stderr)
        return 2
    print(summary_table(editions))
    print(f"wrote the student edition of {len(editions)} notebooks to {args.out}/")
    return 0
