"""AdamW: decoupled weight decay (Loshchilov & Hutter, 2019), checked against steps
computed by hand and against the paper's equations written out here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyquant.optim import Adam, AdamW


class Param:
    def __init__(self, data, grad=None):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None if grad is None else np.array(grad, dtype=np.float64)


def test_first_step_matches_a_hand_computed_decoupled_update():
    # p = (1, -2), g = (0.5, 0.1), lr = 0.1, wd = 0.1: decay first, p <- p (1 - 0.01) = (0.99, -1.98);
    # at t = 1, m_hat = g and v_hat = g², so the Adam step is lr g / (|g| + eps).
    p = Param([1.0, -2.0], [0.5, 0.1])
    AdamW([p], lr=0.1, weight_decay=0.1, eps=1e-8).step()
    expected = [0.99 - 0.1 * 0.5 / (0.5 + 1e-8), -1.98 - 0.1 * 0.1 / (0.1 + 1e-8)]
    np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-15)


def test_decoupled_decay_differs_from_adams_l2_decay_where_it_flips_the_gradients_sign():
    # Adam's L2 decay feeds g + wd p = (0.6, -0.1) to the adaptive step: the second coordinate
    # then moves *up* by lr, to -1.9; AdamW's goes down, to -2.08.
    adam, adamw = Param([1.0, -2.0], [0.5, 0.1]), Param([1.0, -2.0], [0.5, 0.1])
    Adam([adam], lr=0.1, weight_decay=0.1).step()
    AdamW([adamw], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(adam.data, [0.9, -1.9], atol=1e-7)
    np.testing.assert_allclose(adamw.data, [0.89, -2.08], atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.floats(1e-4, 0.5), st.floats(0.0, 0.5), st.integers(1, 5))
def test_several_steps_follow_algorithm_2_in_pytorchs_parameterization(data, lr, wd, steps):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
    grads = data.draw(st.lists(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)),
                               min_size=steps, max_size=steps))
    p0 = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    b1, b2, eps = 0.9, 0.999, 1e-8
    p, opt = Param(p0), None
    theta, m, v = p0.copy(), np.zeros(shape), np.zeros(shape)
    for t, g in enumerate(grads, start=1):
        p.grad = g
        opt = opt or AdamW([p], lr=lr, weight_decay=wd)
        opt.step()
        # Loshchilov & Hutter (2019), Algorithm 2 with alpha = lr, eta_t = 1 and the paper's
        # lambda written as lr * wd (PyTorch's AdamW):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * wd * theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    scale = np.abs(theta).max() + lr * math.sqrt(steps) + 1
    np.testing.assert_allclose(p.data, theta, rtol=0, atol=1e-11 * scale)


def test_adamw_defaults_follow_pytorch_and_bad_decay_is_refused():
    opt = AdamW([Param([1.0])])
    assert opt.param_groups[0]["weight_decay"] == 0.01 and opt.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        AdamW([Param([1.0])], weight_decay=-1.0)


def test_adamw_state_round_trips_and_resumes_identically():
    a, b = Param([1.0, 2.0], [0.3, -0.2]), Param([1.0, 2.0], [0.3, -0.2])
    oa = AdamW([a], lr=0.05)
    oa.step()
    ob = AdamW([b], lr=0.05)
    b.data[...] = a.data
    ob.load_state_dict(oa.state_dict())
    oa.step()
    ob.step()
    np.testing.assert_array_equal(a.data, b.data)
