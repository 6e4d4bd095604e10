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
diagnostics) overrides ``state_dict()`` / ``load_state_dict()`` (flat ``{name: ndarray}``)
so that checkpoints resume it exactly; the Trainer saves it under ``callback/<class name>/``.
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

    def state_dict(self) -> dict:
        """What a checkpoint keeps of this callback (nothing, by default)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class EpochLog(Callback):
    """Print one line per finished epoch as it finishes (``print`` by default; through
    ``tqdm.write`` when progress bars are shown, so the lines do not tear them)."""

    def __init__(self, write=None):
        self.write = write

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        parts = [f"epoch {logs['epoch']:3d}", f"loss {logs['train_loss']:.4f}",
                 f"train acc {logs['train_accuracy']:.4f}"]
        for key, label in (("val_accuracy", "val acc"), ("test_accuracy", "test acc")):
            if key in logs and not (key == "test_accuracy" and "selected_epoch" in logs):
                parts.append(f"{label} {logs[key]:.4f}")
        line = "  ".join(parts) + f"  ({logs['seconds']:.1f}s)"
        if "selected_epoch" in logs:
            line += (f"\nselected epoch {logs['selected_epoch']} (best validation accuracy "
                     f"{logs['selected_val_accuracy']:.4f}): test accuracy "
                     f"{logs['test_accuracy']:.4f}")
        if self.write is not None:
            self.write(line)
        else:
            print(line, flush=True)


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_step_end=clip_weights)``."""

    def __init__(self, **hooks):
        names = {n for n in dir(Callback) if n.startswith("on_")}
        unknown = set(hooks) - names
        if unknown:
            raise ValueError(f"LambdaCallback: unknown hooks {sorted(unknown)}; known: {sorted(names)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
