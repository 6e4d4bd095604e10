"""Packed export: the file's layout (bits, planes, small integers, no pickle, version), batch
norm folding, and packed inference against the float model on the whole digits test set for
every registered weight quantizer (and for binary and k-bit activations)."""

import json

import numpy as np
import pytest

from tinyquant.deploy.graph import lower
from tinyquant.nn import quantizable_layers
from tinyquant.deploy.pack import FORMAT_VERSION, PackedFormatError, load_packed, packed_from_model, save_packed
from tinyquant.deploy.runtime import run

from deploy_helpers import (
    ACTIVATION_CASES,
    MNIST1D_CASES,
    WEIGHT_QUANTIZERS,
    dataset,
    digits,
    float_logits,
    relative_errors,
    scaled_sign_inputs,
    trained,
)


@pytest.mark.parametrize("model_name", ["digits_cnn", "mlp"])
@pytest.mark.parametrize("quantizer", ["none"] + WEIGHT_QUANTIZERS)
def test_packed_inference_predicts_as_the_float_model_on_every_test_sample(model_name, quantizer):
    model, x = trained(model_name, quantizer), digits().x_test
    ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert relative_errors(out, ref).max() <= 1e-4        # float rounding (measured ≤ 6e-6)


@pytest.mark.parametrize("model_name", ["digits_cnn", "mlp"])
@pytest.mark.parametrize("quantizer, bits, act", ACTIVATION_CASES)
def test_packed_inference_with_binary_and_k_bit_inputs_predicts_as_the_float_model(model_name, quantizer, bits, act):
    model, x = trained(model_name, quantizer, bits, act), digits().x_test
    ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    # integer accumulators are exact; an input a float rounding away from a quantizer's
    # threshold may take the neighbouring code, so allow a rare sample beyond float rounding
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


@pytest.mark.parametrize("quantizer, bits, act", [("xnor", 0, "auto"), ("ttq", 0, "auto"),
                                                  ("xnor", 1, "sign_activation")])
def test_packed_resnet20_predicts_as_the_float_model(quantizer, bits, act):
    model, x = trained("resnet20", quantizer, bits, act), digits().x_test
    ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


@pytest.mark.parametrize("quantizer, bits, act", MNIST1D_CASES)
def test_packed_1d_cnn_predicts_as_the_float_model_on_every_mnist1d_test_sample(quantizer, bits, act):
    model, x = trained("mnist1d_cnn", quantizer, bits, act, data="mnist1d"), dataset("mnist1d").x_test
    ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99     # measured: all ≤ 2e-6


def test_1d_layers_lower_to_1d_nodes_with_their_batch_norms_folded():
    nodes = lower(trained("mnist1d_cnn", "xnor", data="mnist1d"))
    assert [n["op"] for n in nodes] == ["conv1d", "relu", "maxpool1d", "conv1d", "relu", "maxpool1d",
                                        "conv1d", "relu", "flatten", "linear"]
    assert [(n["kernel"], n["stride"], n["padding"]) for n in nodes if n["op"] == "conv1d"] == [
        ([5], [1], [2]), ([3], [1], [1]), ([3], [1], [1])]
    assert [(n["kernel"], n["stride"]) for n in nodes if n["op"] == "maxpool1d"] == [([2], [2])] * 2


@pytest.mark.parametrize("name, input_shape", [("mlp", (1, 8, 8)), ("digits_cnn", (1, 8, 8)),
                                               ("mnist1d_cnn", (1, 40)), ("resnet20", (3, 32, 32)),
                                               ("vgg_small", (3, 32, 32))])
def test_every_registered_model_packs_and_runs_to_its_float_logits(name, input_shape):
    from tinyquant.nn.models import build_model

    model = build_model(name, input_shape, 10, rng=0).eval()
    x = np.random.default_rng(1).standard_normal((3, *input_shape)).astype(np.float32)
    ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_the_list_of_registered_models_is_the_one_tested_above():
    from tinyquant.nn.models import MODELS

    assert sorted(MODELS) == ["digits_cnn", "mlp", "mnist1d_cnn", "resnet20", "vgg_small"]


def test_scaled_sign_inputs_multiply_the_popcount_by_each_samples_k():
    model = trained("digits_cnn", "xnor", 1, "sign_activation")
    x = digits().x_test
    with scaled_sign_inputs(model):
        ref, out = float_logits(model, x), run(packed_from_model(model), x)
    np.testing.assert_array_equal(out.argmax(axis=1), ref.argmax(axis=1))
    assert np.mean(relative_errors(out, ref) <= 1e-4) >= 0.99


def test_ttq_levels_of_either_sign_are_stored_as_planes_with_their_own_scales():
    model = trained("mlp", "ttq")
    q = quantizable_layers(model)[1].weight_quantizer      # the hidden layer's quantizer
    saved = float(q.w_n.data)
    q.w_n.data[...] = -0.3                   # W_n crossed zero: both nonzero levels positive
    try:
        x = digits().x_test
        ref, out = float_logits(model, x), run(packed_from_model(model), x)
        assert relative_errors(out, ref).max() <= 1e-4
    finally:
        q.w_n.data[...] = saved


