"""tinyquant.load_model rebuilds a trained model from its checkpoint alone; `tinyquant summary`
and `tinyquant export` run on that checkpoint."""

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest

from deploy_helpers import digits, float_logits

import tinyquant as tq
from tinyquant.cli import main
from tinyquant.deploy import run
from tinyquant.nn import ReLU, quantizable_layers
from tinyquant.quant import XNOR, SignActivation


@functools.lru_cache(maxsize=None)
def trained_run(model: str, **quant):
    """(checkpoint path, final history entry) of a 2-epoch `tinyquant train` run."""
    from tinyquant.config import TrainConfig
    from tinyquant.run import train

    out = Path(tempfile.mkdtemp()) / "run"
    history = train(TrainConfig.from_dict({"model": model, "epochs": 2, "no_progress": True,
                                           "out": str(out), **quant}), echo=lambda *a: None)
    return out / "checkpoint.npz", history[-1]


def accuracy(logits):
    return float(np.mean(logits.argmax(axis=1) == digits().y_test))


@pytest.mark.parametrize("model, quant", [
    ("mlp", {"quantizer": "xnor"}),
    ("digits_cnn", {"quantizer": "ttq"}),
    ("digits_cnn", {"quantizer": "binary_connect", "act_bits": 1, "act_quantizer": "sign_activation"}),
    ("digits_cnn", {"quantizer": "uniq", "act_bits": 2}),
])
def test_load_model_reproduces_the_test_accuracy_the_trainer_measured(model, quant):
    checkpoint, last = trained_run(model, **quant)
    loaded = tq.load_model(checkpoint)
    assert not any(m.training for m in loaded.modules())
    assert loaded.input_shape == digits().input_shape
    assert accuracy(float_logits(loaded, digits().x_test)) == pytest.approx(last["test_accuracy"], abs=1e-12)


def test_load_model_plugs_in_the_trained_quantizers_and_replaces_relus_for_sign_inputs():
    checkpoint, _ = trained_run("digits_cnn", quantizer="xnor", act_bits=1, act_quantizer="sign_activation")
    layers = quantizable_layers(tq.load_model(checkpoint))
    assert layers[0].weight_quantizer is None and layers[-1].weight_quantizer is None
    assert all(isinstance(la.weight_quantizer, XNOR) and isinstance(la.activation_quantizer, SignActivation)
               for la in layers[1:-1])
    assert not any(isinstance(m, ReLU) for m in tq.load_model(checkpoint).modules())


def test_summary_command_prints_the_table_of_a_checkpoint(capsys):
    checkpoint, _ = trained_run("mlp", quantizer="xnor")
    assert main(["summary", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "xnor" in out and "compression ratio" in out and "binary params" in out


def test_export_packed_runs_as_the_loaded_model_and_never_overwrites_unasked(tmp_path, capsys):
    checkpoint, _ = trained_run("digits_cnn", quantizer="xnor", act_bits=1, act_quantizer="sign_activation")
    out = tmp_path / "model.npz"
    assert main(["export", str(checkpoint), "--format", "packed", "--out", str(out)]) == 0
    x = digits().x_test
    ref = float_logits(tq.load_model(checkpoint), x)
    np.testing.assert_array_equal(run(out, x).argmax(axis=1), ref.argmax(axis=1))
    before = out.read_bytes()
    assert main(["export", str(checkpoint), "--format", "packed", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0]
    assert out.read_bytes() == before
    assert main(["export", str(checkpoint), "--format", "packed", "--out", str(out), "--overwrite"]) == 0


def test_export_onnx_runs_in_onnx_runtime_as_the_loaded_model(tmp_path):
    pytest.importorskip("onnxruntime", reason="the [deploy] extra is not installed")
    from deploy_helpers import onnx_runtime_logits
    import onnx

    checkpoint, _ = trained_run("mlp", quantizer="xnor")
    out = tmp_path / "model.onnx"
    assert main(["export", str(checkpoint), "--format", "onnx", "--out", str(out)]) == 0
    x = digits().x_test
    got, ref = onnx_runtime_logits(onnx.load(str(out)), x), float_logits(tq.load_model(checkpoint), x)
    np.testing.assert_array_equal(got.argmax(axis=1), ref.argmax(axis=1))


def test_a_missing_checkpoint_or_one_without_configuration_is_one_line_and_status_2(tmp_path, capsys):
    assert main(["summary", str(tmp_path / "none.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    from tinyquant.train.checkpoint import save_checkpoint

    bare = save_checkpoint(tmp_path / "bare.npz", {"model/w": np.zeros(2)})
    assert main(["export", str(bare), "--format", "packed", "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "configuration" in err[0]
