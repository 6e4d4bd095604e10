"""Random streams in checkpoints: a ``numpy.random.Generator``'s state as JSON text.

``Generator.bit_generator.state`` is a small dict of ints and strings (PCG64: the 128-bit
state and increment, a buffered 32-bit half); stored as a JSON string in a NumPy unicode
array it goes into an ``.npz`` without pickle and comes back exactly. :func:`generator_states`
finds every Generator a model's modules hold (the stochastic quantizers' ``rng``), by module
path and attribute, so that resuming continues each stream where it stopped.
"""

from __future__ import annotations

import json

import numpy as np


def generator_state(rng: np.random.Generator) -> np.ndarray:
    """The state of ``rng`` as a 0-d unicode array holding JSON (arrays in a state, such
    as MT19937's key, become lists)."""
    return np.asarray(json.dumps(rng.bit_generator.state, default=lambda a: a.tolist()))


def set_generator_state(rng: np.random.Generator, saved, name: str) -> None:
    """Restore ``rng`` from :func:`generator_state` output; a ValueError names ``name``
    if the text is not a state of the same kind of bit generator."""
    try:
        state = json.loads(str(np.asarray(saved)))
        if not isinstance(state, dict) or state.get("bit_generator") != rng.bit_generator.state["bit_generator"]:
            raise ValueError(f"expected a {rng.bit_generator.state['bit_generator']} state")
        rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"random stream {name!r}: cannot restore its state ({err})") from None


def model_generators(model) -> dict[str, np.random.Generator]:
    """``{"<module path>.<attribute>": Generator}`` for every Generator held by a module."""
    found = {}
    for path, module in model.named_modules():
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, np.random.Generator):
                found[f"{path}.{attr}" if path else attr] = value
    return found


def generator_states(model) -> dict[str, np.ndarray]:
    return {name: generator_state(rng) for name, rng in model_generators(model).items()}


def load_generator_states(model, state: dict) -> None:
    """Restore every Generator of ``model``; one missing from ``state`` (or one ``state`` has
    that the model lacks) raises a ValueError naming it."""
    generators = model_generators(model)
    missing, extra = sorted(set(generators) - set(state)), sorted(set(state) - set(generators))
    if missing or extra:
        raise ValueError(f"random streams of the model: the checkpoint lacks {missing} and has "
                         f"unknown {extra}")
    for name, rng in generators.items():
        set_generator_state(rng, state[name], name)
