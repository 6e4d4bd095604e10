"""Adam: each update equals the bias-corrected Adam equations written out here in closed form."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyquant.optim import Adam


class Param:
    """The optimizer's view of a parameter: ``.data`` updated in place, ``.grad`` or None."""

    def __init__(self, data, grad=None):
        self.data = np.array(data)
        self.grad = None if grad is None else np.array(grad)


def real(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


lrs, betas, epss, decays = real(1e-4, 1.0), real(0.0, 0.999), real(1e-8, 1e-2), real(0.0, 0.5)
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
@given(st.data(), shapes, lrs, betas, betas, epss)
def test_first_step_moves_each_coordinate_by_lr_g_over_abs_g_plus_eps(data, shape, lr, b1, b2, eps):
    p0, g = data.draw(arrays(shape)), data.draw(arrays(shape))
    p = Param(p0, g)
    Adam([p], lr=lr, betas=(b1, b2), eps=eps).step()
    # t = 1: m = (1-b1) g, v = (1-b2) g^2, so m_hat = g, v_hat = g^2 whatever the betas
    step = lr * g / (np.abs(g) + eps)
    assert_close(p.data, p0 - step, np.abs(p0) + np.abs(step))


@settings(max_examples=30, deadline=None)
@given(st.data(), shapes, lrs, betas, betas, epss, st.integers(1, 6))
def test_a_constant_gradient_moves_the_parameter_equally_every_step(
        data, shape, lr, b1, b2, eps, k):
    p0, g = data.draw(arrays(shape)), data.draw(arrays(shape))
    p = Param(p0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    for _ in range(k):
        p.grad = g
        opt.step()
    # m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2: bias correction gives m_hat = g, v_hat = g^2
    step = lr * g / (np.abs(g) + eps)
    assert_close(p.data, p0 - k * step, np.abs(p0) + k * np.abs(step))


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, betas, betas, epss, st.integers(1, 5))
def test_k_steps_follow_the_bias_corrected_discounted_sums(data, shape, lr, b1, b2, eps, k):
    p0, grads = data.draw(arrays(shape)), data.draw(arrays(shape, k))
    p = Param(p0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    for g in grads:
        p.grad = g
        opt.step()
    # after step t (1-based): m_t = (1-b1) sum_{i<=t} b1^(t-i) g_i, v_t likewise with g_i^2
    steps = []
    for t in range(1, k + 1):
        m = (1 - b1) * sum(b1 ** (t - i) * grads[i - 1] for i in range(1, t + 1))
        v = (1 - b2) * sum(b2 ** (t - i) * grads[i - 1] ** 2 for i in range(1, t + 1))
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        steps.append(lr * m_hat / (np.sqrt(v_hat) + eps))
    assert_close(p.data, p0 - sum(steps), np.abs(p0) + sum(np.abs(s) for s in steps))
    assert opt.state[0]["step"] == k
    assert_close(opt.state[0]["exp_avg"], m, sum(np.abs(g) for g in grads))
    assert_close(opt.state[0]["exp_avg_sq"], v, sum(g**2 for g in grads))


@settings(max_examples=50, deadline=None)
@given(st.data(), shapes, lrs, betas, betas, epss, decays)
def test_weight_decay_is_added_to_the_gradient(data, shape, lr, b1, b2, eps, wd):
    p0, g1, g2 = (data.draw(arrays(shape)) for _ in range(3))
    p = Param(p0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    p.grad = g1
    opt.step()
    # step 1: g' = g1 + wd p0, p1 = p0 - lr g' / (|g'| + eps)
    d1 = g1 + wd * p0
    s1 = lr * d1 / (np.abs(d1) + eps)
    p1 = p0 - s1
    assert_close(p.data, p1, np.abs(p0) + np.abs(s1))
    p.grad = g2
    opt.step()
    # step 2: g'' = g2 + wd p1; m_hat = ((1-b1) b1 g' + (1-b1) g'') / (1 - b1^2), v_hat likewise
    d2 = g2 + wd * p1
    m_hat = (1 - b1) * (b1 * d1 + d2) / (1 - b1**2)
    v_hat = (1 - b2) * (b2 * d1**2 + d2**2) / (1 - b2**2)
    s2 = lr * m_hat / (np.sqrt(v_hat) + eps)
    assert_close(p.data, p1 - s2, np.abs(p0) + np.abs(s1) + np.abs(s2))


def test_a_parameter_skipped_for_a_step_starts_its_own_bias_correction_later():
    a, b = Param([1.0], [2.0]), Param([5.0])
    opt = Adam([a, b], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    b.grad = np.array([-3.0])
    opt.step()
    # b's first update is its own t = 1 step: lr * g / (|g| + eps)
    np.testing.assert_allclose(b.data, [5.0 + 0.1 * 3.0 / (3.0 + 1e-8)], rtol=1e-15)
    assert (opt.state[0]["step"], opt.state[1]["step"]) == (2, 1)


def test_param_groups_use_their_own_lr_and_weight_decay():
    a, b = Param([1.0, -1.0], [0.0, 0.0]), Param([2.0], [0.0])
    opt = Adam([{"params": [a], "lr": 0.01}, {"params": [b], "weight_decay": 0.0}],
               lr=0.1, weight_decay=0.5)
    opt.step()
    # a: g' = 0.5 * p0, first step moves by lr * g' / (|g'| + eps)
    np.testing.assert_allclose(a.data, [1.0 - 0.01 * 0.5 / (0.5 + 1e-8),
                                        -1.0 + 0.01 * 0.5 / (0.5 + 1e-8)], rtol=1e-15)
    np.testing.assert_array_equal(b.data, [2.0])  # zero gradient, no decay: untouched


def test_float32_parameters_stay_float32_and_are_updated_in_place():
    p = Param(np.array([1.0, -2.0, 0.3], dtype=np.float32))
    data = p.data
    opt = Adam([p], lr=0.1, weight_decay=1e-2)
    for _ in range(3):
        p.grad = np.array([0.1, 0.2, -0.7])  # float64 grad: cast to the parameter's dtype
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert opt.state[0]["exp_avg"].dtype == opt.state[0]["exp_avg_sq"].dtype == np.float32


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=-1e-3), ValueError, r"lr must be a finite number >= 0, got -0\.001"),
    (dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\), got 1\.0"),
    (dict(betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\), got -0\.1"),
    (dict(betas=0.9), TypeError, r"betas must be a pair"),
    (dict(eps=-1e-8), ValueError, r"eps must be .*>= 0"),
    (dict(weight_decay=float("inf")), ValueError, r"weight_decay must be a finite number"),
])
def test_bad_hyperparameters_are_rejected_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        Adam([Param([1.0])], **kwargs)
