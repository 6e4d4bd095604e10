"""The DataLoader: mini-batches of a data set, shuffled reproducibly from (seed, epoch).

What it takes, as PyTorch's ``DataLoader(dataset, batch_size, shuffle, drop_last, ...)``:

* a tuple of arrays ``(x, y)`` or a :class:`TensorDataset` -- batches are gathered by one
  fancy index per array (the fast path);
* any map-style data set -- an object with ``__len__`` and ``__getitem__(i) -> (x_i, y_i)``,
  such as a list of pairs;
  a batch stacks its samples (``np.stack``, as PyTorch's default collate);
* the older form ``DataLoader(x, y, batch_size, ...)`` still works (= ``DataLoader((x, y),
  batch_size, ...)``).

A :class:`~tinyquant.data.Dataset` record holds *two* splits, so it is refused with a
message saying to pass ``(ds.x_train, ds.y_train)``.

Last batch: with ``drop_last`` the incomplete last batch is skipped. Otherwise, unlike
PyTorch, a last batch of a *single* sample is folded into the batch before it (which then
holds ``batch_size + 1``), because batch norm cannot train on one value per channel (and
refuses to, as PyTorch does): ``--batch-size 1437`` on the 1,438 training digits would otherwise
fail every epoch. ``fold_last=False`` keeps the singleton batch.

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

from .datasets import Dataset, check_seed


class TensorDataset:
    """Samples ``(x[i], y[i])`` of a pair of arrays of equal length (PyTorch's name)."""

    def __init__(self, x, y):
        self.x, self.y = _check_pair(np.asarray(x), np.asarray(y), "TensorDataset")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _check_pair(x, y, where):
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: x and y must have a sample axis, got shapes "
                         f"{x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{where}: x has {len(x)} samples but y has {len(y)} "
                         f"(shapes {x.shape} and {y.shape})")
    return x, y


def _as_arrays(dataset):
    """(x, y) arrays for the fast path, or None for a generic map-style data set."""
    if isinstance(dataset, Dataset):
        raise TypeError(f"DataLoader: got the Dataset record {dataset.name!r}, which holds a train "
                        f"and a test split; pass one, e.g. DataLoader((ds.x_train, ds.y_train), ...)")
    if isinstance(dataset, TensorDataset):
        return dataset.x, dataset.y
    if isinstance(dataset, tuple):          # (x, y): arrays (a list is a sequence of samples)
        if len(dataset) != 2:
            raise TypeError(f"DataLoader: a tuple data set must be (x, y), got {len(dataset)} items")
        return _check_pair(np.asarray(dataset[0]), np.asarray(dataset[1]), "DataLoader")
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"DataLoader: dataset must be a pair of arrays (x, y), a TensorDataset or "
                        f"an object with __len__ and __getitem__, got {type(dataset).__name__}")
    return None


def _positional(dataset, args, batch_size, shuffle):
    """``(dataset, batch_size, shuffle)`` from ``DataLoader(dataset, batch_size[, shuffle])``
    or from the older ``DataLoader(x, y, batch_size)``."""
    if args and isinstance(args[0], (np.ndarray, list, tuple)):   # the older (x, y, batch_size)
        dataset, args = (np.asarray(dataset), np.asarray(args[0])), args[1:]
    if len(args) > 2 or (len(args) == 2 and not isinstance(args[1], (bool, np.bool_))):
        raise TypeError("DataLoader: expected DataLoader(dataset, batch_size, shuffle, ...) "
                        f"with the rest by keyword, got {len(args) + 1} positional arguments")
    if args:
        if batch_size is not None:
            raise TypeError("DataLoader: batch_size given both by position and by keyword")
        batch_size, shuffle = args[0], (args[1] if len(args) == 2 else shuffle)
    return dataset, (1 if batch_size is None else batch_size), shuffle


