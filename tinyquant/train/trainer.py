"""The training loop: epochs, evaluation, callbacks, checkpoints, exact resumption.

One optimization step is delegated to a *regime* object -- ``regime.step(trainer, x, y)``
runs forward, backward and the update(s) and returns ``(loss, logits)`` -- so that
BinaryConnect, rounding-only training or alternating threshold/weight updates plug in
without a second training loop. :class:`StandardRegime` is plain backprop + one step.

Reproducibility: the model is initialized by its own seeded Generator; the loaders
shuffle and augment from ``(seed, epoch)``; everything else random in training (e.g.
stochastic rounding) draws from ``trainer.rng``, a child stream of ``seed``
(:func:`tinyquant.rng.derived_generator`) independent of the model's. A checkpoint holds the
model, the optimizer, the schedule position, the loader's position, the state of
``trainer.rng`` and of every Generator inside the model (stochastic quantizers'), the
regime's and every stateful callback's state (named ``regime`` and ``callback/<Class>``),
the epoch and the history, so that resuming after epoch k gives bit-identical parameters
to an uninterrupted run (tests/reliability/test_exact_resume.py kills a real process).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..autograd import no_grad
from ..ops import cross_entropy
from ..rng import TRAINER_STREAM, derived_generator
from ..tensor import Tensor
from .callbacks import Callback
from .checkpoint import (CheckpointError, check_trainer_state, load_checkpoint,
                         remove_stale_temporaries, save_checkpoint, split_prefix, with_prefix)
from .streams import generator_state, generator_states, load_generator_states, set_generator_state


class NonFiniteLossError(ValueError):
    """The loss became NaN or infinite; the message names the epoch and the step."""


class EmptyEpochError(ValueError):
    """A loader produced no batches, so an epoch has no loss or accuracy (never reported as 0)."""


def _describe(loader) -> str:
    fields = ("num_samples", "batch_size", "drop_last")
    found = [f"{f}={getattr(loader, f)!r}" for f in fields if hasattr(loader, f)]
    return ", ".join(found) or type(loader).__name__


class Regime:
    """The interface of an update rule (``Trainer(regime=...)``).

    ``step(trainer, x, y)`` runs forward, backward and the update(s) of one batch and returns
    ``(loss, logits)``; ``on_train_begin(trainer)`` runs before the callbacks' (so they see
    the regime's start state); ``state_dict()`` / ``load_state_dict(state)`` carry state
    across a resume (flat ``{name: ndarray}``; saved under ``regime/``). Every hook but
    ``step`` defaults to doing nothing.
    """

    def step(self, trainer: "Trainer", x: np.ndarray, y: np.ndarray):
        raise NotImplementedError(f"{type(self).__name__}.step")

    def on_train_begin(self, trainer: "Trainer") -> None:
        pass

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        pass


class StandardRegime(Regime):
    """One step of ordinary training: forward, cross-entropy, backward, optimizer step."""

    def step(self, trainer: "Trainer", x: np.ndarray, y: np.ndarray):
        logits = trainer.model(Tensor(x))
        loss = cross_entropy(logits, y)
        trainer.check_loss(loss)
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        return loss, logits


class Trainer:
    """Train ``model`` with ``optimizer`` on ``train_loader`` for ``epochs`` epochs.

    ``scheduler`` (optional) is stepped once per batch. ``checkpoint_path`` (optional) is
    rewritten atomically at the end of every epoch, with ``metadata`` (``{key: str}``, e.g.
    the run's configuration as JSON under ``config``) beside the state. ``history`` is a
    list with one dict of metrics per epoch.

    Evaluation: with a ``val_loader``, it is evaluated after every epoch (``val_loss``,
    ``val_accuracy``), the epoch with the best validation accuracy (of ties, the one with
    the lowest validation loss) is *selected* (its weights kept in ``best_state``), and ``test_loader`` is evaluated
    once, on the selected weights, when the last epoch ends: the last history entry gets
    ``selected_epoch``, ``test_loss`` and ``test_accuracy``. Without a ``val_loader``,
    ``test_loader`` is evaluated after every epoch (the final epoch is the result).

    Callbacks are :class:`Callback` instances and the regime a :class:`Regime`; their
    states are saved under stable names: ``callback/<class name>/`` (``.1``, ``.2`` ...
    appended for further instances of one class) and ``regime/``.
    """

    def __init__(self, model, optimizer, train_loader, test_loader=None, *, epochs: int = 1,
                 scheduler=None, callbacks=(), regime=None, seed: int = 0,
                 show_progress: bool = True, checkpoint_path=None, val_loader=None,
                 metadata: dict | None = None):
        if not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"Trainer: epochs must be a positive integer, got {epochs!r}")
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback instances, got {type(cb).__name__}")
        if regime is not None and not isinstance(regime, Regime):
            raise TypeError(f"Trainer: regime must be a Regime instance (tinyquant.train.Regime), "
                            f"got {type(regime).__name__}")
        self.model, self.optimizer = model, optimizer
        self.train_loader, self.test_loader, self.val_loader = train_loader, test_loader, val_loader
        self.epochs, self.scheduler = int(epochs), scheduler
        self.callbacks = list(callbacks)
        self.regime = regime if regime is not None else StandardRegime()
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        self.best_epoch, self.best_val_accuracy, self.best_val_loss = 0, -1.0, float("inf")
        self.best_state = None
        self.rng = derived_generator(seed, TRAINER_STREAM)   # independent of the model's init stream
        self.show_progress = show_progress
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.epoch = 0          # epochs completed
        self.global_step = 0    # optimizer steps taken
        self.history: list[dict] = []

    # ------------------------------------------------------------- progress
    @property
    def steps_per_epoch(self) -> int:
        return len(self.train_loader)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def progress(self) -> float:
        """Fraction of training done, in [0, 1] (scheduled STE parameters follow it)."""
        return min(self.global_step / max(self.total_steps, 1), 1.0)

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def check_loss(self, loss: Tensor) -> None:
        """Stop with a clear error if the loss is NaN or infinite."""
        value = float(loss.data)
        if not np.isfinite(value):
            raise NonFiniteLossError(
                f"loss is {value} at epoch {self.epoch + 1}, step {self.global_step + 1} "
                f"(global); lower the learning rate or check the inputs"
            )

    # ------------------------------------------------------------- training
    def fit(self) -> list[dict]:
        """Train from the current epoch to ``epochs``; return the history."""
        if self.checkpoint_path is not None:   # left by a write that was killed
            remove_stale_temporaries(self.checkpoint_path)
        self.regime.on_train_begin(self)   # before the callbacks: they see its start state
        self._call("on_train_begin")
        for epoch in range(self.epoch, self.epochs):
            self.train_one_epoch(epoch)
            if self.checkpoint_path is not None:
                self.save(self.checkpoint_path)
        self._call("on_train_end")
        return self.history

    def test_selected(self) -> dict:
        """Evaluate ``test_loader`` once on the selected (best validation) weights and put the
        result in the last history entry; the model's own weights are left as they were."""
        final = self.model.state_dict()
        self.model.load_state_dict(self.best_state)
        try:
            test = self.evaluate(self.test_loader)
        finally:
            self.model.load_state_dict(final)
        result = {"selected_epoch": self.best_epoch, "selected_val_accuracy": self.best_val_accuracy,
                  "test_loss": test["loss"], "test_accuracy": test["accuracy"]}
        self.history[-1].update(result)
        return result

    def train_one_epoch(self, epoch: int) -> dict:
        self.model.train()
        self._call("on_epoch_begin", epoch)
        self.train_loader.epoch = epoch  # shuffling and augmentation follow (seed, epoch)
        start, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        bar = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{self.epochs}",
                   disable=not self.show_progress, leave=False, unit="batch")
        for x, y in bar:
            loss, logits = self.regime.step(self, x, y)
            self.global_step += 1
            if self.scheduler is not None:
                self.scheduler.step()
            self._call("on_step_end")
            batch_correct = int((logits.data.argmax(axis=1) == y).sum())
            loss_value = float(loss.data)
            seen += len(y)
            loss_sum += loss_value * len(y)
            correct += batch_correct
            self._call("on_batch_end", {"loss": loss_value, "accuracy": batch_correct / len(y)})
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        if seen == 0:
            raise EmptyEpochError(f"Trainer: epoch {epoch + 1} had no training batches "
                                  f"({_describe(self.train_loader)}); there is no loss or accuracy to "
                                  f"report. Lower the batch size or set drop_last=False")
        logs = {"epoch": epoch + 1, "train_loss": loss_sum / seen,
                "train_accuracy": correct / seen,
                "lr": float(self.optimizer.param_groups[0]["lr"])}
        if self.val_loader is not None:
            val = self.evaluate(self.val_loader)
            logs.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
            if (val["accuracy"], -val["loss"]) > (self.best_val_accuracy, -self.best_val_loss):
                self.best_epoch, self.best_val_accuracy = epoch + 1, val["accuracy"]
                self.best_val_loss = val["loss"]
                self.best_state = {k: v.copy() for k, v in self.model.state_dict().items()}
        elif self.test_loader is not None:
            test = self.evaluate(self.test_loader)
            logs.update(test_loss=test["loss"], test_accuracy=test["accuracy"])
        logs["seconds"] = time.perf_counter() - start
        self.epoch = epoch + 1
        self.history.append(logs)
        if self.val_loader is not None and self.test_loader is not None and self.epoch == self.epochs:
            self.test_selected()   # once, at the end, on the weights selected by validation
        self._call("on_epoch_end", epoch, logs)
        return logs

    def evaluate(self, loader) -> dict:
        """Mean loss and accuracy over ``loader`` in evaluation mode (no graph is built)."""
        was_training = self.model.training
        self.model.eval()
        seen, loss_sum, correct = 0, 0.0, 0
        with no_grad():
            for x, y in loader:
                logits = self.model(Tensor(x))
                loss_sum += float(cross_entropy(logits, y).data) * len(y)
                correct += int((logits.data.argmax(axis=1) == y).sum())
                seen += len(y)
        self.model.train(was_training)
        if seen == 0:
            raise EmptyEpochError(f"Trainer.evaluate: the loader yielded no batches "
                                  f"({_describe(loader)}); there is no loss or accuracy to report")
        return {"loss": loss_sum / seen, "accuracy": correct / seen}

    # ---------------------------------------------------------- checkpoints
    def _stateful(self) -> list[tuple[str, object]]:
        """(stable name, object) of the regime and every callback (their ``state_dict`` is
        part of their interface, empty by default): a callback is named by its class, with
        ``.1``, ``.2`` ... only among callbacks of the same class, so that adding another kind
        of callback does not rename the others' state."""
        named, seen = [("regime", self.regime)], {}
        for cb in self.callbacks:
            kind = type(cb).__name__
            count = seen.get(kind, 0)
            seen[kind] = count + 1
            named.append((f"callback/{kind}" + (f".{count}" if count else ""), cb))
        return named

    @property
    def callback_names(self) -> list[str]:
        """The callbacks' checkpoint names, in order (``Counter``, ``Counter.1``, ...)."""
        return [name.split("/", 1)[1] for name, _ in self._stateful()[1:]]

    def state_dict(self) -> dict[str, np.ndarray]:
        state = with_prefix(self.model.state_dict(), "model")
        state.update(with_prefix(self.optimizer.state_dict(), "optimizer"))
        if self.scheduler is not None:
            state.update(with_prefix(self.scheduler.state_dict(), "scheduler"))
        for name, obj in self._stateful():
            state.update(with_prefix(obj.state_dict(), name))
        if self.best_state is not None:
            state.update(with_prefix(self.best_state, "best/model"))
            state["trainer/best_epoch"] = np.asarray(self.best_epoch)
            state["trainer/best_val_accuracy"] = np.asarray(self.best_val_accuracy)
            state["trainer/best_val_loss"] = np.asarray(self.best_val_loss)
        for key, value in self.metadata.items():
            state[key] = np.asarray(value)
        state.update(with_prefix(generator_states(self.model), "streams"))
        if hasattr(self.train_loader, "state_dict"):
            state.update(with_prefix(self.train_loader.state_dict(), "loader"))
        state["trainer/epoch"] = np.asarray(self.epoch)
        state["trainer/global_step"] = np.asarray(self.global_step)
        state["trainer/rng"] = generator_state(self.rng)
        state["trainer/history"] = np.asarray(json.dumps(self.history))
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict` output, all or nothing: a state that does not fit this
        trainer (its epoch, step count or history inconsistent, a part refused by the model,
        optimizer, scheduler, a callback, or a stream missing) raises a ValueError and leaves
        the trainer as it was."""
        check_trainer_state(state, self.epochs, self.steps_per_epoch)
        before = self.state_dict()
        try:
            self._load_parts(state)
        except BaseException:
            self._load_parts(before)
            raise

    def _load_parts(self, state: dict[str, np.ndarray]) -> None:
        epoch, global_step, history = check_trainer_state(state, self.epochs, self.steps_per_epoch)
        self.model.load_state_dict(split_prefix(state, "model"))
        self.optimizer.load_state_dict(split_prefix(state, "optimizer"))
        if self.scheduler is not None:
            self.scheduler.load_state_dict(split_prefix(state, "scheduler"))
        for name, obj in self._stateful():
            obj.load_state_dict(split_prefix(state, name))
        best = split_prefix(state, "best/model")
        if best:
            self.best_state = best
            self.best_epoch = int(state["trainer/best_epoch"])
            self.best_val_accuracy = float(state["trainer/best_val_accuracy"])
            self.best_val_loss = float(state["trainer/best_val_loss"])
        load_generator_states(self.model, split_prefix(state, "streams"))
        loader = split_prefix(state, "loader")
        if loader and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(loader)
        self.epoch, self.global_step, self.history = epoch, global_step, history
        set_generator_state(self.rng, state["trainer/rng"], "trainer/rng")

    def save(self, path) -> Path:
        """Write a checkpoint atomically (see :mod:`tinyquant.train.checkpoint`)."""
        return save_checkpoint(path, self.state_dict())

    def load(self, path) -> None:
        """Restore a checkpoint; ``fit()`` then continues from the next epoch. Any mismatch
        raises a :class:`CheckpointError` naming the file."""
        state = load_checkpoint(path)
        try:
            self.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint {str(path)!r} does not fit this run: "
                                  f"{str(err).strip(chr(39))}") from None
