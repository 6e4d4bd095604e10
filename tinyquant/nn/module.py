"""``Module`` and ``Parameter``: the containers layers and models are built from.

A Module registers, by attribute assignment, three kinds of members (PyTorch's rules):

* ``Parameter`` -- a Tensor the optimizer trains (``self.weight = Parameter(...)``);
* sub-``Module`` -- its parameters become ours, under a dotted name (``"conv1.weight"``);
* buffers -- arrays that are state but not trained (batch-norm running statistics),
  declared with ``self.register_buffer(name, array)``.

``train()`` / ``eval()`` set ``.training`` on the module and all its children; a mode
is per module, never a global flag. ``state_dict()`` is a flat ``{name: ndarray}`` of
parameters and buffers (what a checkpoint stores); ``load_state_dict`` copies values
*into* the existing arrays so that optimizers holding the parameters stay valid, and is
atomic: every entry is checked (name, shape, dtype kind, finiteness) before the first
one is written, so a bad state leaves the module as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a trainable parameter of a Module (``requires_grad=True``)."""

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` returns (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models (see the module docstring)."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    # --------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if name in self._buffers and isinstance(value, np.ndarray):   # stays a buffer (PyTorch)
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """State saved in ``state_dict`` but not trained (e.g. running statistics)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    # ------------------------------------------------------------ traversal
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, depth first, in definition order."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule, children before parents (as PyTorch),
        then on this module; returns this module. E.g. ``model.apply(init_weights)``."""
        if not callable(fn):
            raise TypeError(f"apply: fn must be callable as fn(module), got {type(fn).__name__}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: b.copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state``'s values in place into the parameters and buffers it names.

        ``strict=True``: the names must match exactly (else ValueError listing the missing
        and unexpected keys). ``strict=False``: entries present on both sides are loaded,
        the rest are left alone and reported. Either way returns ``(missing_keys,
        unexpected_keys)`` like PyTorch. Each value to load must be a numeric array with
        the target's shape, of the same kind (floating into floating -- float64 is cast to
        a float32 target --, integer into integer, bool into bool), and finite. Every
        entry is checked before any is written: on an error nothing has changed.
        """
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"load_state_dict: strict must be a bool, got {strict!r}")
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise TypeError(f"load_state_dict: state must be a mapping of name -> array, "
                            f"got {type(state).__name__}")
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(dict(self.named_buffers()))
        keys = IncompatibleKeys(sorted(set(targets) - set(state)), sorted(set(state) - set(targets)))
        if strict and (keys.missing_keys or keys.unexpected_keys):
            raise ValueError(f"load_state_dict: missing keys {keys.missing_keys}, "
                             f"unexpected keys {keys.unexpected_keys}")
        values = {name: _checked_entry(name, state[name], target)
                  for name, target in targets.items() if name in state}
        for name, value in values.items():      # all checked: assigning cannot fail now
            targets[name][...] = value
        return keys

    # -------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + ("\n)" if children else ")")


def _checked_entry(name: str, value, target: np.ndarray) -> np.ndarray:
    """``value`` as an array ready to be written into ``target``, or a ValueError/TypeError."""
    if not isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        raise TypeError(f"load_state_dict: {name!r} must be an array, got {type(value).__name__}")
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"load_state_dict: {name!r} has shape {value.shape}, expected {target.shape}")
    kind = {"f": "floating", "b": "bool", "i": "integer", "u": "integer"}
    want, got = kind.get(target.dtype.kind), kind.get(value.dtype.kind)
    if got is None or got != want:
        raise TypeError(f"load_state_dict: {name!r} has dtype {value.dtype}, expected a {want} "
                        f"array like the module's {target.dtype}")
    if want == "floating":
        with np.errstate(over="ignore"):
            value = value.astype(target.dtype, copy=False)       # a float64 1e300 becomes inf here
        finite = np.isfinite(value)
        if not finite.all():
            raise ValueError(f"load_state_dict: {name!r} has {finite.size - np.count_nonzero(finite)} "
                             f"non-finite value(s) in {target.dtype} (NaN or inf); expected finite numbers")
    return value
