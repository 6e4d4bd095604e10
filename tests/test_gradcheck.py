"""gradcheck itself: it passes correct gradients and names the culprit of a wrong one."""

import re

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import Function


class WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        wrong = 2 * x * grad
        wrong.reshape(-1)[-1] *= 1.5  # one wrong entry
        return wrong


def test_gradcheck_passes_a_correct_gradient():
    assert tq.gradcheck(lambda x, y: (x * y).tanh(), np.ones((2, 2)) * 0.3, np.ones(2) * 0.7)


def test_gradcheck_names_input_index_and_both_derivatives():
    x = np.array([[0.5, -1.0], [2.0, 1.5]])
    with pytest.raises(tq.GradcheckError) as err:
        tq.gradcheck(lambda a: WrongSquare.apply(a), x)
    message = str(err.value)
    assert "input 0" in message and "(1, 1)" in message
    analytic, numerical = map(float, re.search(r"analytic (\S+) vs numerical (\S+)", message).groups())
    assert analytic == pytest.approx(1.5 * numerical, rel=1e-6)  # the planted error


def test_gradcheck_samples_indices_of_large_inputs():
    x = np.random.default_rng(0).standard_normal(10_000)
    with pytest.raises(tq.GradcheckError):
        tq.gradcheck(lambda a: WrongSquare.apply(a), x, max_indices=5)  # the direction check


def test_gradcheck_promotes_float32_to_float64():
    seen = {}

    def fn(x):
        seen["dtype"] = x.dtype
        return x * 2

    tq.gradcheck(fn, np.ones(3, dtype=np.float32))
    assert seen["dtype"] == np.float64
