"""No import cycles among tinyquant's and toy_problems' modules (the autograd core aside)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path):
    tool = load_tool()
    for package in tool.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "tinyquant" / "a.py").write_text("def f():\n    from .b import g\n")
    (tmp_path / "tinyquant" / "b.py").write_text("import importlib\nimportlib.import_module('tinyquant.a')\n")
    (tmp_path / "tinyquant" / "c.py").write_text("from . import a\n")
    assert tool.cycles(tmp_path) == [["tinyquant.a", "tinyquant.b"]]


#: the one cycle left, among the quantizer-theory sandbox's computations (step_size runs
#: lloyd_max and ternary_threshold, which call its optimal_step_size; truncated_gaussian and
#: weight_gaussianity call each other): breaking it moves formulas, the sandbox's work
KNOWN_TOY_CYCLE = ["toy_problems.ledger_quantizer_theory", "toy_problems.lloyd_max",
                   "toy_problems.step_size", "toy_problems.ternary_threshold",
                   "toy_problems.truncated_gaussian", "toy_problems.weight_gaussianity"]


def test_no_import_cycle_among_tinyquant_modules_outside_the_autograd_core():
    cycles = [c for c in load_tool().cycles() if any(m.startswith("tinyquant") for m in c)]
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_toy_parts_do_not_import_their_hub():
    tool = load_tool()
    graph = tool.edges(tool.modules())
    for part in ("toy_1d", "markov", "convex", "big_batch", "ledger_sr_vs_bc"):
        assert "toy_problems.sr_vs_bc" not in graph[f"toy_problems.{part}"], part


def test_the_only_toy_cycle_left_is_the_known_one():
    cycles = [c for c in load_tool().cycles() if not any(m.startswith("tinyquant") for m in c)]
    assert cycles in ([], [KNOWN_TOY_CYCLE]), cycles


@pytest.mark.xfail(strict=True, reason="the quantizer-theory sandbox's cycle (KNOWN_TOY_CYCLE); "
                                       "when it is broken this passes: drop the marker")
def test_no_import_cycle_at_all_outside_the_autograd_core():
    cycles = load_tool().cycles()
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_nothing_imports_the_cli():
    tool = load_tool()
    graph = tool.edges(tool.modules())
    importers = sorted(m for m, targets in graph.items() if "tinyquant.cli" in targets
                       and m != "tinyquant.__main__")
    assert importers == []
