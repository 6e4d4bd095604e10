"""Learning-rate schedules: step count -> multiplicative factor, and the ``LRScheduler``.

A schedule maps the number of scheduler steps taken so far, s = 0, 1, 2, ..., to a factor
f(s); ``LRScheduler`` sets every param group's ``lr = initial_lr * f(s)``. Schedules only
count steps: the trainer steps the scheduler once per *batch*, so s is the number of
optimizer updates already done and update number s (from 0) uses lr * f(s). To schedule
per epoch instead, call ``scheduler.step()`` once per epoch and give the lengths in epochs.

    constant(value=1.0)                     f(s) = value
    step_decay(step_size, gamma)            f(s) = gamma ** (s // step_size),  gamma in [0, 1]
    multistep(milestones, gamma)            f(s) = gamma ** #{milestones m <= s}
    cosine(total_steps, final_factor=0)     f(s) = ff + (1 - ff) * (1 + cos(pi * s / T)) / 2
                                                   for s <= T, and ff after T (no restart)
    linear_warmup(W, then, start_factor=0)  f(s) = sf + (1 - sf) * s / W     for s < W,
                                            f(s) = then(s - W)                for s >= W
    sequential(schedules, milestones)       schedule k from milestone k-1 on, its own
                                            step count restarting at 0 there
    constant_then(value, steps, then)       = sequential([constant(value), then], [steps])
    a * b                                   f(s) = a(s) * b(s)

Hand-over convention: a schedule that follows another (``then=`` of ``linear_warmup``, the
later parts of ``sequential``) sees its step count restart at 0, so ``cosine(T)`` after a
W-step warm-up runs over steps W .. W + T. UniQ's warm-up for 1-bit training -- a small
constant lr for the first epochs, then the schedule -- is
``constant_then(0.1, warm_steps, then=cosine(total_steps - warm_steps))``.

Each schedule's ``repr`` is the call that builds it, e.g.
``linear_warmup(5, then=cosine(100, final_factor=0.0), start_factor=0.0)``.
"""

from __future__ import annotations

import bisect
import math
import numbers

import numpy as np

from .optimizer import check_real


def _check_int(owner: str, name: str, value, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value!r}")
    return int(value)


def _check_milestones(owner: str, milestones) -> list[int]:
    milestones = [_check_int(owner, "milestones", m, 1) for m in milestones]
    if any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"{owner}: milestones must be strictly increasing, got {milestones}")
    return milestones


def _check_schedule(owner: str, name: str, value) -> "Schedule":
    if not isinstance(value, Schedule):
        raise TypeError(f"{owner}: {name} must be a schedule (e.g. cosine(100)), got {value!r}")
    return value


class Schedule:
    """Base class: ``factor(step)`` checks the step and calls ``_factor``; ``a * b`` multiplies."""

    def factor(self, step: int) -> float:
        return float(self._factor(_check_int(type(self).__name__, "step", step, 0)))

    __call__ = factor

    def _factor(self, step: int) -> float:
        raise NotImplementedError

    def __mul__(self, other: "Schedule") -> "Schedule":
        return Product(self, _check_schedule("Schedule *", "the right operand", other))


class Constant(Schedule):
    def __init__(self, value: float = 1.0):
        self.value = check_real("constant", "value", value)

    def _factor(self, step):
        return self.value

    def __repr__(self):
        return f"constant({self.value!r})"


