"""Shared test settings.

Full-size runs are marked ``slow`` and run in a fast mode unless TINYQUANT_FULL=1;
figures are drawn with matplotlib's non-interactive Agg backend.
"""

import os

import matplotlib
import pytest

matplotlib.use("Agg")

FULL = os.environ.get("TINYQUANT_FULL") == "1"


@pytest.fixture
def full_mode() -> bool:
    """True when TINYQUANT_FULL=1 asks slow tests for their full-size run."""
    return FULL
