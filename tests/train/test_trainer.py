"""The Trainer: learning, callbacks, NaN detection and bit-identical resumption."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn, optim
from tinyquant.data import DataLoader
from tinyquant.train import (Callback, CheckpointError, EmptyEpochError, NonFiniteLossError,
                             StandardRegime, Trainer, load_checkpoint, save_checkpoint)


def blobs(n=120, seed=0):
    """Three Gaussian blobs in 4-D: an easy, deterministic classification problem."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = rng.standard_normal((3, 4)) * 3
    x = (centers[y] + rng.standard_normal((n, 4))).astype(np.float32)
    return x, y.astype(np.int64)


class NoisyRegime(StandardRegime):
    """Adds trainer.rng noise to the inputs, so resumption must restore the RNG too."""

    def step(self, trainer, x, y):
        x = x + 0.1 * trainer.rng.standard_normal(x.shape).astype(np.float32)
        return super().step(trainer, x, y)


def make_trainer(epochs, path=None, callbacks=()):
    x, y = blobs()
    model = nn.models.mlp(4, hidden=(16,), num_classes=3, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    sched = optim.LRScheduler(opt, optim.linear_warmup(5, then=optim.cosine(epochs * 4)))
    loader = DataLoader((x, y), 32, shuffle=True, drop_last=False, seed=7)
    return Trainer(model, opt, loader, DataLoader((x, y), 64), epochs=epochs, scheduler=sched,
                   callbacks=callbacks, regime=NoisyRegime(), seed=3, show_progress=False,
                   checkpoint_path=path)


def test_trainer_learns_an_easy_problem():
    history = make_trainer(6).fit()
    assert history[-1]["test_accuracy"] > 0.9
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_resuming_after_k_epochs_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    full = make_trainer(5)
    full.fit()
    first = make_trainer(5, path=tmp_path / "ck.npz")
    first.epochs = 2  # stop early, as an interrupted run would
    first.fit()
    resumed = make_trainer(5, path=tmp_path / "ck.npz")
    resumed.load(tmp_path / "ck.npz")
    assert resumed.epoch == 2 and resumed.global_step == first.global_step
    resumed.fit()
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert [h["train_loss"] for h in full.history] == [h["train_loss"] for h in resumed.history]


def test_same_seed_gives_the_same_run():
    a, b = make_trainer(2), make_trainer(2)
    a.fit(), b.fit()
    np.testing.assert_array_equal(a.model.parameters()[0].data, b.model.parameters()[0].data)


def test_callbacks_are_called_in_the_documented_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            events.append("train_begin")

        def on_epoch_begin(self, trainer, epoch):
            events.append(f"epoch_begin {epoch}")

        def on_step_end(self, trainer):
            events.append("step")

        def on_batch_end(self, trainer, logs):
            events.append("batch")

        def on_epoch_end(self, trainer, epoch, logs):
            events.append(f"epoch_end {epoch}")

        def on_train_end(self, trainer):
            events.append("train_end")

    make_trainer(1, callbacks=[Recorder()]).fit()
    assert events == ["train_begin", "epoch_begin 0"] + ["step", "batch"] * 4 + ["epoch_end 0", "train_end"]


def test_progress_goes_from_zero_to_one():
    seen = []

    class Watch(Callback):
        def on_step_end(self, trainer):
            seen.append(trainer.progress)

    make_trainer(2, callbacks=[Watch()]).fit()
    assert seen[0] == pytest.approx(1 / 8) and seen[-1] == 1.0


def test_nan_loss_stops_training_naming_epoch_and_step():
    trainer = make_trainer(3)

    class Poison(StandardRegime):
        def step(self, trainer, x, y):
            if trainer.global_step == 5:
                x = x * np.float32(np.nan)
            return super().step(trainer, x, y)

    trainer.regime = Poison()
    with pytest.raises(NonFiniteLossError, match="loss is nan at epoch 2, step 6"):
        trainer.fit()


def test_bad_arguments_are_rejected():
    t = make_trainer(1)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        Trainer(t.model, t.optimizer, t.train_loader, epochs=0)
    with pytest.raises(TypeError, match="Callback"):
        Trainer(t.model, t.optimizer, t.train_loader, callbacks=[print])


# ------------------------------------------------ validation selection, stable state names

def make_validated_trainer(epochs, path=None):
    x, y = blobs(240, seed=1)
    model = nn.models.mlp(4, hidden=(16,), num_classes=3, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, opt, DataLoader(x[:120], y[:120], 32, shuffle=True, seed=7),
                   DataLoader(x[180:], y[180:], 64), val_loader=DataLoader(x[120:180], y[120:180], 64),
                   epochs=epochs, seed=3, show_progress=False, checkpoint_path=path)


def test_validation_selects_the_epoch_and_the_test_set_is_evaluated_once_on_it():
    trainer = make_validated_trainer(6)
    evaluated = []
    evaluate = trainer.evaluate
    trainer.evaluate = lambda loader: evaluated.append(loader) or evaluate(loader)
    history = trainer.fit()
    assert evaluated.count(trainer.test_loader) == 1 and evaluated.count(trainer.val_loader) == 6
    assert all("val_accuracy" in h for h in history)
    assert all("test_accuracy" not in h for h in history[:-1])
    best = max(range(6), key=lambda i: (history[i]["val_accuracy"], -history[i]["val_loss"]))
    assert history[-1]["selected_epoch"] == best + 1
    # the reported test accuracy is the selected weights' (independently re-evaluated)
    final = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    trainer.model.load_state_dict(trainer.best_state)
    again = evaluate(trainer.test_loader)
    assert history[-1]["test_accuracy"] == again["accuracy"]
    trainer.model.load_state_dict(final)


def test_the_selection_survives_a_resume(tmp_path):
    full = make_validated_trainer(4)
    full.fit()
    first = make_validated_trainer(4, path=tmp_path / "ck.npz")
    first.epochs = 2
    first.fit()
    resumed = make_validated_trainer(4, path=tmp_path / "ck.npz")
    resumed.load(tmp_path / "ck.npz")
    resumed.fit()
    assert resumed.history[-1]["selected_epoch"] == full.history[-1]["selected_epoch"]
    assert resumed.history[-1]["test_accuracy"] == full.history[-1]["test_accuracy"]


def test_an_empty_epoch_is_an_error_not_a_loss_of_zero():
    """drop_last with fewer samples than a batch leaves no batch: never report loss 0.0."""
    x, y = blobs(20)
    model = nn.models.mlp(4, hidden=(8,), num_classes=3, rng=0)
    empty = DataLoader((x, y), 32, drop_last=True)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), empty, show_progress=False)
    with pytest.raises(EmptyEpochError, match="epoch 1 had no training batches .*num_samples=20, "
                                              "batch_size=32, drop_last=True"):
        trainer.fit()
    with pytest.raises(EmptyEpochError, match="evaluate: the loader yielded no batches"):
        trainer.evaluate(empty)


