"""Helpers of the fault-injection tests: real processes, really killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from procfs import alive, children  # noqa: F401  (tools/procfs.py, on the path by conftest)

ROOT = Path(__file__).resolve().parents[2]
KILLER = ROOT / "tools" / "kill_after_epoch.py"
FULL = os.environ.get("TINYQUANT_FULL") == "1"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
       "TINYQUANT_NUM_THREADS": "1"}


def train(out, *options, kill_at: int = -1) -> subprocess.CompletedProcess:
    """``tinyquant train --out OUT OPTIONS`` in a subprocess, SIGKILLed as epoch ``kill_at``
    (0-based) begins when ``kill_at >= 0``."""
    cmd = [sys.executable, str(KILLER), str(kill_at), "train", "--out", str(out),
           "--no-progress", *map(str, options)]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    if kill_at < 0:
        assert proc.returncode == 0, proc.stderr[-3000:]
    else:
        assert proc.returncode == -9, (proc.returncode, proc.stderr[-3000:])
    return proc


def arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyquant.cli", *map(str, args)], env=ENV,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def popen_cli(*args, cwd=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinyquant.cli", *map(str, args)], env=ENV,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
