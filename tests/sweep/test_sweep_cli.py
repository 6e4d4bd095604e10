"""``python -m tinyquant.sweep`` and ``tinyquant sweep``/``report`` (tinyquant/sweep/cli.py): a bad
argument or value prints one line on stderr, exits with status 2 and shows no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_helpers import write_study

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = (["tinyquant.sweep"], ["tinyquant"])


def run(module, argv, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", *module, *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(status, stderr, *expected):
    assert status == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert ": error: " in lines[0], stderr
    for text in expected:
        assert text in lines[0], stderr


#: (argv with STUDY for a valid study file, what the message must name)
BAD_ARGUMENTS = [
    (["sweep"], "study"),                                     # missing positional
    (["sweep", "STUDY", "--workers", "0"], "--workers"),      # out of range
    (["sweep", "STUDY", "--workers", "two"], "'two'"),        # not an integer
    (["sweep", "STUDY", "--bogus"], "--bogus"),               # unknown option
    (["sweep", "missing.toml"], "missing.toml"),              # no such study file
    (["report"], "--records"),                                # nothing to report
    (["report", "STUDY", "--records", "nowhere"], "nowhere"),  # no records there
]


@pytest.mark.parametrize("module", ENTRY_POINTS, ids=lambda m: m[0])
@pytest.mark.parametrize("argv, named", BAD_ARGUMENTS, ids=lambda a: " ".join(a) if isinstance(a, list) else None)
def test_a_bad_argument_prints_one_line_and_exits_2(tmp_path, module, argv, named):
    study = write_study(tmp_path)
    argv = [str(study) if a == "STUDY" else a for a in argv]
    status, _, stderr = run(module, argv, tmp_path)
    assert_one_line_error(status, stderr, named)


def test_an_unknown_subcommand_of_python_m_tinyquant_sweep_is_one_line(tmp_path):
    status, _, stderr = run(["tinyquant.sweep"], ["bogus"], tmp_path)
    assert_one_line_error(status, stderr, "bogus")


@pytest.mark.parametrize("module", ENTRY_POINTS, ids=lambda m: m[0])
def test_a_report_folder_that_is_a_file_is_a_one_line_error(tmp_path, tiny_sweep, module):
    # found after parsing (the folder is created when the report is written), not by argparse
    _, _, records = tiny_sweep
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, _, stderr = run(module, ["report", "--records", str(records), "--out", str(blocker / "x")],
                            tmp_path)
    assert_one_line_error(status, stderr, "a_file")
