"""The Trainer: learning, callbacks, NaN detection and bit-identical resumption."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn, optim
from tinyquant.data import DataLoader
from tinyquant.train import Callback, EmptyEpochError, NonFiniteLossError, StandardRegime, Trainer


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
