"""Resuming a killed run is bit-identical to the uninterrupted run, for every configuration.

Each case trains the MLP on the embedded digits for 2 epochs of 6 batches three times in
real subprocesses: uninterrupted; SIGKILLed as epoch 2 begins (the checkpoint of epoch 1
on disk, nothing else saved); and resumed from that checkpoint. Parameters, optimizer
state, every random stream, callback and regime state, the history (minus wall times) and
the diagnostics must match bit for bit. The matrix covers every weight quantizer with the
standard and BinaryConnect regimes, the rounding regimes R and SR (grid and binary),
seed 001's alternating regime, each with and without ``--diagnostics``; CI runs a subset
that holds every kind of random stream and state, TINYQUANT_FULL=1 the whole matrix.
"""

import json

import numpy as np
import pytest
from helpers import FULL, arrays, train

from tinyquant.config import weight_quantizers

WEIGHT_QUANTIZERS = weight_quantizers()

COMMON = ("--model", "mlp", "--epochs", 2, "--batch-size", 256)


def _matrix():
    cases = {}
    for q in WEIGHT_QUANTIZERS:
        for regime in ("standard", "bc"):
            cases[f"{q}-{regime}"] = ("--quantizer", q, "--regime", regime)
    cases["sr"] = ("--regime", "sr")
    cases["r"] = ("--regime", "r")
    cases["sr-binary"] = ("--regime", "sr", "--binary-rounding")
    cases["alternating"] = ("--quantizer", "truncated_gaussian_ternary", "--regime", "alternating")
    cases["uniq-warmup-act"] = ("--quantizer", "uniq", "--uniq-warmup", 1, "--act-bits", 2)
    out = {}
    for name, options in cases.items():
        out[name] = options
        out[f"{name}-diagnostics"] = options + ("--diagnostics",)
    return out


MATRIX = _matrix()
FAST = ("stochastic_binary-standard-diagnostics", "stochastic_round-bc", "sr-diagnostics",
        "sr-binary", "alternating-diagnostics", "ttq-standard-diagnostics", "uniq-warmup-act")


def _without_times(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MATRIX) if FULL else list(FAST))
def test_resume_after_a_kill_is_bit_identical(name, tmp_path):
    options = COMMON + MATRIX[name]
    train(tmp_path / "full", *options)
    train(tmp_path / "cut", *options, kill_at=1)
    half = arrays(tmp_path / "cut" / "checkpoint.npz")
    assert int(half["trainer/epoch"]) == 1
    train(tmp_path / "cut", *options, "--resume")

    a, b = arrays(tmp_path / "full" / "checkpoint.npz"), arrays(tmp_path / "cut" / "checkpoint.npz")
    assert sorted(a) == sorted(b)
    for key in a:
        if key == "trainer/history":
            assert _without_times(json.loads(str(a[key]))) == _without_times(json.loads(str(b[key])))
        else:
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
    if "--diagnostics" in options:
        assert json.loads((tmp_path / "full" / "diagnostics.json").read_text()) == \
            json.loads((tmp_path / "cut" / "diagnostics.json").read_text())


def test_fast_subset_is_part_of_the_matrix():
    assert set(FAST) <= set(MATRIX)
    assert len(MATRIX) == 2 * (2 * len(WEIGHT_QUANTIZERS) + 5)