def test_a_batch_size_one_more_than_the_data_set_minus_one_trains_with_batch_norm():
    """N % batch_size == 1 would leave a batch of one, which batch norm refuses; the loader
    folds it into the batch before, so every epoch trains (the digits' --batch-size 1437)."""
    x, y = blobs(33)
    model = nn.models.mlp(4, hidden=(8,), num_classes=3, rng=0)        # with BatchNorm1d
    loader = DataLoader((x, y), 16, shuffle=True, seed=1)                # 16 + 17, not 16 + 16 + 1
    history = Trainer(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=2,
                      show_progress=False).fit()
    assert len(history) == 2 and np.isfinite(history[-1]["train_loss"])


def test_an_empty_batch_through_a_model_is_refused_clearly():
    model = nn.models.mlp(4, hidden=(8,), num_classes=3, rng=0)
    with pytest.raises(ValueError, match="is empty"):
        model(tq.Tensor(np.zeros((0, 4), np.float32)))


class Counter(Callback):
    """A stateful callback: counts steps, saved in checkpoints."""

    def __init__(self):
        self.steps = 0

    def on_step_end(self, trainer):
        self.steps += 1

    def state_dict(self):
        return {"steps": np.asarray(self.steps)}

    def load_state_dict(self, state):
        self.steps = int(state["steps"])


class Other(Counter):
    pass


def test_callback_state_is_saved_under_its_class_name_so_reordering_keeps_it():
    a, b = Counter(), Other()
    trainer = make_trainer(1, callbacks=[a, b])
    trainer.fit()
    state = trainer.state_dict()
    assert "callback/Counter/steps" in state and "callback/Other/steps" in state
    state["callback/Other/steps"] = np.asarray(99)   # tell the two apart
    reordered = make_trainer(1, callbacks=[Other(), Counter()])
    reordered.load_state_dict(state)
    assert [type(c).__name__ for c in reordered.callbacks] == ["Other", "Counter"]
    assert reordered.callbacks[0].steps == 99
    assert reordered.callbacks[1].steps == a.steps == 4


