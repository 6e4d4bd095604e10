"""studies/analyze.py's extra tables, on hand-made records."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ANALYZE = Path(__file__).resolve().parents[2] / "studies" / "analyze.py"


@pytest.fixture(scope="module")
def analyze():
    spec = importlib.util.spec_from_file_location("studies_analyze", ANALYZE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(seed, curve):
    return {"seed": seed, "history": [{"epoch": i + 1, "test_accuracy": a} for i, a in enumerate(curve)]}


def test_learning_curve_tabulates_mean_and_std_at_the_picked_epochs(analyze):
    groups = {"a": [record(0, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
                    record(1, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])],
              "b": [record(0, [0.5] * 8)]}
    lines = analyze.learning_curve(groups, "test_accuracy")
    assert analyze.epoch_picks(8) == [1, 2, 4, 6, 8]
    assert "| setting | n | epoch 1 | epoch 2 | epoch 4 | epoch 6 | epoch 8 |" in lines
    # epoch 1: mean of 0.1 and 0.3 = 0.2, sample std √0.02 = 0.1414 → "0.2 ± 0.14"
    assert "| a | 2 | 0.2 ± 0.14 | 0.3 ± 0.14 | 0.5 ± 0.14 | 0.7 ± 0.14 | 0.9 ± 0.14 |" in lines
    assert "| b | 1 | 0.5 | 0.5 | 0.5 | 0.5 | 0.5 |" in lines


def test_curve_stability_is_std_and_total_variation_in_percentage_points(analyze):
    std, tv = analyze.curve_stability([0.9, 0.8, 0.9, 0.9])
    assert tv == pytest.approx(20.0)
    assert std == pytest.approx(4.330127, rel=1e-6)   # population std of 90, 80, 90, 90
