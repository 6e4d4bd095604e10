"""No import cycles among tinyquant's and toy_problems' modules (the autograd core aside)."""

import importlib.util
from pathlib import Path

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


def test_no_import_cycle_among_tinyquant_modules_outside_the_autograd_core():
    cycles = [c for c in load_tool().cycles() if any(m.startswith("tinyquant") for m in c)]
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_toy_parts_do_not_import_their_hub():
    tool = load_tool()
    graph = tool.edges(tool.modules())
    for part in ("toy_1d", "markov", "convex", "big_batch", "ledger_sr_vs_bc"):
        assert "toy_problems.sr_vs_bc" not in graph[f"toy_problems.{part}"], part


def test_quantizer_theory_formulas_and_rows_do_not_import_the_commands():
    tool = load_tool()
    graph = tool.edges(tool.modules())
    commands = {"toy_problems.step_size", "toy_problems.truncated_gaussian", "toy_problems.ledger_quantizer_theory"}
    for part in ("step_size_formulas", "truncated_gaussian_formulas", "lloyd_max", "ternary_threshold",
                 "weight_gaussianity", "ledger_quantizer_theory_rows"):
        assert not graph[f"toy_problems.{part}"] & commands, part


def test_no_import_cycle_at_all_outside_the_autograd_core():
    cycles = load_tool().cycles()
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_nothing_imports_the_cli():
    tool = load_tool()
    graph = tool.edges(tool.modules())
    importers = sorted(m for m, targets in graph.items() if "tinyquant.cli" in targets
                       and m != "tinyquant.__main__")
    assert importers == []