def file_arrays(path):
    """(header, {key: array}) of a packed file, read with plain NumPy and json."""
    with np.load(path, allow_pickle=False) as f:
        raw = {k: f[k] for k in f.files}
    header = json.loads(raw.pop("header").tobytes().decode("utf-8"))
    assert set(raw) <= {"uint8", "int8", "int16", "int32", "float32"}   # one pooled array per dtype
    arrays = {key: raw[d][o:o + int(np.prod(shape))].reshape(shape)
              for key, (d, o, shape) in header["arrays"].items()}
    return header, arrays


def test_packed_file_holds_bits_planes_and_small_integers_and_round_trips(tmp_path):
    path = save_packed(trained("digits_cnn", "xnor"), tmp_path / "m.npz", config={"model": "digits_cnn"})
    header, arrays = file_arrays(path)
    assert header["format_version"] == FORMAT_VERSION and header["config"] == {"model": "digits_cnn"}
    i = [j for j, node in enumerate(header["graph"]) if node["op"] == "conv2d"][1]
    conv = header["graph"][i]                               # the second convolution: 32 → 32, 3×3
    assert conv["weight"]["kind"] == "binary" and conv["weight"]["shape"] == [32, 32, 3, 3]
    bits = arrays[f"n{i}/bits"]
    assert bits.dtype == np.uint8 and bits.shape == (32, 32 * 9 // 8)      # one bit a weight
    signs = np.where(np.unpackbits(bits, axis=1), 1.0, -1.0).reshape(32, 32, 3, 3)
    w = quantizable_layers(trained("digits_cnn", "xnor"))[1].weight.data
    np.testing.assert_array_equal(signs, np.where(w >= 0, 1.0, -1.0))   # XNOR's sign, sign(0) = +1
    x = digits().x_test
    np.testing.assert_array_equal(run(path, x), run(packed_from_model(trained("digits_cnn", "xnor")), x))


def test_ternary_weights_are_two_bit_planes_and_k_bit_weights_int8(tmp_path):
    _, arrays = file_arrays(save_packed(trained("digits_cnn", "ttq"), tmp_path / "t.npz"))
    plus, minus = arrays["n2/plus"], arrays["n2/minus"]               # n2: the second convolution
    assert plus.shape == minus.shape == (32, 36) and plus.dtype == np.uint8
    assert not np.any(plus & minus)                         # a weight is never both +W_p and −W_n
    _, arrays = file_arrays(save_packed(trained("digits_cnn", "uniq"), tmp_path / "u.npz"))
    assert arrays["n2/codes"].dtype == np.int8 and set(np.unique(arrays["n2/codes"])) <= {-3, -1, 1, 3}


def test_batch_norm_is_folded_into_the_layer_before_it():
    ops = [n["op"] for n in lower(trained("digits_cnn", "xnor"))]
    assert "affine" not in ops and ops.count("conv2d") == 3


def test_a_file_of_another_version_or_not_packed_is_refused(tmp_path):
    path = save_packed(trained("mlp", "xnor"), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    np.savez(tmp_path / "v1.npz", **arrays)
    assert load_packed(tmp_path / "v1.npz").nodes                  # the copy itself is readable
    header["format_version"] = FORMAT_VERSION + 1
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    np.savez(tmp_path / "v2.npz", **arrays)
    with pytest.raises(PackedFormatError, match="version"):
        load_packed(tmp_path / "v2.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(PackedFormatError, match="junk.npz"):
        load_packed(tmp_path / "junk.npz")
    with pytest.raises(PackedFormatError, match="does not exist"):
        load_packed(tmp_path / "missing.npz")


def test_inputs_that_are_not_float32_or_do_not_fit_the_first_layer_are_refused():
    with pytest.raises(TypeError, match="float32"):
        run(packed_from_model(trained("mlp", "xnor")), digits().x_test.astype(np.float64))
    with pytest.raises(ValueError, match="expects 1 input channels"):
        run(packed_from_model(trained("digits_cnn", "xnor")), np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="expects 64 input features"):
        run(packed_from_model(trained("mlp", "xnor")), np.zeros((2, 1, 4, 4), np.float32))


def test_binary_resnet20_with_float_first_and_last_layers_packs_at_least_20x_smaller(tmp_path):
    from tinyquant import Tensor
    from tinyquant.config import QuantConfig
    from tinyquant.nn.models import resnet20
    from tinyquant.quant.config import configure_quantization
    from tinyquant.train.checkpoint import save_checkpoint, with_prefix

    model = resnet20(rng=0)
    configure_quantization(model, QuantConfig(quantizer="xnor"))
    model.eval()(Tensor(np.zeros((1, 3, 32, 32), np.float32)))
    float_file = save_checkpoint(tmp_path / "float.npz", with_prefix(model.state_dict(), "model"))
    packed_file = save_packed(model, tmp_path / "packed.npz")
    assert float_file.stat().st_size >= 20 * packed_file.stat().st_size      # measured 21.3×


def test_packed_file_is_written_atomically_with_the_umasks_mode(tmp_path):
    import os

    from tinyquant.nn.models import mlp

    old = os.umask(0o027)
    try:
        path = save_packed(mlp(64, hidden=(8,), rng=0), tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o640          # not mkstemp's 0600
    assert not list(tmp_path.glob(".m.npz.*.tmp"))         # no temporary left behind
    assert len(load_packed(path).nodes) > 0
