"""The exercise convention and the student edition (tinyquant/course.py)."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the student edition needs the [dev] extra")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

from tinyquant.course import student_notebook, summary_table, write_student_edition  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

SOLUTION = '''import math


def scale(x, k=2):
    """k times x."""
    ### BEGIN SOLUTION
    y = k * x
    return y
    ### END SOLUTION


print("defined")'''

CHECK = "# Check exercise 3.2\nassert scale(3) == 6"


def _notebook(*cells):
    return new_notebook(cells=list(cells))


def _tiny():
    return _notebook(new_markdown_cell("### Exercise 3.2 — scaling\nWrite `scale`."),
                     new_code_cell(SOLUTION), new_code_cell(CHECK))


def test_student_edition_replaces_only_the_solution_region_by_a_stub():
    student, (exercise,) = student_notebook(_tiny(), "03_tiny.ipynb")
    assert student.cells[0].source == _tiny().cells[0].source
    assert student.cells[2].source == CHECK
    assert student.cells[1].source == '''import math


def scale(x, k=2):
    """k times x."""
    # YOUR CODE HERE
    raise NotImplementedError('exercise 3.2 unfinished: replace the stub with your code (YOUR CODE HERE)')


print("defined")'''
    assert (exercise.id, exercise.solution_cells, exercise.check_cells) == ("3.2", [1], [2])
    assert (exercise.regions, exercise.lines_stripped) == (1, 2)


def test_stubbed_solution_defines_and_its_check_fails_naming_the_exercise():
    student, _ = student_notebook(_tiny(), "03_tiny.ipynb")
    namespace = {}
    exec(student.cells[1].source, namespace)           # defining the stub works
    with pytest.raises(NotImplementedError, match=r"exercise 3\.2 unfinished"):
        exec(student.cells[2].source, namespace)
    exec(_tiny().cells[1].source + "\n" + CHECK, {})     # the solution passes its own check


def test_student_edition_leaves_the_solution_notebook_untouched():
    notebook = _tiny()
    student_notebook(notebook, "03_tiny.ipynb")
    assert notebook.cells[1].source == SOLUTION


BROKEN = {
    "top-level region": (SOLUTION.replace("    ### BEGIN", "### BEGIN"), "inside a function body"),
    "unclosed region": (SOLUTION.replace("    ### END SOLUTION\n", ""), "never closed"),
    "end without begin": (SOLUTION.replace("    ### BEGIN SOLUTION\n", ""), "without"),
    "nested begin": (SOLUTION.replace("    y = k * x", "    ### BEGIN SOLUTION"), "inside an open"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_solution_regions_raise_value_errors_naming_the_cell(case):
    source, expected = BROKEN[case]
    notebook = _notebook(new_markdown_cell("## Exercise 3.2"), new_code_cell(source), new_code_cell(CHECK))
    with pytest.raises(ValueError, match=expected) as info:
        student_notebook(notebook, "03_tiny.ipynb")
    assert "03_tiny.ipynb, cell 1" in str(info.value)


def test_an_exercise_needs_a_heading_a_solution_and_a_check():
    with pytest.raises(ValueError, match="before any 'Exercise N.M' Markdown heading"):
        student_notebook(_notebook(new_code_cell(SOLUTION)), "03_tiny.ipynb")
    with pytest.raises(ValueError, match=r"exercise 3\.2 has no check cell"):
        student_notebook(_notebook(new_markdown_cell("## Exercise 3.2"), new_code_cell(SOLUTION)), "03_tiny.ipynb")
    with pytest.raises(ValueError, match=r"exercise 3\.2 has no '### BEGIN SOLUTION' region"):
        student_notebook(_notebook(new_markdown_cell("## Exercise 3.2"), new_code_cell(CHECK)), "03_tiny.ipynb")
    with pytest.raises(ValueError, match=r"checks exercise 3\.2, which no Markdown heading"):
        student_notebook(_notebook(new_code_cell(CHECK)), "03_tiny.ipynb")
    with pytest.raises(ValueError, match=r"numbered for notebook 4"):
        student_notebook(_notebook(new_markdown_cell("## Exercise 4.1")), "03_tiny.ipynb")


def test_an_exercise_mentioned_in_prose_is_not_announced():
    notebook = _tiny()
    notebook.cells.insert(2, new_markdown_cell("Exercise 3.3 will reuse `scale`."))
    _, exercises = student_notebook(notebook, "03_tiny.ipynb")
    assert [e.id for e in exercises] == ["3.2"]


NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_course_notebook_follows_the_one_exercise_convention(path):
    notebook = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells).lower()
    for old in ("try it yourself first", "reference solution; replace", "--- your answer"):
        assert old not in text, f"{path.name} still uses the old exercise marker {old!r}"
    student, exercises = student_notebook(notebook, path.name)   # raises on a broken convention
    student_text = "\n".join(cell.source for cell in student.cells if cell.cell_type == "code")
    assert "### BEGIN SOLUTION" not in student_text and "### END SOLUTION" not in student_text
    assert student_text.count("raise NotImplementedError(") >= len(exercises)


def test_write_student_edition_writes_every_notebook_and_refuses_to_overwrite(tmp_path):
    editions = write_student_edition(tmp_path / "course")
    assert sorted(editions) == [p.name for p in NOTEBOOKS]
    assert sorted(p.name for p in (tmp_path / "course").iterdir()) == [p.name for p in NOTEBOOKS]
    table = summary_table(editions)
    assert table.count("\n") == len(NOTEBOOKS) + 1
    with pytest.raises(ValueError, match="already holds"):
        write_student_edition(tmp_path / "course")
    write_student_edition(tmp_path / "course", overwrite=True)
    with pytest.raises(ValueError, match="holds no coursework notebook"):
        write_student_edition(tmp_path / "other", notebooks_dir=tmp_path / "empty")


def test_course_student_command_writes_the_edition_and_exits_2_on_bad_input(tmp_path, capsys):
    from tinyquant.cli import main

    assert main(["course", "student", "--out", str(tmp_path / "course")]) == 0
    assert "wrote the student edition of" in capsys.readouterr().out
    assert main(["course", "student", "--out", str(tmp_path / "course")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinyquant course: error: out_dir:") and "\n" not in err
