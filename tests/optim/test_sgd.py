"""SGD: each update equals PyTorch's SGD equations written out here in closed form."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyquant.optim import SGD


class Param:
    """The optimizer's view of a parameter: ``.data`` updated in place, ``.grad`` or None."""

    def __init__(self, data, grad=None):
        self.data = np.array(data)
        self.grad = None if grad is None else np.array(grad)


def real(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


lrs, momenta, decays = real(1e-4, 1.0), real(0.0, 0.99), real(0.0, 0.5)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)


def arrays(shape, n=None):
    one = hnp.arrays(np.float64, shape, elements=real(-10, 10))
    return one if n is None else st.lists(one, min_size=n, max_size=n)


def assert_close(actual, expected, scale):
    """|actual - expected| within 1e-12 of ``scale``, the size of the largest terms summed:
    float64 rounding of a few operations is ~1e-15 of it, a wrong formula is far above."""
    assert actual.dtype == np.float64
    bad = np.abs(actual - expected) > 1e-12 * scale
    assert not bad.any(), f"actual {actual[bad]} != expected {expected[bad]}"


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, st.integers(1, 5))
def test_plain_sgd_subtracts_lr_times_the_sum_of_gradients(data, shape, lr, k):
    p0, grads = data.draw(arrays(shape)), data.draw(arrays(shape, k))
    p = Param(p0)
    opt = SGD([p], lr=lr)
    for g in grads:
        p.grad = g
        opt.step()
    # p_k = p_0 - lr * sum_t g_t
    expected = p0 - lr * sum(grads)
    assert_close(p.data, expected, np.abs(p0) + lr * sum(np.abs(g) for g in grads))
    assert opt.state.get(0, {}) == {}  # no momentum buffer without momentum


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, decays)
def test_one_weight_decay_step_is_p_minus_lr_times_g_plus_wd_p(data, shape, lr, wd):
    p0, g = data.draw(arrays(shape)), data.draw(arrays(shape))
    p = Param(p0, g)
    SGD([p], lr=lr, weight_decay=wd).step()
    assert_close(p.data, p0 - lr * (g + wd * p0), np.abs(p0) + lr * (np.abs(g) + wd * np.abs(p0)))


@settings(max_examples=30, deadline=None)
@given(st.data(), shapes, real(1e-3, 0.5), real(1e-3, 1.0), st.integers(1, 8))
def test_weight_decay_alone_shrinks_the_parameter_geometrically(data, shape, lr, wd, k):
    p0 = data.draw(arrays(shape))
    p = Param(p0)
    opt = SGD([p], lr=lr, weight_decay=wd)
    for _ in range(k):
        p.grad = np.zeros(shape)
        opt.step()
    # g = 0: p_k = (1 - lr * wd)^k p_0
    assert_close(p.data, (1 - lr * wd) ** k * p0, np.abs(p0))


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, momenta, st.integers(1, 5))
def test_momentum_buffer_is_the_discounted_sum_of_gradients(data, shape, lr, mu, k):
    p0, grads = data.draw(arrays(shape)), data.draw(arrays(shape, k))
    p = Param(p0)
    opt = SGD([p], lr=lr, momentum=mu)
    for g in grads:
        p.grad = g
        opt.step()
    # buf_t = sum_{i<=t} mu^(t-i) g_i  (buf = g on the first step, dampening 0)
    bufs = [sum(mu ** (t - i) * grads[i] for i in range(t + 1)) for t in range(k)]
    # p_k = p_0 - lr * sum_t buf_t
    scale = np.abs(p0) + lr * sum(sum(np.abs(g) for g in grads) for _ in range(k))
    if mu > 0:  # with mu = 0 there is no buffer and this is plain SGD
        assert_close(opt.state[0]["momentum_buffer"], bufs[-1], sum(np.abs(g) for g in grads))
    assert_close(p.data, p0 - lr * sum(bufs), scale)


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, real(0.01, 0.99), st.integers(1, 5))
def test_nesterov_steps_along_g_plus_mu_times_buffer(data, shape, lr, mu, k):
    p0, grads = data.draw(arrays(shape)), data.draw(arrays(shape, k))
    p = Param(p0)
    opt = SGD([p], lr=lr, momentum=mu, nesterov=True)
    for g in grads:
        p.grad = g
        opt.step()
    bufs = [sum(mu ** (t - i) * grads[i] for i in range(t + 1)) for t in range(k)]
    # d_t = g_t + mu * buf_t;  p_k = p_0 - lr * sum_t d_t
    steps = [grads[t] + mu * bufs[t] for t in range(k)]
    scale = np.abs(p0) + 2 * lr * k * sum(np.abs(g) for g in grads)
    assert_close(p.data, p0 - lr * sum(steps), scale)


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, real(0.01, 0.99), decays)
def test_two_nesterov_steps_with_weight_decay_match_the_written_out_equations(
        data, shape, lr, mu, wd):
    p0, g1, g2 = (data.draw(arrays(shape)) for _ in range(3))
    p = Param(p0)
    opt = SGD([p], lr=lr, momentum=mu, weight_decay=wd, nesterov=True)
    p.grad = g1
    opt.step()
    # step 1: g' = g1 + wd p0, buf = g', p1 = p0 - lr (g' + mu g') = p0 - lr (1 + mu) g'
    d1 = g1 + wd * p0
    p1 = p0 - lr * (1 + mu) * d1
    assert_close(p.data, p1, np.abs(p0) + 2 * lr * (np.abs(g1) + wd * np.abs(p0)))
    p.grad = g2
    opt.step()
    # step 2: g'' = g2 + wd p1, buf = mu g' + g'', p2 = p1 - lr (g'' + mu buf)
    d2 = g2 + wd * p1
    p2 = p1 - lr * (d2 + mu * (mu * d1 + d2))
    scale = np.abs(p1) + 3 * lr * (np.abs(d1) + np.abs(g2) + wd * np.abs(p1)) + np.abs(p0)
    assert_close(p.data, p2, scale)


