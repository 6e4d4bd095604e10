"""Shared test settings.

Full-size runs are marked ``slow`` and run in a fast mode unless TINYQUANT_FULL=1;
figures are drawn with matplotlib's non-interactive Agg backend. The hypothesis profile
``mutation-gate`` (``tools/mutation_gate.py``) skips shrinking and the example database: the
gate only needs to know that a test fails, not its smallest counterexample.
"""

import os

import matplotlib
import pytest
from hypothesis import Phase, settings

# In CI (CI=true) hypothesis draws the same examples on every run, so a run that lands is the
# run that was tested; locally it keeps exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

matplotlib.use("Agg")

settings.register_profile("mutation-gate", phases=(Phase.explicit, Phase.reuse, Phase.generate),
                          database=None)

FULL = os.environ.get("TINYQUANT_FULL") == "1"


@pytest.fixture
def full_mode() -> bool:
    """True when TINYQUANT_FULL=1 asks slow tests for their full-size run."""
    return FULL