class StepDecay(Schedule):
    def __init__(self, step_size: int, gamma: float):
        self.step_size = _check_int("step_decay", "step_size", step_size, 1)
        self.gamma = check_real("step_decay", "gamma", gamma, 0.0, 1.0)

    def _factor(self, step):
        return self.gamma ** (step // self.step_size)

    def __repr__(self):
        return f"step_decay({self.step_size}, gamma={self.gamma!r})"


class MultiStep(Schedule):
    def __init__(self, milestones, gamma: float):
        self.milestones = _check_milestones("multistep", milestones)
        self.gamma = check_real("multistep", "gamma", gamma, 0.0, 1.0)

    def _factor(self, step):
        return self.gamma ** bisect.bisect_right(self.milestones, step)

    def __repr__(self):
        return f"multistep({self.milestones}, gamma={self.gamma!r})"


class Cosine(Schedule):
    def __init__(self, total_steps: int, final_factor: float = 0.0):
        self.total_steps = _check_int("cosine", "total_steps", total_steps, 1)
        self.final_factor = check_real("cosine", "final_factor", final_factor)

    def _factor(self, step):
        s, ff = min(step, self.total_steps), self.final_factor
        return ff + (1 - ff) * (1 + math.cos(math.pi * s / self.total_steps)) / 2

    def __repr__(self):
        return f"cosine({self.total_steps}, final_factor={self.final_factor!r})"


class LinearWarmup(Schedule):
    def __init__(self, warmup_steps: int, then: Schedule | None = None, start_factor: float = 0.0):
        self.warmup_steps = _check_int("linear_warmup", "warmup_steps", warmup_steps, 0)
        then = Constant(1.0) if then is None else then
        self.then = _check_schedule("linear_warmup", "then", then)
        self.start_factor = check_real("linear_warmup", "start_factor", start_factor, 0.0, 1.0)

    def _factor(self, step):
        if step < self.warmup_steps:
            sf = self.start_factor
            return sf + (1 - sf) * step / self.warmup_steps
        return self.then.factor(step - self.warmup_steps)

    def __repr__(self):
        return (f"linear_warmup({self.warmup_steps}, then={self.then!r}, "
                f"start_factor={self.start_factor!r})")


class Sequential(Schedule):
    def __init__(self, schedules, milestones):
        self.schedules = [_check_schedule("sequential", f"schedules[{i}]", s)
                          for i, s in enumerate(schedules)]
        self.milestones = _check_milestones("sequential", milestones)
        if not self.schedules or len(self.milestones) != len(self.schedules) - 1:
            raise ValueError(f"sequential: needs len(milestones) == len(schedules) - 1 >= 0, got "
                             f"{len(self.schedules)} schedules and milestones {self.milestones}")

    def _factor(self, step):
        k = bisect.bisect_right(self.milestones, step)
        start = self.milestones[k - 1] if k > 0 else 0
        return self.schedules[k].factor(step - start)

    def __repr__(self):
        return f"sequential({self.schedules!r}, milestones={self.milestones})"


class Product(Schedule):
    def __init__(self, *factors: Schedule):
        self.factors = [_check_schedule("product", "a factor", f) for f in factors]

    def _factor(self, step):
        return math.prod(f.factor(step) for f in self.factors)

    def __repr__(self):
        return " * ".join(repr(f) for f in self.factors)


# The constructors (lower case, as they appear in the reprs).
constant = Constant
step_decay = StepDecay
multistep = MultiStep
cosine = Cosine
linear_warmup = LinearWarmup
sequential = Sequential


def constant_then(value: float, steps: int, then: Schedule) -> Schedule:
    """A constant factor ``value`` for ``steps`` steps, then ``then`` (its count from 0)."""
    return Sequential([Constant(value), then], [steps])


class LRScheduler:
    """Sets ``group["lr"] = group["initial_lr"] * schedule.factor(last_step)`` for every group.

    On construction each group's ``initial_lr`` is set to its current ``lr`` (kept if the
    group already has one, e.g. from a loaded optimizer state), ``last_step = 0`` and the
    factor f(0) is applied at once; each ``step()`` adds one to ``last_step`` and applies
    f(last_step). Use one scheduler per optimizer and compose schedules instead of stacking
    schedulers. ``state_dict()`` is flat: ``"last_step"``, ``"schedule"`` (its repr, checked
    on load so a resumed run cannot silently change schedule) and ``"group{i}.initial_lr"``.
    """

    def __init__(self, optimizer, schedule: Schedule):
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise TypeError(f"LRScheduler: optimizer must have a param_groups list, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.schedule = _check_schedule("LRScheduler", "schedule", schedule)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.last_step = 0
        self._apply()

    def step(self) -> None:
        self.last_step += 1
        self._apply()

    def _apply(self) -> None:
        f = self.schedule.factor(self.last_step)
        if not (np.isfinite(f) and f >= 0):
            raise ValueError(f"LRScheduler: {self.schedule!r} gave factor {f!r} at step "
                             f"{self.last_step}; expected a finite number >= 0")
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * f

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {"last_step": np.array(self.last_step, dtype=np.int64),
               "schedule": np.array(repr(self.schedule))}
        for i, group in enumerate(self.optimizer.param_groups):
            out[f"group{i}.initial_lr"] = np.array(float(group["initial_lr"]))
        return out

    def load_state_dict(self, state_dict) -> None:
        groups = self.optimizer.param_groups
        expected = {"last_step", "schedule"} | {f"group{i}.initial_lr" for i in range(len(groups))}
        if set(state_dict) != expected:
            raise ValueError(f"LRScheduler.load_state_dict: expected keys {sorted(expected)}, got "
                             f"{sorted(state_dict)}")
        saved = str(np.asarray(state_dict["schedule"]))
        if saved != repr(self.schedule):
            raise ValueError(f"LRScheduler.load_state_dict: the state was saved with schedule "
                             f"{saved} but this scheduler has {self.schedule!r}")
        last_step = np.asarray(state_dict["last_step"])
        if last_step.shape != ():
            raise ValueError(f"LRScheduler.load_state_dict: last_step must be 0-d, got shape "
                             f"{last_step.shape}")
        last_step = _check_int("LRScheduler.load_state_dict", "last_step", last_step.item(), 0)
        initial = [check_real("LRScheduler.load_state_dict", f"group{i}.initial_lr",
                              np.asarray(state_dict[f"group{i}.initial_lr"]).item())
                   for i in range(len(groups))]
        for group, lr in zip(groups, initial):
            group["initial_lr"] = lr
        self.last_step = last_step
        self._apply()

    def __repr__(self) -> str:
        return f"LRScheduler({self.schedule!r}, last_step={self.last_step})"
