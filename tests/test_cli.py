"""The ``tinyquant`` command: the default training run, the generated help, one-line errors
(status 2, no traceback), resume refusal and overwrite protection."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyquant.cli import TOYS, main
from tinyquant.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--no-progress", "--model", "mlp", "--epochs", "1"]


def run_cli(*argv, cwd=None):
    """``python -m tinyquant ARGV`` in a subprocess: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tinyquant", *argv], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_default_train_reaches_98_percent_on_the_embedded_digits(tmp_path, capsys):
    """The README's main job: ``tinyquant train`` with no arguments (bar the output folder)."""
    assert main(["train", "--out", str(tmp_path), "--no-progress"]) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[-1]["test_accuracy"] >= 0.975
    assert "val_accuracy" in history[0] and "test_accuracy" not in history[0]  # test once, at the end
    assert (tmp_path / "checkpoint.npz").is_file()
    assert TrainConfig.from_json((tmp_path / "config.json").read_text()) == TrainConfig(out="out/train")
    out = capsys.readouterr().out
    assert "test accuracy" in out and "epoch  12" in out


def test_python_dash_m_tinyquant_and_version():
    status, out, _ = run_cli("--version")
    assert status == 0 and out.startswith("tinyquant ")


def test_epoch_lines_stream_as_epochs_finish_without_progress_bars(tmp_path):
    """Each epoch's line is flushed when the epoch ends: read the pipe while training runs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tinyquant", "train", "--out", str(tmp_path),
                                "--no-progress", "--model", "mlp", "--epochs", "3"],
                               stdout=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("epoch   1"):
            assert process.poll() is None   # still training when epoch 1 is reported
            assert not (tmp_path / "history.json").exists()
    assert process.wait(timeout=300) == 0
    assert sum(line.startswith("epoch ") for line in lines) == 3


def _help_entries(text: str) -> dict[str, str]:
    """Option flag -> its help entry (the option's lines, joined), from argparse's help."""
    entries, current = {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("  -"):
            current = stripped.split()[0].rstrip(",")
            entries[current] = stripped
        elif current is not None and line.startswith("    ") and stripped:
            entries[current] += " " + stripped
        else:
            current = None
    return entries


def test_every_train_option_appears_in_the_help_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    entries = _help_entries(capsys.readouterr().out)
    fields = TrainConfig.option_fields()
    assert len(fields) >= 40
    for name, f in fields.items():
        flag = "--" + name.replace("_", "-")
        assert flag in entries, flag
        default = f.default
        if isinstance(default, bool):
            shown = f"(default: {'on' if default else 'off'})"
        elif default is None:
            shown = "(default: not set)"
        else:
            shown = f"(default: {default})"
        assert " ".join(entries[flag].split()).endswith(shown), (flag, entries[flag])


def test_help_shows_no_raw_markup(capsys):
    for argv in (["--help"], ["train", "--help"], ["toy", "--help"], ["report", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "``" not in capsys.readouterr().out, argv


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs 0: expected a value >= 1"),
    (["train", "--batch-size", "0"], "--batch-size 0: expected a value >= 1"),
    (["train", "--dataset", "imagenet"], "--dataset: invalid choice: 'imagenet'"),
    (["train", "--dataset", "mnist"], "--dataset mnist reads local files"),
    (["train", "--quantizer", "ttq", "--weight-bits", "3"], "--weight-bits 3 acts on nothing"),
    (["train", "--clip", "2"], "--clip 2.0 acts on nothing"),
    (["train", "--regime", "bc"], "--regime bc acts on nothing"),
    (["train", "--warmup-epochs", "-1"], "--warmup-epochs -1.0: expected a finite number >= 0"),
    (["train", "--bn", "pre"], "--bn pre acts on nothing here: only resnet20"),
    (["train", "--epochs", "x"], "--epochs: invalid int value: 'x'"),
    (["train", "--optimizer", "adam", "--momentum", "0.5"], "--momentum 0.5 acts on nothing"),
    (["train", "--init-from", "missing.npz"], "missing.npz"),
    (["toy", "nope"], "invalid choice: 'nope'"),
])
def test_bad_values_exit_2_with_one_line_and_no_traceback(argv, message, tmp_path):
    status, _, err = run_cli(*argv, "--out", str(tmp_path / "o")) if argv[0] == "train" \
        else run_cli(*argv)
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and message in err, err


def test_bad_values_from_main_exit_2(tmp_path, capsys):
    assert main(["train", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_writing_into_a_folder_holding_a_run_needs_resume_or_overwrite(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path), *FAST]
    assert main(args) == 0
    before = (tmp_path / "checkpoint.npz").read_bytes()
    assert main(args) == 2
    assert "--resume to continue it or --overwrite" in capsys.readouterr().err
    assert (tmp_path / "checkpoint.npz").read_bytes() == before   # nothing changed
    assert main(args + ["--overwrite", "--seed", "1"]) == 0
    assert (tmp_path / "checkpoint.npz").read_bytes() != before


def test_resume_continues_from_the_checkpoint(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp", "--epochs", "2"]
    main(args)
    first = json.loads((tmp_path / "history.json").read_text())
    main(args + ["--resume"])
    assert "resumed from" in capsys.readouterr().out
    assert json.loads((tmp_path / "history.json").read_text()) == first  # nothing left to train


def test_resume_with_different_hyperparameters_is_refused_listing_them(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path), *FAST]
    main(args)
    capsys.readouterr()
    assert main(args + ["--resume", "--lr", "0.1", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "--lr None in the run, 0.1 now" in err and "--seed 0 in the run, 3 now" in err
    assert main(args[:-2] + ["--epochs", "3", "--resume"]) == 2   # cosine: depends on epochs
    assert "--epochs can be extended only with --schedule constant" in capsys.readouterr().err


def test_resume_may_extend_epochs_when_the_schedule_does_not_depend_on_them(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp",
            "--schedule", "constant"]
    main(args + ["--epochs", "1"])
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "extending --epochs from 1 to 2" in out
    assert len(json.loads((tmp_path / "history.json").read_text())) == 2


def test_the_checkpoint_holds_the_configuration(tmp_path):
    from tinyquant.run import load_config

    main(["train", "--out", str(tmp_path), *FAST, "--lr", "0.02"])
    config = load_config(tmp_path / "checkpoint.npz")
    assert config.lr == 0.02 and config.model == "mlp" and config.epochs == 1
    assert config == TrainConfig.from_json((tmp_path / "config.json").read_text())


def test_init_from_starts_from_a_checkpoints_weights(tmp_path):
    from tinyquant.train import load_checkpoint

    first, second = tmp_path / "a", tmp_path / "b"
    base = ["train", "--no-progress", "--model", "mlp", "--epochs", "1"]
    main(base + ["--out", str(first)])
    trained = load_checkpoint(first / "checkpoint.npz")
    main(base + ["--out", str(second), "--init-from", str(first / "checkpoint.npz"), "--lr", "0"])
    again = load_checkpoint(second / "checkpoint.npz")
    weights = [k for k in trained if k.startswith("model/") and k.endswith("weight")]
    for key in weights:  # lr 0: the weights are exactly the loaded ones
        assert (again[key] == trained[key]).all(), key


@pytest.mark.parametrize("bn, has_batch_norm", [("none", False), ("pre", True)])
def test_bn_option_places_batch_norm_in_resnet20(bn, has_batch_norm, tmp_path):
    from tinyquant.train import load_checkpoint

    main(["train", "--no-progress", "--model", "resnet20", "--bn", bn, "--epochs", "1",
          "--batch-size", "512", "--out", str(tmp_path)])
    keys = list(load_checkpoint(tmp_path / "checkpoint.npz"))
    assert any(k.startswith("model/") and k.endswith("running_mean") for k in keys) == has_batch_norm


def test_toy_lists_every_sandbox_with_a_description(capsys):
    assert main(["toy"]) == 0
    out = capsys.readouterr().out
    for name, (_, _, description) in TOYS.items():
        assert f"{name}  " in out and description[:30] in out


@pytest.mark.parametrize("name", sorted(TOYS))
def test_every_toy_takes_fast_out_report_and_seed_before_or_after_its_name(name, tmp_path):
    """Run through ``--help`` of the command itself: the options parse in both positions."""
    import importlib

    module, function, _ = TOYS[name]
    command = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as done:
        command(["--fast", "--out", str(tmp_path), "--report", str(tmp_path / "r.md"), "--seed", "1",
                 "--help"])
    assert done.value.code == 0
    from tinyquant.cli import build_parser

    before = build_parser().parse_args(["toy", "--fast", "--out", "D", name])
    after = build_parser().parse_args(["toy", name, "--fast", "--out", "D", "--report", "R"])
    assert before.name == after.name == name and before.fast and after.fast
    assert before.out == after.out == "D" and after.report == "R"


def test_list_prints_every_quantizer_and_ste(capsys):
    from tinyquant.quant import QUANTIZERS, STES

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in list(QUANTIZERS) + list(STES):
        assert f"  {name} " in out, name


def test_a_folder_with_only_the_config_of_a_run_that_never_finished_an_epoch_is_reused(tmp_path):
    (tmp_path / "config.json").write_text(TrainConfig(epochs=7).to_json())
    assert main(["train", "--out", str(tmp_path), *FAST]) == 0
    assert TrainConfig.from_json((tmp_path / "config.json").read_text()).epochs == 1


@pytest.mark.parametrize("epochs, batch_size", [(1, 2000), (2, 2000), (1, 700)])
def test_step_schedule_trains_on_runs_shorter_than_its_milestones(tmp_path, epochs, batch_size):
    argv = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp", "--schedule",
            "step", "--epochs", str(epochs), "--batch-size", str(batch_size)]
    assert main(argv) == 0
    assert len(json.loads((tmp_path / "history.json").read_text())) == epochs
