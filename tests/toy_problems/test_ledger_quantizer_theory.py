"""Every row of the theory-sandbox-II ledger pinned at its measured numbers (fast mode in CI; set
TINYQUANT_FULL=1 for the full-size experiments of the committed report)."""

import os

import pytest
from ledger_helpers import assert_pinned_verdicts

from toy_problems import step_size, truncated_gaussian
from toy_problems.ledger_quantizer_theory import (
    CONDITIONAL,
    FAILS,
    HOLDS,
    build_step_size_rows,
    build_truncated_gaussian_rows,
    eq8_as_printed,
    render_report,
)

FULL = os.environ.get("TINYQUANT_FULL") == "1"

EXPECTED_001 = [
    ("Eq. 7: S(μ, σ, δ)", HOLDS),
    ("Eq. 7 is the centroid of eq. 4", CONDITIONAL),
    ("Footnote 2", CONDITIONAL),
    ("Fig. 3b / eq. 9", HOLDS),
    ("Fig. 2: a Shapiro–Wilk statistic", FAILS),
    # fast mode (3 epochs): every layer within 5%; full mode (30 epochs): the 10×128 classifier layer
    # (skew +1.0) is 5.1% off, the hidden layers ≤ 1.4%
    ("Assumption 1 on trained weights", FAILS if FULL else CONDITIONAL),
]
EXPECTED_003 = [
    ("Table 1", HOLDS),
    ("Eq. 8", HOLDS),
    ("Eq. 10", CONDITIONAL),
    ("Table 5", HOLDS),
    ("TWN", HOLDS),
]


@pytest.fixture(scope="module")
def tg():
    return truncated_gaussian.run_experiments(fast=not FULL, seed=0)


@pytest.fixture(scope="module")
def ss():
    return step_size.run_experiments(fast=not FULL, seed=0)


@pytest.mark.slow
def test_every_seed_001_row_has_its_pinned_verdict(tg):
    rows = build_truncated_gaussian_rows(tg)
    assert_pinned_verdicts(rows, EXPECTED_001)


@pytest.mark.slow
def test_every_seed_003_row_has_its_pinned_verdict(ss):
    rows = build_step_size_rows(ss)
    assert_pinned_verdicts(rows, EXPECTED_003)


@pytest.mark.slow
def test_pinned_numbers(tg, ss):
    rows = {r.claim.split(":")[0]: r for r in build_step_size_rows(ss)}
    assert rows["Table 1"].numbers["mismatches"] == []
    assert rows["Eq. 8"].numbers["root"] < 1e-9
    assert 1.1 < rows["Table 5"].numbers["worst"] < 1.3        # activation 3-bit: 1.21
    r001 = build_truncated_gaussian_rows(tg)
    assert r001[0].numbers["reference"] < 1e-12
    assert min(r001[2].numbers["worse"]) > 2
    assert "synthetic laplace" in r001[4].numbers["fooled"]


def test_eq8_as_printed_vanishes_at_the_table1_step():
    for n in (2, 4, 8, 16):
        assert abs(eq8_as_printed(step_size.optimal_step_size(n), n)) < 1e-10


def test_eq8_as_printed_rejects_odd_levels():
    with pytest.raises(ValueError, match="even"):
        eq8_as_printed(1.0, 3)


@pytest.mark.slow
def test_report_names_its_command_and_states_the_table1_reproduction(tg, ss):
    text = render_report(tg, ss, "python -m toy_problems.ledger_quantizer_theory --report x.md")
    assert "python -m toy_problems.ledger_quantizer_theory" in text
    assert "all sixteen numbers agree" in text
