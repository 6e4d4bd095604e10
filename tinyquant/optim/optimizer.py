"""``Optimizer``: the base class of SGD and Adam -- parameter groups, state, checkpoints.

A *parameter* is any object with ``.data`` (a floating-point ``np.ndarray``, updated in
place) and ``.grad`` (an array of the same shape, or ``None``: the parameter is skipped).

``params`` is either an iterable of parameters or a list of *param groups* (PyTorch's
convention), dicts ``{"params": [...], "lr": ..., "weight_decay": ..., ...}``. A group's
missing hyperparameters are filled from the optimizer's defaults, so

    SGD([{"params": weights}, {"params": thresholds, "weight_decay": 0.0}],
        lr=0.1, weight_decay=5e-4)

decays the weights and not the thresholds. A group may hold only the optimizer's own
hyperparameter keys, plus ``"initial_lr"`` (written by :class:`~tinyquant.optim.LRScheduler`).

Parameters are numbered by their position across groups (group 0 first). ``state[i]`` is
parameter ``i``'s per-parameter state (momentum buffer, Adam moments). ``state_dict()``
is flat and holds only arrays, so ``np.savez`` can store it without pickle:

    "group0.lr"                 0-d float array      one entry per hyperparameter
    "group0.betas"              shape-(2,) array     (tuples become 1-d arrays)
    "group0.params"             int array            the indices of the group's parameters
    "state.3.momentum_buffer"   array like param 3
    "state.3.step"              0-d int array

Every update is computed in the parameter's own dtype (hyperparameters are kept as Python
floats, which NumPy does not let widen a float32 array), and written into ``p.data``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

import numpy as np


def check_real(owner: str, name: str, value, low: float = 0.0, high: float | None = None,
               high_open: bool = False) -> float:
    """``float(value)`` after checking it is a finite real in [low, high] (or [low, high))."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    value = float(value)
    below_high = high is None or (value < high if high_open else value <= high)
    if not (np.isfinite(value) and value >= low and below_high):
        expected = (f"a finite number >= {low:g}" if high is None
                    else f"in [{low:g}, {high:g}{')' if high_open else ']'}")
        raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")
    return value


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses write the update.

    A subclass sets ``defaults`` (via ``super().__init__(params, defaults)``), the names of
    its per-parameter state in ``state_names`` (those in ``scalar_state`` are 0-d), checks
    a group's hyperparameters in ``_check_group`` and writes the update equations in
    ``_update(data, grad, state, group)``.
    """

    state_names: tuple[str, ...] = ()
    scalar_state: tuple[str, ...] = ()

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}
        name = type(self).__name__
        if hasattr(params, "data") or isinstance(params, (Mapping, np.ndarray)):
            raise TypeError(f"{name}: params must be an iterable of parameters or a list of "
                            f"param-group dicts, got a single {type(params).__name__}")
        if not isinstance(params, Iterable):
            raise TypeError(f"{name}: params must be iterable, got {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        kinds = {isinstance(p, Mapping) for p in params}
        if kinds == {True, False}:
            raise TypeError(f"{name}: params mixes param-group dicts and bare parameters")
        groups = params if kinds == {True} else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # -------------------------------------------------------------- groups
    def add_param_group(self, group: Mapping) -> None:
        """Append a param group; missing hyperparameters are taken from ``defaults``."""
        name = type(self).__name__
        where = f"{name}: param group {len(self.param_groups)}"
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{where}: must be a dict with a 'params' key, got {group!r}")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr", "name"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; expected 'params', an optional 'name' "
                             f"and any of {sorted(self.defaults)}")
        params = group["params"]
        params = [params] if hasattr(params, "data") else list(params)
        if not params:
            raise ValueError(f"{where}: got an empty parameter list")
        seen = {id(p) for p in self._params()}
        for p in params:
            data = getattr(p, "data", None)
            if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.floating):
                got = f"{type(data).__name__} of dtype {data.dtype}" if isinstance(
                    data, np.ndarray) else type(data).__name__
                raise TypeError(f"{where}: a parameter needs a floating-point np.ndarray "
                                f"`.data`, got {type(p).__name__} with data {got}")
            if id(p) in seen:
                raise ValueError(f"{where}: a parameter appears more than once across groups")
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        full.update(self._check_group(full, where))
        self.param_groups.append(full)

    def _check_group(self, group: dict, where: str) -> dict:
        """Validated, normalised hyperparameters of ``group`` (subclasses extend)."""
        out = {"lr": check_real(where, "lr", group["lr"])}
        if "initial_lr" in group:
            out["initial_lr"] = check_real(where, "initial_lr", group["initial_lr"])
        return out

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    # -------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's ``.grad`` to ``None`` (or fill it with zeros in place)."""
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def step(self) -> None:
        """One update of every parameter whose ``.grad`` is not ``None``."""
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    grad = np.asarray(p.grad)
                    if grad.shape != p.data.shape:
                        raise ValueError(f"{type(self).__name__}: parameter {index} has data "
                                         f"shape {p.data.shape} but grad shape {grad.shape}")
                    grad = grad.astype(p.data.dtype, copy=False)
                    self._update(p.data, grad, self.state.setdefault(index, {}), group)
                index += 1

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        groups = []
        for g in self.param_groups:
            hyper = ", ".join(f"{k}={g[k]!r}" for k in g if k != "params")
            groups.append(f"  group({len(g['params'])} params, {hyper})")
        return f"{type(self).__name__}(\n" + "\n".join(groups) + "\n)"

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat ``{key: ndarray}`` copy of the hyperparameters and state (see module doc)."""
        out: dict[str, np.ndarray] = {}
        index = 0
        for g, group in enumerate(self.param_groups):
            n = len(group["params"])
            out[f"group{g}.params"] = np.arange(index, index + n, dtype=np.int64)
            for key, value in group.items():
                if key != "params":
                    out[f"group{g}.{key}"] = np.array(value)
            index += n
        for i, state in sorted(self.state.items()):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = np.array(value)  # a copy
        return out

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray]) -> None:
        """Restore ``state_dict()`` output exactly; nothing changes if a check fails.

        Checked, in this order: every key is ``group{g}.{hyperparameter}`` or
        ``state.{i}.{name}``; each group lists the same parameter indices as this optimizer's
        (so the parameter count per group matches); every hyperparameter is present, known
        and valid; state names are known, complete per parameter and shaped like their
        parameter. State arrays are copied and cast to the parameter's dtype.
        """
        name = f"{type(self).__name__}.load_state_dict"
        saved_groups: dict[int, dict] = {}
        saved_state: dict[int, dict] = {}
        for key in state_dict:
            head, _, rest = key.partition(".")
            index, _, field = rest.partition(".")
            if head.startswith("group") and head[5:].isdigit() and rest:
                saved_groups.setdefault(int(head[5:]), {})[rest] = np.asarray(state_dict[key])
            elif head == "state" and index.isdigit() and field:
                saved_state.setdefault(int(index), {})[field] = np.asarray(state_dict[key])
            else:
                raise ValueError(f"{name}: unexpected key {key!r}; expected 'group<g>.<name>' "
                                 f"or 'state.<i>.<name>'")
        extra = sorted(set(saved_groups) - set(range(len(self.param_groups))))
        if extra:
            raise ValueError(f"{name}: the state dict has group {extra[0]} but the optimizer "
                             f"has {len(self.param_groups)} group(s)")

        new_groups, first = [], 0
        for g, group in enumerate(self.param_groups):
            where = f"{name}: group {g}"
            saved = dict(saved_groups.get(g, {}))
            expected = np.arange(first, first + len(group["params"]))
            listed = saved.pop("params", None)
            if listed is None or not np.array_equal(listed, expected):
                raise ValueError(f"{where} holds {len(expected)} parameter(s) (indices "
                                 f"{first}..{expected[-1]}) but the state dict lists "
                                 f"{'no' if listed is None else listed.size} for it")
            missing = set(self.defaults) - set(saved)
            if missing:
                raise ValueError(f"{where}: missing hyperparameter(s) {sorted(missing)}")
            unknown = set(saved) - set(self.defaults) - {"initial_lr", "name"}
            if unknown:
                raise ValueError(f"{where}: unknown hyperparameter(s) {sorted(unknown)}")
            hyper = {k: (v.item() if v.ndim == 0 else tuple(v.tolist())) for k, v in saved.items()}
            hyper.update(self._check_group(hyper, where))
            new_groups.append(hyper)
            first += len(group["params"])

        params = self._params()
        new_state: dict[int, dict] = {}
        for i, saved in sorted(saved_state.items()):
            if i >= len(params):
                raise ValueError(f"{name}: the state dict has state for parameter {i} but the "
                                 f"optimizer has {len(params)} parameters")
            if set(saved) != set(self.state_names):
                raise ValueError(f"{name}: parameter {i} has state {sorted(saved)}; expected "
                                 f"all of {sorted(self.state_names)}")
            target = params[i].data
            for field, value in saved.items():
                if field in self.scalar_state:
                    if value.shape != ():
                        raise ValueError(f"{name}: 'state.{i}.{field}' must be 0-d, got shape "
                                         f"{value.shape}")
                    value = value.item()
                elif value.shape != target.shape:
                    raise ValueError(f"{name}: 'state.{i}.{field}' has shape {value.shape} but "
                                     f"parameter {i} has shape {target.shape}")
                else:
                    value = value.astype(target.dtype, copy=True)
                new_state.setdefault(i, {})[field] = value

        for group, hyper in zip(self.param_groups, new_groups):
            group.pop("initial_lr", None)
            group.update(hyper)
        self.state = new_state
