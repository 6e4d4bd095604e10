"""ONNX export: a checked standard graph with int8 weight levels and Q/DQ nodes, run by ONNX
Runtime, predicting as the tinyquant model on the whole digits test set."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the [deploy] extra (onnx, onnxruntime) is not installed")
pytest.importorskip("onnxruntime", reason="the [deploy] extra (onnx, onnxruntime) is not installed")

from deploy_helpers import (  # noqa: E402
    ACTIVATION_CASES,
    MNIST1D_CASES,
    WEIGHT_QUANTIZERS,
    dataset,
    digits,
    float_logits,
    onnx_runtime_logits,
    relative_errors,
    scaled_sign_inputs,
    trained,
)

from tinyquant.deploy.onnx_export import OPSET, export_onnx, to_onnx  # noqa: E402


def agreement(model, data=None):
    data = digits() if data is None else data
    proto = to_onnx(model, data.input_shape)
    return onnx_runtime_logits(proto, data.x_test), float_logits(model, data.x_test)


@pytest.mark.parametrize("model_name", ["digits_cnn", "mlp"])
@pytest.mark.parametrize("quantizer", ["none"] + WEIGHT_QUANTIZERS)
def test_onnx_runtime_predicts_as_tinyquant_for_every_weight_quantizer(model_name, quantizer):
    out, ref = agreement(trained(model_name, quantizer))
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert relative_errors(out, ref).max() <= 1e-4          # measured ≤ 2e-6


@pytest.mark.parametrize("model_name", ["digits_cnn", "mlp"])
@pytest.mark.parametrize("quantizer, bits, act", ACTIVATION_CASES)
def test_onnx_runtime_predicts_as_tinyquant_with_binary_and_k_bit_inputs(model_name, quantizer, bits, act):
    out, ref = agreement(trained(model_name, quantizer, bits, act))
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    # an input a float rounding away from a quantizer threshold may take the neighbouring code
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


@pytest.mark.parametrize("quantizer, bits, act", [("xnor", 0, "auto"), ("ttq", 0, "auto"), ("uniq", 0, "auto"),
                                                  ("xnor", 1, "sign_activation")])
def test_onnx_runtime_runs_resnet20_with_its_shortcuts(quantizer, bits, act):
    out, ref = agreement(trained("resnet20", quantizer, bits, act))
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


@pytest.mark.parametrize("quantizer, bits, act", MNIST1D_CASES)
def test_onnx_runtime_runs_the_1d_cnn_with_1d_convolutions_and_pools(quantizer, bits, act):
    model = trained("mnist1d_cnn", quantizer, bits, act, data="mnist1d")
    out, ref = agreement(model, dataset("mnist1d"))
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99     # measured: all ≤ 2e-6
    convs = [n for n in to_onnx(model, dataset("mnist1d").input_shape).graph.node if n.op_type == "Conv"]
    assert [len(onnx.helper.get_attribute_value(a)) for n in convs for a in n.attribute
            if a.name == "kernel_shape"] == [1, 1, 1]


def test_scaled_sign_inputs_export_with_their_per_sample_k():
    model = trained("digits_cnn", "xnor", 1, "sign_activation")
    with scaled_sign_inputs(model):
        out, ref = agreement(model)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


def test_binary_weights_travel_as_int8_levels_dequantized_in_the_graph(tmp_path):
    path = export_onnx(trained("digits_cnn", "xnor"), tmp_path / "m.onnx", digits().input_shape)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == OPSET >= 17
    levels = [onnx.numpy_helper.to_array(t) for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(levels) == 2                                  # the two binary convolutions
    assert all(set(np.unique(a)) <= {-1, 1} for a in levels)
    ops = {n.op_type for n in proto.graph.node}
    assert "DequantizeLinear" in ops and "Conv" in ops
