"""Checkpoints: one ``.npz`` file, no pickle, written atomically.

A checkpoint is a flat ``{key: ndarray}`` mapping (strings are stored as NumPy unicode
arrays, nested state as JSON strings), saved with ``np.savez`` and read back with
``np.load(..., allow_pickle=False)`` -- loading one can never execute code.

Atomic write: the data goes to a temporary file in the target directory, is flushed and
fsync'ed, and only then renamed over the target (``os.replace`` is atomic on POSIX).
A crash mid-write leaves the previous checkpoint untouched. A truncated or corrupted
file fails to load with a :class:`CheckpointError` that names it (the zip container's
CRC-32 checks catch flipped bytes).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or incompatible."""


def save_checkpoint(path, state: dict[str, np.ndarray]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {key: np.asarray(value) for key, value in state.items()}
    for key, value in arrays.items():
        if value.dtype == object:
            raise TypeError(f"save_checkpoint: {key!r} is an object array; only plain arrays are stored")
    arrays["__format_version__"] = np.asarray(FORMAT_VERSION)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save_checkpoint`; every array is loaded and verified."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {key: data[key] for key in data.files}  # reading checks each CRC-32
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupted ({type(err).__name__}: {err})"
        ) from err
    version = state.pop("__format_version__", None)
    if version is None or int(version) != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version}, expected {FORMAT_VERSION}"
        )
    return state


def split_prefix(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries of ``state`` under ``prefix + '/'``, with the prefix removed."""
    start = prefix + "/"
    return {k[len(start):]: v for k, v in state.items() if k.startswith(start)}


def with_prefix(state: dict, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": v for k, v in state.items()}
