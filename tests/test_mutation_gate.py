"""The mutation gate (``tools/mutation_gate.py``): every planted slip is caught by the fast tests;
a slip whose snippet no longer matches the code is an error, never a catch; a slip the tests
miss is reported as survived and fails the gate."""

import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gate():
    spec = importlib.util.spec_from_file_location("mutation_gate", ROOT / "tools" / "mutation_gate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_gate"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("mutation_gate", None)


ISSUE_10 = {"sign-backward-ignores-the-ste", "uniq-activation-thresholds-shifted-half-a-step",
            "lsq-activation-grad-scale-n-is-the-whole-batch", "uniq-codes-off-by-one",
            "ttq-wn-from-positive-weights"}


def test_every_slip_matches_the_code_exactly_once_and_the_areas_are_covered(gate):
    for slip in gate.SLIPS:
        gate.check_slip(slip)
    names = {s.name for s in gate.SLIPS}
    assert ISSUE_10 <= names and len(names) == len(gate.SLIPS)
    assert len(names - ISSUE_10) >= 15
    assert {"ops", "convolution", "batch norm", "optimizers", "quantizers", "STEs", "rounding",
            "regimes"} <= {s.area for s in gate.SLIPS}


def test_a_slip_whose_snippet_is_gone_or_ambiguous_is_an_error_not_a_catch(gate):
    slip = gate.SLIPS[0]
    with pytest.raises(gate.GateError, match="occurs 0 times"):
        gate.check_slip(replace(slip, old="a line that is not in the file"))
    with pytest.raises(gate.GateError, match=r"occurs \d+ times"):
        gate.check_slip(replace(slip, old="import"))
    with pytest.raises(gate.GateError, match="does not exist"):
        gate.check_slip(replace(slip, file="tinyquant/no_such_module.py"))
    with pytest.raises(gate.GateError, match="occurs 0 times"):   # before running anything
        gate.run_gate((replace(slip, old="moved away"),), jobs=1, out=lambda line: None)


@pytest.mark.mutation
def test_a_slip_the_tests_miss_survives_and_fails_the_gate(gate):
    harmless = gate.Slip("a-changed-comment", "quantizers", "tinyquant/quant/binary.py",
                         "# hard sigmoid σ_h(w)", "# the hard sigmoid", "tests/quant/test_quantizers.py",
                         "sign_of_zero")
    lines = []
    assert gate.run_gate((harmless,), jobs=1, out=lines.append) == 1
    assert any("SURVIVED" in line for line in lines) and lines[-1].startswith("caught 0/1")


@pytest.mark.mutation
def test_the_fast_tests_catch_every_planted_slip(gate):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "mutation_gate.py"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    assert f"caught {len(gate.SLIPS)}/{len(gate.SLIPS)} planted slips" in report, report
