"""Schedules: factor values at given steps from their formulas, composition, the LRScheduler."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant import optim
from tinyquant.optim import (SGD, LRScheduler, constant, constant_then, cosine, linear_warmup,
                             multistep, sequential, step_decay)


class Param:
    def __init__(self, data):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None


steps = st.integers(0, 10_000)


@given(st.integers(1, 1000), st.floats(0.0, 1.0))
def test_cosine_is_one_at_zero_midway_at_half_and_final_at_the_end(total, ff):
    s = cosine(total, final_factor=ff)
    assert s.factor(0) == 1.0
    assert s.factor(total) == pytest.approx(ff, abs=1e-15)
    assert s.factor(total + 17) == pytest.approx(ff, abs=1e-15)  # no restart after T
    if total % 2 == 0:
        assert s.factor(total // 2) == pytest.approx((1 + ff) / 2, abs=1e-15)


@given(st.integers(1, 1000), st.floats(0.0, 1.0), st.data())
def test_cosine_matches_its_formula_and_never_increases(total, ff, data):
    s = cosine(total, final_factor=ff)
    t = data.draw(st.integers(0, total - 1))
    assert s.factor(t) == pytest.approx(ff + (1 - ff) * 0.5 * (1 + math.cos(math.pi * t / total)),
                                        abs=1e-15)
    assert s.factor(t + 1) <= s.factor(t)


@given(st.integers(1, 100), st.floats(0.0, 1.0), steps)
def test_linear_warmup_ramps_linearly_then_hands_over_with_its_count_restarted(w, sf, t):
    then = step_decay(7, 0.5)
    s = linear_warmup(w, then=then, start_factor=sf)
    if t < w:
        assert s.factor(t) == pytest.approx(sf + (1 - sf) * t / w, abs=1e-15)
    else:
        assert s.factor(t) == 0.5 ** ((t - w) // 7)


def test_linear_warmup_defaults_start_at_zero_and_reach_one():
    s = linear_warmup(4)
    assert [s.factor(t) for t in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


@given(st.integers(1, 50), st.floats(0.0, 1.0), steps)
def test_step_decay_multiplies_by_gamma_every_step_size_steps(size, gamma, t):
    assert step_decay(size, gamma).factor(t) == gamma ** (t // size)


def test_step_decay_boundaries():
    s = step_decay(10, 0.1)
    assert (s(0), s(9), s(10), s(19), s(20)) == (1.0, 1.0, 0.1, 0.1, 0.1**2)


def test_multistep_changes_exactly_at_the_milestones():
    s = multistep([3, 5], 0.5)
    assert [s(t) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.25, 0.25]


def test_sequential_restarts_each_schedules_count_at_its_milestone():
    s = sequential([constant(0.1), linear_warmup(2), cosine(4)], milestones=[3, 5])
    expected = [0.1, 0.1, 0.1,           # constant(0.1), steps 0..2
                0.0, 0.5,                # linear_warmup(2) at its steps 0, 1
                1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4)),
                0.0, 0.0]                # cosine(4) at its steps 0..4, then its end value
    assert [s(t) for t in range(11)] == pytest.approx(expected, abs=1e-15)


def test_uniq_style_constant_then_cosine():
    s = constant_then(0.1, 5, then=cosine(10))
    assert [s(t) for t in range(5)] == [0.1] * 5
    assert s(5) == 1.0 and s(10) == pytest.approx(0.5, abs=1e-15) and s(15) == 0.0


@given(steps)
def test_a_product_multiplies_factors(t):
    a, b = step_decay(3, 0.5), cosine(100, final_factor=0.1)
    assert (a * b).factor(t) == a.factor(t) * b.factor(t)


@pytest.mark.parametrize("schedule", [
    constant(0.5), step_decay(3, gamma=0.5), multistep([2, 9], gamma=0.1),
    cosine(20, final_factor=0.05), linear_warmup(3, then=cosine(10), start_factor=0.1),
    constant_then(0.1, 4, then=step_decay(2, 0.5)), constant(2.0) * cosine(7),
])
def test_repr_is_the_call_that_rebuilds_the_schedule(schedule):
    rebuilt = eval(repr(schedule), vars(optim))
    assert repr(rebuilt) == repr(schedule)
    assert [rebuilt(t) for t in range(30)] == [schedule(t) for t in range(30)]


def test_scheduler_sets_each_groups_lr_to_initial_lr_times_factor():
    a, b = Param([1.0]), Param([2.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.5)
    sched = LRScheduler(opt, linear_warmup(2, then=step_decay(2, 0.1)))
    lrs = [sched.get_last_lr()]
    for _ in range(5):
        sched.step()
        lrs.append(sched.get_last_lr())
    # factors 0, 0.5 (warm-up), then 1, 1, 0.1, 0.1 (step decay from its own step 0)
    factors = [0.0, 0.5, 1.0, 1.0, 0.1, 0.1]
    np.testing.assert_allclose(lrs, [[0.5 * f, 0.02 * f] for f in factors], rtol=1e-15)
    assert sched.last_step == 5
    assert [g["initial_lr"] for g in opt.param_groups] == [0.5, 0.02]


def test_scheduler_state_dict_round_trip_resumes_the_same_lrs():
    def make():
        opt = SGD([Param([1.0]), Param([2.0])], lr=0.3)
        return opt, LRScheduler(opt, linear_warmup(3, then=cosine(8)))

    opt, sched = make()
    for _ in range(4):
        sched.step()
    saved = sched.state_dict()
    assert saved["last_step"].shape == () and saved["last_step"] == 4
    later = []
    for _ in range(6):
        sched.step()
        later.append(opt.param_groups[0]["lr"])
    opt2, sched2 = make()
    sched2.load_state_dict(saved)
    assert sched2.last_step == 4
    resumed = []
    for _ in range(6):
        sched2.step()
        resumed.append(opt2.param_groups[0]["lr"])
    assert resumed == later  # bit-identical


def test_scheduler_refuses_a_state_saved_with_another_schedule():
    opt = SGD([Param([1.0])], lr=0.3)
    saved = LRScheduler(opt, cosine(8)).state_dict()
    other = LRScheduler(SGD([Param([1.0])], lr=0.3), cosine(9))
    with pytest.raises(ValueError, match=r"saved with schedule cosine\(8.*has cosine\(9"):
        other.load_state_dict(saved)


@pytest.mark.parametrize("build, error, match", [
    (lambda: step_decay(0, 0.5), ValueError, r"step_decay: step_size must be >= 1, got 0"),
    (lambda: step_decay(2.5, 0.5), TypeError, r"step_size must be an integer, got 2\.5"),
    (lambda: step_decay(2, -0.5), ValueError, r"gamma must be in \[0, 1\], got -0\.5"),
    (lambda: multistep([2], 1.5), ValueError, r"multistep: gamma must be in \[0, 1\]"),
    (lambda: multistep([5, 3], 0.1), ValueError, r"milestones must be strictly increasing"),
    (lambda: cosine(0), ValueError, r"cosine: total_steps must be >= 1, got 0"),
    (lambda: linear_warmup(3, start_factor=1.5), ValueError, r"start_factor must be in \[0, 1\]"),
    (lambda: linear_warmup(3, then=0.5), TypeError, r"then must be a schedule"),
    (lambda: sequential([constant(), cosine(3)], []), ValueError, r"len\(milestones\) =="),
    (lambda: cosine(5).factor(-1), ValueError, r"step must be >= 0, got -1"),
    (lambda: LRScheduler(object(), cosine(5)), TypeError, r"param_groups"),
    (lambda: LRScheduler(SGD([Param([1.0])], lr=0.1), lambda s: 1.0), TypeError,
     r"schedule must be a schedule"),
])
def test_bad_schedule_arguments_are_rejected_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()
