"""The sweep tests' shared fixture: one parallel sweep of the tiny study."""

import pytest
from sweep_helpers import write_study

from tinyquant.sweep import load_study, run_sweep


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """The tiny study (2 settings x 2 seeds, 1 epoch) swept once with 2 worker processes."""
    folder = tmp_path_factory.mktemp("tiny_sweep")
    study = load_study(write_study(folder))
    result = run_sweep(study, folder / "out", workers=2, echo=lambda line: None)
    return study, result, folder / "out"
