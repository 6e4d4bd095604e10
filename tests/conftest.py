"""Shared test settings.

Full-size runs are marked ``slow`` and run in a fast mode unless TINYQUANT_FULL=1;
figures are drawn with matplotlib's non-interactive Agg backend.
"""

import os

import matplotlib
import pytest
from hypothesis import settings

# In CI (CI=true) hypothesis draws the same examples on every run, so a run that lands is the
# run that was tested; locally it keeps exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

matplotlib.use("Agg")

FULL = os.environ.get("TINYQUANT_FULL") == "1"


@pytest.fixture
def full_mode() -> bool:
    """True when TINYQUANT_FULL=1 asks slow tests for their full-size run."""
    return FULL
