"""Every coursework notebook is a jupytext pair in sync, and runs top to bottom (its exercise checks included)."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook execution needs the [dev] extra")
nbclient = pytest.importorskip("nbclient", reason="notebook execution needs the [dev] extra")
jupytext = pytest.importorskip("jupytext", reason="the notebook pairs need the [dev] extra")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9]*.py"))


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip("\n")) for cell in notebook.cells]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


def test_every_notebook_is_a_pair_of_text_source_and_ipynb():
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in SOURCES], (
        "each notebooks/NN_*.py needs its .ipynb and the reverse; "
        "pair a new notebook with `jupytext --set-formats ipynb,py:percent notebooks/NAME.ipynb`")


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_text_source_and_ipynb_hold_the_same_cells(path):
    text = jupytext.read(path)
    assert text.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", (
        f"{path.name} is not paired as ipynb,py:percent")
    ipynb_path = path.with_suffix(".ipynb")
    assert ipynb_path.exists(), f"{path.name} has no {ipynb_path.name}"
    ipynb = nbformat.read(ipynb_path, as_version=4)
    text_cells, ipynb_cells = _cells(text), _cells(ipynb)
    for i, (a, b) in enumerate(zip(text_cells, ipynb_cells)):
        assert a == b, (f"{path.name} and {ipynb_path.name} differ at cell {i}; the .py is the source: "
                        f"run `jupytext --sync notebooks/{path.name}`")
    assert len(text_cells) == len(ipynb_cells), (
        f"{path.name} has {len(text_cells)} cells, {ipynb_path.name} {len(ipynb_cells)}; "
        f"run `jupytext --sync notebooks/{path.name}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))]
    assert not dirty, f"{path.name} is committed with outputs in cells {dirty}; clear them"


@pytest.fixture(autouse=True)
def static_figures(monkeypatch):
    """The kernels run headless: the widget cells draw their static figure (tinyquant/interactive.py),
    with the notebook's own inline backend (not the Agg that CI sets for the rest of the tests)."""
    monkeypatch.setenv("TINYQUANT_STATIC_FIGURES", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)


# Run first in the kernel (not part of the notebook): every figure the notebook renders is checked
# for labelled axes as it is drawn. An axis passes with its own label, a label on an axis it shares
# (a grid's outer row or column), or the figure's supxlabel/supylabel; axes turned off pass.
FIGURE_LABEL_HOOK = """
import matplotlib.backend_bases as _tq_bb
_tq_unlabelled = []
def _tq_missing(fig):
    missing = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or hasattr(ax, "_colorbar"):
            continue
        for axis, label, sup in (("x", ax.get_xlabel, "_supxlabel"), ("y", ax.get_ylabel, "_supylabel")):
            shared = getattr(ax, f"get_shared_{axis}_axes")().get_siblings(ax)
            twins = ax._twinned_axes.get_siblings(ax)
            if not any(getattr(a, f"get_{axis}label")() for a in {*shared, *twins}) and getattr(fig, sup, None) is None:
                missing.append(f"{axis} of {ax.get_title() or fig.get_suptitle() or 'an untitled axes'!r}")
    return missing
_tq_print_figure = _tq_bb.FigureCanvasBase.print_figure
def _tq_checked_print_figure(self, *args, **kwargs):
    _tq_unlabelled.extend(_tq_missing(self.figure))
    return _tq_print_figure(self, *args, **kwargs)
_tq_bb.FigureCanvasBase.print_figure = _tq_checked_print_figure
"""
FIGURE_LABEL_CHECK = "assert not _tq_unlabelled, f'figures with an unlabelled axis: {_tq_unlabelled}'"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_with_labelled_figures(path):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_LABEL_HOOK))
    notebook.cells.append(nbformat.v4.new_code_cell(FIGURE_LABEL_CHECK))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and any(line.startswith("interactive_figure(")
                                            for line in cell.source.splitlines()):
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), (
                f"{path.name} cell {i}: the widget drew no static figure when run headless")


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    from tinyquant.course import write_student_edition

    out = tmp_path_factory.mktemp("student")
    return out, write_student_edition(out, NOTEBOOK_DIR)


def _errors(notebook):
    """{cell index: (exception name, message)} of the cells that raised."""
    return {i: (out.ename, out.evalue) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.output_type == "error"}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_edition_fails_only_in_its_exercise_checks(path, student_edition):
    out, editions = student_edition
    expected = {cell: ex.id for ex in editions[path.name] for cell in ex.check_cells}
    notebook = nbformat.read(out / path.name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(out)}})
    client.execute()
    errors = _errors(notebook)
    unexpected = {i: errors[i] for i in set(errors) - set(expected)}
    assert not unexpected, f"{path.name}'s student edition fails outside its exercise checks: {unexpected}"
    passing = sorted(set(expected) - set(errors))
    assert not passing, (f"{path.name}'s student edition passes the checks in cells {passing} "
                         f"(exercises {[expected[i] for i in passing]}): a check that a stub passes checks nothing")
    for i, ex_id in expected.items():
        name, message = errors[i]
        assert name == "NotImplementedError" and f"exercise {ex_id} unfinished" in message, (
            f"{path.name} cell {i} (the check of exercise {ex_id}) fails with {name}: {message}")
