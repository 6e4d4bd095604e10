"""Every scheduled STE parameter in one place, and the callback that applies them.

Some estimators change shape during training. Each schedule maps the fraction of
training done, p = ``trainer.progress`` ∈ [0, 1], to the STE's parameters:

    ab_tanh, ab_arctan   f = 0.2 + 0.6·p                    (seed 004, §4.3: linear 0.2 → 0.8)
    ede                  t = T_min·(T_max/T_min)^p,  k = max(1/t, 1),  T_min = 0.1, T_max = 10
                                                            (IR-Net, eq. 13: t = T_min·10^(p·log10(T_max/T_min)))
    reste                o = 1 + 2·p                        (ReSTE: power 1 → 3, linear)

:class:`STEScheduler` sets them on every quantizer of the model at the start of
training and after every optimizer step, so a schedule is a pure function of progress
(and resuming from a checkpoint restores it exactly).
"""

from __future__ import annotations

import json

import numpy as np

from ..train.callbacks import Callback
from .ste import STE


def ab_blend(p: float, start: float = 0.2, end: float = 0.8) -> dict:
    return {"f": start + (end - start) * p}


def ede(p: float, t_min: float = 0.1, t_max: float = 10.0) -> dict:
    t = t_min * (t_max / t_min) ** p
    return {"t": t, "k": max(1.0 / t, 1.0)}


def reste(p: float, o_start: float = 1.0, o_end: float = 3.0) -> dict:
    return {"o": o_start + (o_end - o_start) * p}


#: STE name -> schedule p -> parameters. STEs not listed keep their parameters.
SCHEDULES = {"ab_tanh": ab_blend, "ab_arctan": ab_blend, "ede": ede, "reste": reste}


def apply_schedule(ste: STE, progress: float) -> dict:
    """Set ``ste``'s scheduled parameters for ``progress`` ∈ [0, 1]; return them ({} if none)."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"apply_schedule: progress must be in [0, 1], got {progress!r}")
    schedule = SCHEDULES.get(ste.name)
    if schedule is None:
        return {}
    values = schedule(progress)
    for key, value in values.items():
        setattr(ste, key, value)
    ste.check()
    return values


def scheduled_stes(model) -> list[STE]:
    """The distinct STE instances held by the quantizers of ``model`` (attribute ``ste``)."""
    found, seen = [], set()
    for module in model.modules():
        ste = getattr(module, "ste", None)
        if isinstance(ste, STE) and ste.name in SCHEDULES and id(ste) not in seen:
            seen.add(id(ste))
            found.append(ste)
    return found


class STEScheduler(Callback):
    """Move every scheduled STE of ``trainer.model`` with ``trainer.progress``.

    ``history`` records (global_step, {name: params}) once per epoch, for plotting.
    """

    def __init__(self):
        self.history: list[tuple[int, dict]] = []

    def _apply(self, trainer) -> dict:
        values = {}
        for ste in scheduled_stes(trainer.model):
            values[ste.name] = apply_schedule(ste, trainer.progress)
        return values

    def on_train_begin(self, trainer):
        self._apply(trainer)

    def on_step_end(self, trainer):
        self._apply(trainer)

    def on_epoch_end(self, trainer, epoch, logs):
        self.history.append((trainer.global_step, self._apply(trainer)))

    def state_dict(self):
        """The history (the STEs' parameters follow ``trainer.progress``, which is saved)."""
        return {"history": np.asarray(json.dumps(self.history))}

    def load_state_dict(self, state):
        try:
            history = json.loads(str(state["history"]))
        except (KeyError, ValueError) as err:
            raise ValueError(f"STEScheduler.load_state_dict: bad 'history' ({err})") from None
        if not isinstance(history, list):
            raise ValueError("STEScheduler.load_state_dict: 'history' must be a list")
        self.history = [tuple(item) for item in history]