class DataLoader:
    """Iterate over ``(x_batch, y_batch)`` pairs of a data set, one epoch per ``for`` loop.

    ``DataLoader(dataset, batch_size=1, shuffle=False, *, drop_last=False, seed=0,
    rng=None, transform=None, fold_last=True)``

    Args:
        dataset: ``(x, y)`` arrays, a :class:`TensorDataset` or a map-style data set
            (module docstring). Arrays are not copied: each batch is gathered from them
            by fancy indexing, so batches are fresh arrays and modifying one never
            changes the data set.
        batch_size: samples per batch; the last batch of an epoch may be smaller unless
            ``drop_last``.
        shuffle: visit the samples in a new random order each epoch (else in order).
        drop_last: skip the final incomplete batch (if ``N % batch_size != 0``).
        seed: non-negative int; with the epoch number it fixes all randomness.
        rng: instead of ``seed``, a numpy Generator from which the seed is drawn once,
            here (``rng.integers(2**63)``); the epochs are then replayable as from a seed.
        transform: optional ``transform(x_batch, rng) -> x_batch`` applied to every
            batch, e.g. :func:`tinyquant.data.augment.standard_augmentation`; it must
            return an array with the same number of samples.
        fold_last: fold a last batch of one sample into the one before (module docstring).
    """

    def __init__(self, dataset, *args, batch_size=None, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, rng=None, transform=None,
                 fold_last: bool = True):
        dataset, batch_size, shuffle = _positional(dataset, args, batch_size, shuffle)
        arrays = _as_arrays(dataset)
        num_samples = len(arrays[0]) if arrays is not None else len(dataset)
        if num_samples == 0:
            raise ValueError("DataLoader: the data set is empty; expected at least one sample")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last), ("fold_last", fold_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be a bool, got {flag!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable as transform(x, rng), "
                            f"got {type(transform).__name__}")
        if rng is not None:
            if seed is not None:
                raise TypeError("DataLoader: pass seed or rng, not both")
            if not isinstance(rng, np.random.Generator):
                raise TypeError(f"DataLoader: rng must be a numpy Generator, got {type(rng).__name__}")
            seed = int(rng.integers(2**63))
        self.dataset = dataset
        self.x, self.y = arrays if arrays is not None else (None, None)
        self.num_samples = num_samples
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last, self.fold_last = bool(shuffle), bool(drop_last), bool(fold_last)
        self.seed = check_seed(0 if seed is None else seed, "DataLoader")
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
                "num_samples": np.int64(self.num_samples), "batch_size": np.int64(self.batch_size),
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
        full, rest = divmod(self.num_samples, self.batch_size)
        if self.drop_last or rest == 0 or (self._folds() and rest == 1):
            return full
        return full + 1

    def _folds(self) -> bool:
        """Is the last batch a single sample folded into the one before?"""
        return (self.fold_last and not self.drop_last and self.num_samples > 1
                and self.num_samples % self.batch_size == 1)

    def __iter__(self):
        """Start epoch ``self.epoch``, advance ``self.epoch`` now, return its batches."""
        epoch = self._epoch
        self._epoch += 1
        return self.batches(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of ``epoch`` in the order they are served."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)

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
        last = len(self) - 1
        for b in range(start, len(self)):
            end = None if (b == last and self._folds()) else (b + 1) * self.batch_size
            idx = order[b * self.batch_size:end]
            xb, yb = self._gather(idx)
            if self.transform is not None:
                rng = np.random.default_rng(
                    np.random.SeedSequence([self.seed, epoch], spawn_key=(b,)))
                xb = self.transform(xb, rng)
                if not isinstance(xb, np.ndarray) or len(xb) != len(idx):
                    raise ValueError(f"DataLoader: transform {self.transform!r} returned "
                                     f"{type(xb).__name__} of shape {getattr(xb, 'shape', None)}"
                                     f", expected an array of {len(idx)} samples")
            yield xb, yb

    def _gather(self, idx):
        if self.x is not None:
            return self.x[idx], self.y[idx]
        samples = [self.dataset[int(i)] for i in idx]    # a map-style data set: collate
        if not all(isinstance(s, (tuple, list)) and len(s) == 2 for s in samples):
            raise TypeError(f"DataLoader: dataset[i] must return a pair (x_i, y_i), got "
                            f"{type(samples[0]).__name__}")
        return np.stack([s[0] for s in samples]), np.asarray([s[1] for s in samples])

    def __repr__(self):
        return (f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, fold_last={self.fold_last}, "
                f"seed={self.seed}, "
                f"epoch={self._epoch}, transform={self.transform!r})")
