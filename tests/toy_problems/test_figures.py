"""Every figure the toys write has labelled axes: each toy's figure-making functions, run on its
fast-mode results (what ``tinyquant toy NAME --fast --out DIR`` calls), with ``Figure.savefig``
wrapped so that every figure is inspected when it is saved."""

import importlib

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from tinyquant.cli import TOYS  # noqa: E402  (the table of toys only; the CLI is not run)


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches or ax.containers)


def _label(ax, axis) -> str:
    return getattr(ax, f"get_{axis}label")().strip()


def _sharing(ax, axis, fig) -> list:
    """The other Axes of ``fig`` that share ``axis`` with ``ax`` (sharex/sharey): one scale, so a
    label on the outer panel names them all (matplotlib's ``label_outer``)."""
    group = getattr(ax, f"get_shared_{axis}_axes")()
    return [other for other in fig.axes if other is not ax and group.joined(ax, other)]


def unlabelled_axes(fig) -> list[str]:
    """The visible Axes with data that lack an x or y label, their own or that of an Axes they
    share the axis with (a colorbar needs its one label); panels without data (legend-only or text
    panels, or ``axis("off")``) are exempt."""
    missing = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        name = f"axes {i} ({ax.get_title() or 'untitled'!r})"
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None:   # a colorbar's one axis carries the label of the colour scale
            long_axis = ax.yaxis if colorbar.orientation == "vertical" else ax.xaxis
            if not long_axis.get_label_text().strip():
                missing.append(f"{name}: colorbar without a label")
            continue
        if not _has_data(ax):
            continue
        for axis in ("x", "y"):
            if not _label(ax, axis) and not any(_label(other, axis) for other in _sharing(ax, axis, fig)):
                missing.append(f"{name}: no {axis}label")
    return missing


@pytest.fixture
def saved_figures(monkeypatch):
    """Figures passed to ``savefig`` (inspected, then not rendered: the labels are the subject)."""
    figures = []

    def savefig(self, fname, *args, **kwargs):
        figures.append((str(fname), self))

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


#: toy name -> how its figures are made from fast mode; every toy with figures is here
FIGURE_MAKERS = {
    "sr-vs-bc": lambda m, out: m.write_figures(m.run_experiments(fast=True, seed=0), out),
    "truncated-gaussian": lambda m, out: m.write_figures(m.run_experiments(fast=True, seed=0), out),
    "step-sizes": lambda m, out: m.write_figures(m.run_experiments(fast=True, seed=0), out),
    "ste": lambda m, out: [m.draw_all_stes(out / "ste_zoo.png"), m.draw_blended(out / "fig3_blended_stes.png")],
}
#: toys that write no figure (their commands print and write Markdown only)
WITHOUT_FIGURES = {"ledger-sr-vs-bc", "ledger-quantizer-theory"}


def test_every_toy_is_checked_for_figures():
    assert set(FIGURE_MAKERS) | WITHOUT_FIGURES == set(TOYS)


@pytest.mark.parametrize("name", sorted(FIGURE_MAKERS))
def test_every_axes_of_every_toy_figure_has_labels(name, tmp_path, saved_figures):
    module = importlib.import_module(TOYS[name][0])
    FIGURE_MAKERS[name](module, tmp_path)
    assert saved_figures, f"{name} saved no figure"
    problems = {path: unlabelled_axes(fig) for path, fig in saved_figures}
    assert not any(problems.values()), {p: m for p, m in problems.items() if m}


def test_the_check_finds_an_unlabelled_panel_and_a_colorbar_without_label():
    fig = Figure()
    good, bad = fig.subplots(1, 2)
    good.plot([0, 1], [0, 1])
    good.set_xlabel("x (units)")
    good.set_ylabel("y (units)")
    image = bad.imshow([[0, 1], [1, 0]])
    bad.set_xlabel("column")
    fig.colorbar(image, ax=bad)
    assert unlabelled_axes(fig) == ["axes 1 ('untitled'): no ylabel", "axes 2 ('untitled'): colorbar without a label"]
    fig.axes[1].set_ylabel("row")
    fig.axes[2].set_ylabel("value")
    assert unlabelled_axes(fig) == []
    inner = fig.add_subplot(2, 2, 4, sharey=good)    # shares y with a labelled panel: x is its own
    inner.plot([0, 1], [1, 0])
    assert unlabelled_axes(fig) == ["axes 3 ('untitled'): no xlabel"]
