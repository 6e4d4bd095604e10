"""The ``tinyquant`` command: the default training run and argument errors."""

import json

import pytest

from tinyquant.cli import main


def test_default_train_reaches_95_percent_on_the_embedded_digits(tmp_path, capsys):
    """The README's main job: ``tinyquant train`` with no arguments (bar the output folder)."""
    assert main(["train", "--out", str(tmp_path), "--no-progress"]) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[-1]["test_accuracy"] >= 0.95
    assert (tmp_path / "checkpoint.npz").is_file()
    assert "test accuracy" in capsys.readouterr().out


def test_resume_continues_from_the_checkpoint(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp"]
    main(args + ["--epochs", "2"])
    first = json.loads((tmp_path / "history.json").read_text())
    main(args + ["--epochs", "2", "--resume"])
    assert "resumed from" in capsys.readouterr().out
    assert json.loads((tmp_path / "history.json").read_text()) == first  # nothing left to train


def test_resume_with_a_different_schedule_is_refused(tmp_path):
    args = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp"]
    main(args + ["--epochs", "1"])
    with pytest.raises(ValueError, match="schedule"):
        main(args + ["--epochs", "3", "--resume"])


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["train", "--dataset", "imagenet"], "available"),
])
def test_bad_arguments_get_a_clear_error(argv, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        main(argv + ["--out", str(tmp_path)])


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
    assert any(k.endswith("running_mean") for k in keys) == has_batch_norm


def test_bn_option_on_a_model_without_it_names_the_model(tmp_path):
    with pytest.raises(ValueError, match="--bn pre: only resnet20 .* --model digits_cnn"):
        main(["train", "--bn", "pre", "--out", str(tmp_path)])


@pytest.mark.parametrize("epochs, batch_size", [(1, 2000), (2, 2000), (1, 700)])
def test_step_schedule_trains_on_runs_shorter_than_its_milestones(tmp_path, epochs, batch_size):
    argv = ["train", "--out", str(tmp_path), "--no-progress", "--model", "mlp", "--schedule",
            "step", "--epochs", str(epochs), "--batch-size", str(batch_size)]
    assert main(argv) == 0
    assert len(json.loads((tmp_path / "history.json").read_text())) == epochs