def test_param_groups_use_their_own_lr_and_weight_decay():
    a0, b0, c0 = np.array([1.0, -2.0]), np.array([3.0]), np.array([4.0, 5.0])
    ga, gb = np.array([0.5, 0.25]), np.array([-1.0])
    a, b, c = Param(a0, ga), Param(b0, gb), Param(c0, np.zeros(2))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.01},
               {"params": [c], "weight_decay": 0.0}], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 0.1 * (ga + 0.5 * a0), rtol=1e-15)
    np.testing.assert_allclose(b.data, b0 - 0.01 * (gb + 0.5 * b0), rtol=1e-15)
    np.testing.assert_array_equal(c.data, c0)  # zero gradient, no decay: untouched
    assert [g["weight_decay"] for g in opt.param_groups] == [0.5, 0.5, 0.0]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01, 0.1]


def test_parameters_without_grad_are_skipped():
    a, b = Param([1.0, 2.0], [1.0, 1.0]), Param([3.0])
    opt = SGD([a, b], lr=0.5, momentum=0.9, weight_decay=0.1)
    opt.step()
    np.testing.assert_array_equal(b.data, [3.0])  # weight decay does not touch it either
    assert 1 not in opt.state or opt.state[1] == {}


def test_float32_parameters_stay_float32_and_are_updated_in_place():
    p = Param(np.array([1.0, -2.0, 0.3], dtype=np.float32))
    data = p.data
    view = data[1:]
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True)
    for _ in range(3):
        p.grad = np.array([0.1, 0.2, -0.7])  # float64 grad: cast to the parameter's dtype
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert opt.state[0]["momentum_buffer"].dtype == np.float32
    np.testing.assert_array_equal(view, p.data[1:])


def test_a_float32_plain_step_is_computed_in_float32():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(1000).astype(np.float32)
    g = rng.standard_normal(1000).astype(np.float32)
    p = Param(p0.copy(), g)
    SGD([p], lr=0.1, weight_decay=0.01).step()
    # every operation in float32 (a float64 detour rounds differently in some of 1000 entries)
    lr, wd = np.float32(0.1), np.float32(0.01)
    np.testing.assert_array_equal(p.data, p0 - lr * (g + wd * p0))


def test_step_leaves_grad_untouched_and_zero_grad_sets_it_to_none():
    p = Param([0.0, 0.0], [1.0, 2.0])
    g = p.grad
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(g, [1.0, 2.0])
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not g.any()  # zeroed in place
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=-0.1), ValueError, r"lr must be a finite number >= 0, got -0\.1"),
    (dict(lr=float("nan")), ValueError, r"lr must be"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number, got '0\.1'"),
    (dict(lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1\.0"),
    (dict(lr=0.1, momentum=-0.5), ValueError, r"momentum must be in \[0, 1\)"),
    (dict(lr=0.1, weight_decay=-1e-4), ValueError, r"weight_decay must be .*>= 0"),
    (dict(lr=0.1, nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (dict(lr=0.1, momentum=0.9, nesterov="yes"), TypeError, r"nesterov must be True or False"),
])
def test_bad_hyperparameters_are_rejected_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD([Param([1.0])], **kwargs)


def test_a_bad_hyperparameter_in_a_group_names_the_group():
    with pytest.raises(ValueError, match=r"param group 1: momentum must be in \[0, 1\)"):
        SGD([{"params": [Param([1.0])]}, {"params": [Param([2.0])], "momentum": 1.5}], lr=0.1)
    with pytest.raises(ValueError, match=r"param group 0: nesterov=True needs momentum > 0"):
        SGD([{"params": [Param([1.0])], "momentum": 0.0}], lr=0.1, momentum=0.9, nesterov=True)