def test_a_second_instance_of_a_callback_class_gets_a_numbered_name():
    trainer = make_trainer(1, callbacks=[Counter(), Counter()])
    assert trainer.callback_names == ["Counter", "Counter.1"]


def test_a_regime_must_be_a_regime():
    class Duck:
        def step(self, trainer, x, y):
            return None

    x, y = blobs()
    model = nn.models.mlp(4, hidden=(8,), num_classes=3, rng=0)
    with pytest.raises(TypeError, match="regime must be a Regime instance"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, 32), regime=Duck())


def test_callback_state_is_named_by_class_and_index_among_its_class(tmp_path):
    trainer = make_trainer(1, callbacks=[Counter(), Callback(), Counter()])
    keys = {k for k in trainer.state_dict() if k.startswith("callback/")}
    assert keys == {"callback/Counter/steps", "callback/Counter.1/steps"}


def test_callback_state_survives_a_resume(tmp_path):
    first = make_trainer(3, path=tmp_path / "ck.npz", callbacks=[Counter()])
    first.epochs = 1
    first.fit()
    counter = Counter()
    resumed = make_trainer(3, path=tmp_path / "ck.npz", callbacks=[counter])
    resumed.load(tmp_path / "ck.npz")
    assert counter.steps == 4
    resumed.fit()
    assert counter.steps == 12


def _checkpoint_after(tmp_path, epochs=1):
    trainer = make_trainer(epochs, path=tmp_path / "ck.npz")
    trainer.fit()
    return tmp_path / "ck.npz"


def test_a_checkpoint_with_more_epochs_than_the_run_is_refused_naming_the_file(tmp_path):
    path = _checkpoint_after(tmp_path, epochs=3)
    with pytest.raises(CheckpointError, match=r"ck.npz.*3 finished epochs but this run trains for 2"):
        make_trainer(2).load(path)


def test_a_checkpoint_of_another_batch_count_is_refused_before_anything_changes(tmp_path):
    path = _checkpoint_after(tmp_path)
    x, y = blobs()
    trainer = make_trainer(3)
    before = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    trainer.train_loader = DataLoader(x, y, 16, shuffle=True, seed=7)   # 8 batches, not 4
    with pytest.raises(CheckpointError, match=r"ck.npz.*step count 4 is not 1 epochs x 8"):
        trainer.load(path)
    assert trainer.epoch == 0
    for key, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_a_checkpoint_whose_history_disagrees_with_its_epoch_is_refused(tmp_path):
    path = _checkpoint_after(tmp_path)
    state = load_checkpoint(path)
    state["trainer/history"] = np.asarray("[]")
    save_checkpoint(path, state)
    with pytest.raises(CheckpointError, match="list of 1 per-epoch dicts"):
        make_trainer(1).load(path)


def test_a_garbled_random_stream_is_refused_naming_it(tmp_path):
    path = _checkpoint_after(tmp_path)
    state = load_checkpoint(path)
    state["trainer/rng"] = np.asarray("{not json")
    save_checkpoint(path, state)
    with pytest.raises(CheckpointError, match="random stream 'trainer/rng'"):
        make_trainer(1).load(path)


def test_fit_removes_temporaries_left_by_a_killed_checkpoint_write(tmp_path):
    stale = tmp_path / ".ck.npz.x1y2z3.tmp"
    stale.write_bytes(b"PK half a checkpoint")
    other = tmp_path / ".other.npz.x1y2z3.tmp"   # another file's temporary: not ours
    other.write_bytes(b"")
    make_trainer(1, path=tmp_path / "ck.npz").fit()
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npz.x1y2z3.tmp", "ck.npz"]


def test_a_checkpoint_refused_halfway_leaves_the_trainer_as_it_was(tmp_path):
    path = _checkpoint_after(tmp_path)
    state = load_checkpoint(path)
    state["trainer/rng"] = np.asarray("{not json")   # restored last, after model and optimizer
    trainer = make_trainer(1)
    before = trainer.state_dict()
    with pytest.raises(ValueError, match="random stream"):
        trainer.load_state_dict(state)
    after = trainer.state_dict()
    assert sorted(after) == sorted(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
