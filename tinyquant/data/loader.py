"""The DataLoader: mini-batches of a data set, shuffled reproducibly from (seed, epoch).

Everything random about an epoch is a pure function of ``(seed, epoch)``:

* the order of the samples is ``np.random.default_rng([seed, epoch]).permutation(N)``;
* batch ``b`` of that epoch is transformed with its own Generator,
  ``np.random.default_rng(np.random.SeedSequence([seed, epoch], spawn_key=(b,)))``
  -- an independent child stream of the epoch's seed (a ``spawn_key`` never collides
  with the parent, unlike appending a number to the entropy: ``[s, e, 0]`` and
  ``[s, e]`` seed identical streams).

So no Generator state has to be saved in a checkpoint: storing the epoch is enough to
replay the rest of training bit for bit, and any single batch can be rebuilt on its own.

When the epoch advances: calling ``iter(loader)`` (which a ``for`` loop does) starts
epoch ``loader.epoch`` and increments ``loader.epoch`` at once, before the first batch
is produced. Hence

* between epochs, ``loader.epoch`` is the number of epochs started so far, which is
  also the epoch the next ``for`` loop will produce: checkpoint it after an epoch and a
  fresh loader with ``loader.epoch = k`` yields exactly the k-th (0-based) epoch of a
  loader iterated k times;
* an epoch abandoned with ``break`` still counts as started: the next loop begins the
  next epoch, never the middle of the old one;
* to resume in the middle of an epoch, call :meth:`DataLoader.batches` with
  ``start=`` the number of batches already used (this does not touch ``epoch``).
"""

from __future__ import annotations

import numbers

import numpy as np

from .datasets import check_seed


class DataLoader:
    """Iterate over ``(x_batch, y_batch)`` pairs of a data set, one epoch per ``for`` loop.

    Args:
        x, y: arrays with the same length along axis 0 (samples). They are not copied:
            each batch is gathered from them by fancy indexing, so batches are fresh
            arrays and modifying one never changes the data set.
        batch_size: samples per batch; the last batch of an epoch may be smaller unless
            ``drop_last``.
        shuffle: visit the samples in a new random order each epoch (else in order).
        drop_last: skip the final incomplete batch (if ``N % batch_size != 0``).
        seed: non-negative int; with the epoch number it fixes all randomness.
        transform: optional ``transform(x_batch, rng) -> x_batch`` applied to every
            batch, e.g. :func:`tinyquant.data.augment.standard_augmentation`; it must
            return an array with the same number of samples.
    """

    def __init__(self, x, y, batch_size: int, *, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0, transform=None):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"DataLoader: x and y must have a sample axis, got shapes "
                             f"{x.shape} and {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"DataLoader: x has {len(x)} samples but y has {len(y)} "
                             f"(shapes {x.shape} and {y.shape})")
        if len(x) == 0:
            raise ValueError("DataLoader: x and y are empty; expected at least one sample")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be a bool, got {flag!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable as transform(x, rng), "
                            f"got {type(transform).__name__}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed = check_seed(seed, "DataLoader")
        self.transform = transform
        self._epoch = 0

    # ------------------------------------------------------------------ position

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter(loader)`` will produce (= epochs started so far)."""
        return self._epoch

    @epoch.setter
    def epoch(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
                or value < 0:
            raise ValueError(f"DataLoader: epoch must be a non-negative int, got {value!r}")
        self._epoch = int(value)

    def state_dict(self) -> dict:
        """The loader's position and configuration as a flat dict of NumPy scalars
        (storable in an ``.npz``). Only ``epoch`` is state; the rest is checked on load
        so a checkpoint is not silently resumed with a different loader."""
        return {"epoch": np.int64(self._epoch), "seed": np.int64(self.seed),
                "num_samples": np.int64(len(self.x)), "batch_size": np.int64(self.batch_size),
                "shuffle": np.bool_(self.shuffle), "drop_last": np.bool_(self.drop_last)}

    def load_state_dict(self, state) -> None:
        """Restore the position saved by :meth:`state_dict` (values may be 0-d arrays,
        as read back from an ``.npz``). Raises ValueError if a key is missing or the
        configuration differs from this loader's."""
        mine = self.state_dict()
        missing = sorted(set(mine) - set(state))
        if missing:
            raise ValueError(f"DataLoader.load_state_dict: missing keys {missing}; "
                             f"expected {sorted(mine)}")
        for key in mine:
            if key != "epoch" and np.asarray(state[key]).item() != mine[key].item():
                raise ValueError(f"DataLoader.load_state_dict: checkpoint has {key}="
                                 f"{np.asarray(state[key]).item()!r} but this loader has "
                                 f"{key}={mine[key].item()!r}")
        self.epoch = np.asarray(state["epoch"]).item()

    # ------------------------------------------------------------------ batches

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(len(self.x), self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def __iter__(self):
        """Start epoch ``self.epoch``, advance ``self.epoch`` now, return its batches."""
        epoch = self._epoch
        self._epoch += 1
        return self.batches(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of ``epoch`` in the order they are served."""
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    def batches(self, epoch: int, start: int = 0):
        """Yield the batches of ``epoch`` from batch index ``start`` on, without
        changing ``self.epoch`` -- a pure function of (seed, epoch, start)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"DataLoader.batches: epoch must be a non-negative int, got {epoch!r}")
        if isinstance(start, bool) or not isinstance(start, numbers.Integral) \
                or not 0 <= start <= len(self):
            raise ValueError(f"DataLoader.batches: start must be an int in [0, {len(self)}], "
                             f"got {start!r}")
        return self._generate(int(epoch), int(start))

    def _generate(self, epoch, start):
        order = self.order(epoch)
        for b in range(start, len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            xb, yb = self.x[idx], self.y[idx]
            if self.transform is not None:
                rng = np.random.default_rng(
                    np.random.SeedSequence([self.seed, epoch], spawn_key=(b,)))
                xb = self.transform(xb, rng)
                if not isinstance(xb, np.ndarray) or len(xb) != len(idx):
                    raise ValueError(f"DataLoader: transform {self.transform!r} returned "
                                     f"{type(xb).__name__} of shape {getattr(xb, 'shape', None)}"
                                     f", expected an array of {len(idx)} samples")
            yield xb, yb

    def __repr__(self):
        return (f"DataLoader(num_samples={len(self.x)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"epoch={self._epoch}, transform={self.transform!r})")
