"""Callbacks: code that watches (or steers) training without changing the Trainer.

The Trainer calls, in this order::

    on_train_begin(trainer)
    for each epoch:  on_epoch_begin(trainer, epoch)
        for each batch:  (the regime's step: forward, backward, optimizer step)
                         on_step_end(trainer)          # right after the update
                         on_batch_end(trainer, logs)   # logs: loss, accuracy of the batch
        on_epoch_end(trainer, epoch, logs)             # logs: train/test loss and accuracy
    on_train_end(trainer)

A callback that carries state across epochs (a schedule position, recorded
diagnostics) implements ``state_dict()`` / ``load_state_dict()`` returning flat
``{name: ndarray}`` so that checkpoints resume it exactly.
"""

from __future__ import annotations


class Callback:
    """Base class: every hook is a no-op."""

    def on_train_begin(self, trainer) -> None:
        pass

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        pass

    def on_step_end(self, trainer) -> None:
        pass

    def on_batch_end(self, trainer, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_step_end=clip_weights)``."""

    def __init__(self, **hooks):
        names = {n for n in dir(Callback) if n.startswith("on_")}
        unknown = set(hooks) - names
        if unknown:
            raise ValueError(f"LambdaCallback: unknown hooks {sorted(unknown)}; known: {sorted(names)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
