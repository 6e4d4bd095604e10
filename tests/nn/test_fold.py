"""Batch norm folded into the preceding layer gives the same eval-mode outputs."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant.nn.fold import bn_affine, fold_batchnorm
from tinyquant.nn.layers import BatchNorm1d, BatchNorm2d, Identity
from tinyquant.nn.models import digits_cnn, mlp, resnet20


def _with_trained_statistics(model, x, rng):
    """Give every batch norm non-trivial γ, β and running statistics (a few training passes)."""
    for m in model.modules():
        if isinstance(m, (BatchNorm1d, BatchNorm2d)):
            m.weight.data[...] = rng.uniform(0.5, 2.0, m.num_features)
            m.bias.data[...] = rng.standard_normal(m.num_features)
    model.train()
    for _ in range(3):
        model(tq.Tensor(x))
    model.eval()
    return model


def _batch_norms(model):
    return [m for m in model.modules() if isinstance(m, (BatchNorm1d, BatchNorm2d))]


@pytest.mark.parametrize("build, shape", [(lambda: digits_cnn(rng=0), (6, 1, 8, 8)),
                                          (lambda: resnet20(rng=0), (4, 3, 16, 16))])
def test_folded_model_gives_the_eval_outputs_of_the_original_in_float64(build, shape):
    rng = np.random.default_rng(0)
    model = build()
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    x = rng.standard_normal(shape)
    model = _with_trained_statistics(model, x, rng)
    for bn in _batch_norms(model):                   # the running statistics in float64 too
        bn.running_mean = bn.running_mean.astype(np.float64)
        bn.running_var = bn.running_var.astype(np.float64)
    folded = fold_batchnorm(model)
    assert _batch_norms(model) and not _batch_norms(folded)          # all folded, the original kept
    with tq.no_grad():
        np.testing.assert_allclose(folded(tq.Tensor(x)).data, model(tq.Tensor(x)).data, rtol=1e-10, atol=1e-10)


def test_folding_is_the_affine_formula_on_one_conv():
    # W' = scale·W and b' = shift for a conv without bias, scale = γ/√(var + ε), shift = β − μ·scale
    from tinyquant.nn.layers import Conv2d, Sequential

    rng = np.random.default_rng(1)
    conv, bn = Conv2d(2, 3, 3, bias=False, rng=0), BatchNorm2d(3)
    bn.running_mean[...] = [0.5, -1.0, 2.0]
    bn.running_var[...] = [4.0, 0.25, 1.0]
    bn.weight.data[...] = [2.0, 1.0, -1.0]
    bn.bias.data[...] = [0.0, 1.0, 3.0]
    folded = fold_batchnorm(Sequential(conv, bn))
    f = list(folded.children())
    scale = np.array([2.0 / np.sqrt(4 + 1e-5), 1.0 / np.sqrt(0.25 + 1e-5), -1.0 / np.sqrt(1 + 1e-5)])
    np.testing.assert_allclose(f[0].weight.data, conv.weight.data * scale[:, None, None, None], rtol=1e-6)
    np.testing.assert_allclose(f[0].bias.data, [0.0 - 0.5 * scale[0], 1.0 + 1.0 * scale[1], 3.0 - 2.0 * scale[2]],
                               rtol=1e-6)
    assert isinstance(f[1], Identity)
    np.testing.assert_allclose(bn_affine(bn)[0], scale)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    model = Sequential(conv, bn)
    model.eval()
    np.testing.assert_allclose(folded(tq.Tensor(x)).data, model(tq.Tensor(x)).data, rtol=1e-5, atol=1e-5)


def test_a_batch_norm_after_a_quantized_layer_is_not_folded():
    from tinyquant.nn.layers import quantizable_layers
    from tinyquant.quant import get_quantizer

    model = digits_cnn(rng=0)
    quantizable_layers(model)[1].weight_quantizer = get_quantizer("xnor")
    folded = fold_batchnorm(model)
    assert len(_batch_norms(folded)) == 1              # the second conv's norm stays
    assert len(_batch_norms(model)) == 3


def test_a_model_without_batch_norm_folds_to_the_same_outputs():
    from tinyquant.nn.layers import Linear, ReLU, Sequential

    model = Sequential(Linear(8, 16, rng=0), ReLU(), Linear(16, 3, rng=1))
    folded = fold_batchnorm(model)
    x = np.random.default_rng(2).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_array_equal(folded(tq.Tensor(x)).data, model(tq.Tensor(x)).data)
    assert not folded.training and model.training          # a copy, in eval mode; the original as it was


def test_the_mlp_folds_its_linear_batch_norm_pair():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 64)).astype(np.float32)
    model = _with_trained_statistics(mlp(64, hidden=(16,), rng=0), x, rng)
    folded = fold_batchnorm(model)
    assert not _batch_norms(folded)
    np.testing.assert_allclose(folded(tq.Tensor(x)).data, model(tq.Tensor(x)).data, rtol=1e-5, atol=1e-5)
