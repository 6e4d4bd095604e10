"""Image augmentation, vectorized across the batch: random crop with padding, flips.

Every transform takes ``(x, rng)`` -- a batch ``x`` and a ``numpy.random.Generator`` --
and returns a new batch; the input is never modified. All randomness comes from
``rng``, so the same Generator state gives the same augmented batch, which is what lets
the :class:`~tinyquant.data.loader.DataLoader` replay an epoch exactly.

No Python loop runs over samples, channels or pixels:

* :func:`random_crop` zero-pads, views every HxW window of the padded batch with
  ``sliding_window_view`` (no copy), and picks each sample's window by fancy indexing;
* :func:`random_horizontal_flip` draws one coin per sample and selects between the
  batch and its mirror with ``np.where``.

This is the standard CIFAR recipe of He et al., "Deep Residual Learning for Image
Recognition" (2016), Sec. 4.2: pad 4, random 32x32 crop, random horizontal flip.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _check_batch(x, rng, where: str, min_ndim: int):
    if not isinstance(x, np.ndarray) or x.ndim < min_ndim:
        raise ValueError(f"{where}: x must be an ndarray with at least {min_ndim} dimensions "
                         f"(batch first), got {type(x).__name__} of shape "
                         f"{getattr(x, 'shape', None)}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: rng must be a numpy.random.Generator, got {type(rng).__name__}")


def random_crop(x: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-pad each NCHW image by ``padding`` on all four sides and cut out a random
    HxW window, the same for all channels of a sample, independent across samples.

    Draws, in this order, the row offsets then the column offsets, each
    ``rng.integers(0, 2 * padding + 1, size=N)``; offset ``(p, p)`` is the original.
    """
    _check_batch(x, rng, "random_crop", 4)
    if x.ndim != 4:
        raise ValueError(f"random_crop: x must be an NCHW batch, got shape {x.shape}")
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"random_crop: padding must be a non-negative int, got {padding!r}")
    n, _, h, w = x.shape
    rows = rng.integers(0, 2 * padding + 1, size=n)
    cols = rng.integers(0, 2 * padding + 1, size=n)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))   # (N, C, 2p+1, 2p+1, H, W)
    # the advanced indices are split by a slice, so their (N,) axis comes first: (N, C, H, W)
    return windows[np.arange(n), :, rows, cols]


def random_horizontal_flip(x: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each sample along its last (width) axis with probability ``p``.

    Draws ``rng.random(N)`` once; sample i is flipped where that draw is ``< p``. Works
    for any batch with at least 2 axes (NCHW images, NCL signals).
    """
    _check_batch(x, rng, "random_horizontal_flip", 2)
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"random_horizontal_flip: p must be a probability in [0, 1], got {p!r}")
    flip = rng.random(len(x)) < p
    return np.where(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x[..., ::-1], x)


class RandomCrop:
    """:func:`random_crop` with a fixed ``padding``, as an ``(x, rng)`` transform."""

    def __init__(self, padding: int):
        if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int, got {padding!r}")
        self.padding = int(padding)

    def __call__(self, x, rng):
        return random_crop(x, self.padding, rng)

    def __repr__(self):
        return f"RandomCrop(padding={self.padding})"


class RandomHorizontalFlip:
    """:func:`random_horizontal_flip` with a fixed ``p``, as an ``(x, rng)`` transform."""

    def __init__(self, p: float = 0.5):
        if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x, rng):
        return random_horizontal_flip(x, rng, self.p)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class compose:  # noqa: N801 -- used like a function: compose(t1, t2)(x, rng)
    """Chain ``(x, rng)`` transforms left to right, all drawing from the same ``rng``."""

    def __init__(self, *transforms):
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"compose: transform {i} must be callable as t(x, rng), "
                                f"got {type(t).__name__}")
        self.transforms = transforms

    def __call__(self, x, rng):
        for transform in self.transforms:
            x = transform(x, rng)
        return x

    def __repr__(self):
        return f"compose({', '.join(map(repr, self.transforms))})"


def standard_augmentation(padding: int = 4, p: float = 0.5) -> compose:
    """The ResNet CIFAR recipe: ``compose(RandomCrop(padding), RandomHorizontalFlip(p))``."""
    return compose(RandomCrop(padding), RandomHorizontalFlip(p))
