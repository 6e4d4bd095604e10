"""The noise laws' ramps and tail functions against mpmath at the extremes."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mp_reference import ramp as mp_ramp

from toy_problems.noise_laws import GaussianNoise

G = GaussianNoise()


def _mp_log(f, dps):
    with mp.workdps(dps):
        return float(mp.log(f()))


@pytest.mark.parametrize("b", [-1e4, -1e3, -300.0, -40.0, -30.0, -10.5, -9.5, -3.0, -1e-8, 0.0, 2.0, 30.0, 1e3])
def test_gaussian_ramp_keeps_every_digit_deep_in_the_tail(b):
    ref = _mp_log(lambda: mp_ramp(b), 60)
    assert G.log_ramp(np.array([b]))[0] == pytest.approx(ref, rel=1e-14, abs=1e-13)
    if ref > -700:
        assert G.ramp(np.array([b]))[0] == pytest.approx(float(np.exp(ref)), rel=1e-12)


def test_naive_ramp_formula_loses_digits_at_minus_30_where_log_form_does_not():
    # the closed form b Φ(b) + φ(b) cancels: in float64 it is off by ~5e-11 relative at b = −30 (5 digits lost)
    from scipy import special

    b = -30.0
    naive = b * special.ndtr(b) + np.exp(-0.5 * b * b) / np.sqrt(2 * np.pi)
    with mp.workdps(60):
        ref = float(mp_ramp(b))
    assert abs(naive / ref - 1) > 1e-12
    assert abs(G.ramp(np.array([b]))[0] / ref - 1) < 1e-13


def _mp_hat(d, c):
    d, c = mp.mpf(d), mp.mpf(c)
    return c * (mp_ramp((d + 1) / c) - 2 * mp_ramp(d / c) + mp_ramp((d - 1) / c))


def _mp_clip(e, c):
    e, c = mp.mpf(e), mp.mpf(c)
    return c * (mp_ramp(e / c) - mp_ramp((e - 1) / c))


def _dps(x, c):
    # digits for the second differences to survive: the linear part of the ramp is ~|x|/c, the
    # result ~exp(−(|x| − 1)²/(2c²))
    return int(60 + max(0.0, abs(x) - 1) ** 2 / (2 * c * c) / 2.3 + 2 * np.log10(1 + abs(x) / c))


@settings(max_examples=60, deadline=None)
@given(d=st.floats(0.0, 40.0), c=st.floats(0.02, 30.0))
def test_hat_probability_is_accurate_to_1e9_relative_down_to_1e_minus_300(d, c):
    dps = _dps(d, c)
    if dps > 1500:
        return  # far below 1e-300 (exp(−3000)); nothing to compare in float64
    ref = _mp_log(lambda: _mp_hat(d, c), dps)
    if ref < np.log(1e-300):
        return
    assert abs(G.log_hat(np.array([d]), c)[0] - ref) <= 1e-9


@settings(max_examples=60, deadline=None)
@given(e=st.floats(-40.0, 40.0), c=st.floats(0.02, 30.0))
def test_end_point_probability_is_accurate_to_1e9_relative_down_to_1e_minus_300(e, c):
    dps = _dps(abs(e) + 1, c)
    if dps > 1500:
        return
    ref = _mp_log(lambda: _mp_clip(e, c), dps)
    if ref < np.log(1e-300):
        return
    assert abs(G.log_clip(np.array([e]), c)[0] - ref) <= 1e-9


@pytest.mark.parametrize("d, c", [(0.0, 0.05), (0.999, 0.05), (1.0, 0.05), (3.0, 0.2), (7.3, 0.2), (1.0, 0.6), (1.0, 0.62), (50.0, 5.0), (300.0, 20.0), (2.0, 100.0)])
def test_hat_probability_at_hand_picked_extremes(d, c):
    dps = _dps(d, c)
    ref = _mp_log(lambda: _mp_hat(d, c), dps)
    assert abs(G.log_hat(np.array([d]), c)[0] - ref) <= 1e-11 * max(1.0, abs(ref))


def test_tail_functions_underflow_to_minus_infinity_not_nan():
    out = G.log_hat(np.array([0.0, 0.5, 1.0, 2.0, 1e300]), 1e-200)
    assert np.all(~np.isnan(out)) and out[-1] == -np.inf and out[0] == 0.0
    out = G.log_clip(np.array([-1e300, -1.0, 0.5, 2.0]), 1e-200)
    assert np.all(~np.isnan(out)) and out[0] == -np.inf and out[-1] == 0.0
