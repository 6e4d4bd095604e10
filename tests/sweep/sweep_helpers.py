"""Helpers of the sweep tests: a tiny study file and a plain-json reader of records."""

import json
from pathlib import Path


TINY = """
[study]
name = "tiny"
description = "two optimizers, MLP on digits"
claim = "none: a test of the machinery"
full_runtime = "a few seconds"
baseline = "sgd"

[base]
model = "mlp"
dataset = "digits"
epochs = {epochs}

[grid]
seeds = {seeds}

[[grid.settings]]
name = "sgd"
optimizer = "sgd"

[[grid.settings]]
name = "adam"
optimizer = "adam"
"""


def write_study(folder: Path, epochs: int = 1, seeds=(0, 1), text: str | None = None) -> Path:
    """A study file in ``folder`` (the tiny one unless ``text`` is given)."""
    path = folder / "study.toml"
    path.write_text(text if text is not None else TINY.format(epochs=epochs, seeds=list(seeds)))
    return path


def raw_records(path: Path) -> list[dict]:
    """The records parsed line by line with plain json, independent of the package's reader."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
