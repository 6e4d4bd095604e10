"""The PyTorch-shaped surface of Tensor: size/view/unsqueeze/permute/argmax/softmax,
``dim=``/``keepdim=`` beside ``axis=``/``keepdims=``, ``requires_grad_``, and lazy
subpackages. Every new differentiable method is gradient-checked in float64 and its
gradient compared with an independent closed form."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyquant as tq

SETTINGS = settings(max_examples=25, deadline=None)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, width=64))


# -------------------------------------------------------------------- imports

def test_subpackages_are_attributes_of_the_top_level_module_in_a_fresh_interpreter():
    code = ("import tinyquant as tq, sys; assert 'tinyquant.nn' not in sys.modules; "
            "print(tq.nn.Linear.__name__, tq.optim.SGD.__name__, tq.data.DataLoader.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Linear", "SGD", "DataLoader"]


def test_an_unknown_top_level_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="nope"):
        tq.nope


# ---------------------------------------------------------------- reductions

@pytest.mark.parametrize("method", ["sum", "mean", "max"])
def test_dim_and_keepdim_equal_axis_and_keepdims(method):
    x = tq.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)))
    torch_style = getattr(x, method)(dim=1, keepdim=True)
    numpy_style = getattr(x, method)(axis=1, keepdims=True)
    np.testing.assert_array_equal(torch_style.data, numpy_style.data)
    assert torch_style.shape == (2, 1, 4)
    assert getattr(x, method)(dim=(0, 2)).shape == (3,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(axis=0, dim=0), "both axis=0 and dim=0"),
    (dict(keepdims=True, keepdim=True), "both keepdims=True and keepdim=True"),
    (dict(dim=3), "dim 3 is out of range for 3 axes"),
    (dict(dim=1.0), "dim must be an int"),
    (dict(keepdim=1), "keepdim must be a bool"),
])
def test_reductions_refuse_conflicting_or_bad_axis_arguments(kwargs, message):
    x = tq.Tensor(np.zeros((2, 3, 4)))
    with pytest.raises((TypeError, ValueError), match=message):
        x.sum(**kwargs)


def test_argmax_returns_integer_indices_like_numpy_and_tracks_no_gradient():
    data = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 3.5]])
    x = tq.Tensor(data, requires_grad=True)
    assert x.argmax(dim=1).data.tolist() == [1, 2]
    assert x.argmax().item() == 5                              # over the flattened tensor
    assert x.argmax(dim=0, keepdim=True).shape == (1, 3)
    assert not x.argmax(dim=1).requires_grad and x.argmax(dim=1).dtype == np.int64


# ------------------------------------------------------------------- shapes

def test_size_is_the_shape_or_one_axis_length_and_numel_the_element_count():
    x = tq.Tensor(np.zeros((2, 3, 5)))
    assert x.size() == (2, 3, 5) and x.size(1) == 3 and x.size(-1) == 5
    assert x.numel() == 30 and x.dim() == 3
    with pytest.raises(ValueError, match="dim 3 is out of range"):
        x.size(3)


@SETTINGS
@given(data=st.data())
def test_unsqueeze_inserts_a_unit_axis_and_its_gradient_is_the_reshaped_cotangent(data):
    shape = data.draw(shapes)
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = data.draw(arrays(shape))
    expected_shape = np.expand_dims(x, dim).shape
    X = tq.Tensor(x, requires_grad=True)
    y = X.unsqueeze(dim)
    assert y.shape == expected_shape
    r = np.random.default_rng(0).standard_normal(expected_shape)
    y.backward(r)
    np.testing.assert_array_equal(X.grad, r.reshape(shape))        # d(reshape)ᵀ = reshape back
    tq.gradcheck(lambda t: t.unsqueeze(dim) * 2.0, x)


@SETTINGS
@given(data=st.data())
def test_permute_moves_axes_like_numpy_and_its_gradient_is_the_inverse_permutation(data):
    shape = data.draw(shapes)
    dims = tuple(data.draw(st.permutations(range(len(shape)))))
    x = data.draw(arrays(shape))
    X = tq.Tensor(x, requires_grad=True)
    y = X.permute(*dims)
    np.testing.assert_array_equal(y.data, np.transpose(x, dims))
    r = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(r)
    np.testing.assert_array_equal(X.grad, np.transpose(r, np.argsort(dims)))
    tq.gradcheck(lambda t: t.permute(dims) * 1.5, x)


def test_view_and_squeeze_gradients_match_finite_differences():
    x = np.random.default_rng(3).standard_normal((2, 1, 3))
    tq.gradcheck(lambda t: t.view(3, 2) * 2.0, x)
    tq.gradcheck(lambda t: t.squeeze(1).softmax(1), x)


def test_view_squeeze_and_permute_shapes():
    x = tq.Tensor(np.zeros((2, 1, 3)))
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 1, 3)
    with pytest.raises(ValueError, match=r"permute: dims must be a permutation of range\(3\)"):
        x.permute(0, 0, 1)
    with pytest.raises(ValueError, match="unsqueeze: dim 4 is out of range"):
        x.unsqueeze(4)


# ------------------------------------------------------------------ softmax

@SETTINGS
@given(data=st.data())
def test_softmax_gradient_matches_finite_differences(data):
    shape = data.draw(shapes)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    tq.gradcheck(lambda t: t.softmax(dim), data.draw(arrays(shape)))


def test_softmax_gradient_equals_the_jacobian_diag_y_minus_y_yT():
    """An independent formula: J = diag(y) − y yᵀ per row, so dL/dz = Jᵀ g."""
    rng = np.random.default_rng(2)
    z, g = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    Z = tq.Tensor(z, requires_grad=True)
    Z.softmax(dim=1).backward(g)
    y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = np.stack([(np.diag(yi) - np.outer(yi, yi)).T @ gi for yi, gi in zip(y, g)])
    np.testing.assert_allclose(Z.grad, expected, rtol=1e-12, atol=1e-14)


def test_softmax_sums_to_one_and_stays_finite_for_huge_logits():
    y = tq.softmax(tq.Tensor(np.array([[1e4, 0.0, -1e4], [1.0, 1.0, 1.0]])), dim=1)
    np.testing.assert_allclose(y.data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    np.testing.assert_allclose(np.exp(tq.log_softmax(tq.Tensor(np.ones((2, 4))), dim=0).data), 0.5)


@pytest.mark.parametrize("fn", [tq.softmax, tq.log_softmax, lambda x: x.softmax(0)])
def test_softmax_refuses_integer_input_naming_the_dtype(fn):
    with pytest.raises(TypeError, match="must be floating-point .* got dtype int64"):
        fn(tq.Tensor(np.array([[1, 2]])))


# ------------------------------------------------------------ requires_grad_

def test_requires_grad_turns_tracking_on_in_place_for_a_leaf():
    x = tq.Tensor(np.ones(3))
    assert x.requires_grad_() is x and x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    assert not x.requires_grad_(False).requires_grad


def test_requires_grad_refuses_integers_non_leaves_and_non_bools():
    with pytest.raises(TypeError, match="floating-point"):
        tq.Tensor(np.array([1, 2])).requires_grad_()
    x = tq.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)
    with pytest.raises(TypeError, match="must be a bool"):
        x.requires_grad_("yes")


def test_size_without_a_call_is_still_numpys_element_count():
    x = tq.Tensor(np.zeros((2, 3)))
    assert x.size == 6 and x.size // 4 == 1 and np.eye(x.size).shape == (6, 6)


# ------------------------------------------------------------ small aliases

@SETTINGS
@given(data=st.data())
def test_min_is_minus_max_of_minus_x_and_its_gradient_goes_to_the_minimum(data):
    shape = data.draw(shapes)
    x = data.draw(arrays(shape)) + np.arange(np.prod(shape)).reshape(shape) * 1e-2   # no ties
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    X = tq.Tensor(x, requires_grad=True)
    y = X.min(dim=axis)
    np.testing.assert_array_equal(y.data, x.min(axis=axis))
    y.sum().backward()
    onehot = (x == x.min(axis=axis, keepdims=True)).astype(float)        # d min / dx
    np.testing.assert_array_equal(X.grad, onehot)
    assert X.argmin(dim=axis).data.tolist() == np.argmin(x, axis=axis).tolist()
    tq.gradcheck(lambda t: t.min(axis, keepdims=True), x)


def test_clamp_pow_matmul_clone_float_double_are_the_existing_ops():
    x = np.array([[-2.0, 0.5], [1.5, 3.0]])
    X = tq.Tensor(x, requires_grad=True)
    np.testing.assert_array_equal(X.clamp(min=-1.0, max=2.0).data, np.clip(x, -1, 2))
    np.testing.assert_array_equal(X.pow(2).data, x**2)
    np.testing.assert_array_equal(X.matmul(X).data, x @ x)
    c = X.clone()
    assert c.data is not X.data and c.dtype == np.float64
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(X.grad, 3.0)
    assert X.float().dtype == np.float32 and X.float().double().dtype == np.float64
    tq.gradcheck(lambda t: t.clone().clamp(-1.0, 2.0).pow(2).matmul(t), x + 0.01)


def test_cross_entropy_loss_module_equals_the_function():
    z, y = tq.Tensor(np.random.default_rng(0).standard_normal((4, 3))), np.array([0, 2, 1, 1])
    assert tq.nn.CrossEntropyLoss()(z, y).item() == tq.cross_entropy(z, y).item()
