"""Checkpoints: one ``.npz`` file, no pickle, written atomically, checked on load.

A checkpoint is a flat ``{key: ndarray}`` mapping (strings are stored as NumPy unicode
arrays, nested state as JSON strings), saved with ``np.savez`` and read back with
``np.load(..., allow_pickle=False)`` -- loading one can never execute code.

Atomic write: the data goes to a temporary file ``.<name>.<random>.tmp`` in the target
directory, is flushed and fsync'ed, given the mode the umask allows (as ``open`` would),
and only then renamed over the target (``os.replace`` is atomic on POSIX). A crash
mid-write leaves the previous checkpoint untouched; the temporary it leaves behind is
removed by :func:`remove_stale_temporaries` when training starts again.

Loading checks the file before trusting it, and every problem is a :class:`CheckpointError`
(a ValueError) naming the file:

* the container: a zip whose every member is an ``.npy`` array (no other files), whose
  declared sizes agree with the array headers (a crafted header cannot make NumPy
  allocate terabytes), at most ``max_bytes`` in all (a zip bomb is refused before it is
  inflated), no object dtype (never pickle), and CRC-32 checks on every member;
* the contents (:func:`check_contents`): model weights and buffers finite, batch-norm
  running variances non-negative, the trainer's epoch and step count non-negative
  integers below ``MAX_EPOCHS`` / ``MAX_STEPS``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
#: Default bound on the total (uncompressed) size of a checkpoint's arrays: 1 GiB (the
#: largest model of the zoo, vgg_small with Adam state, needs well under 100 MB).
MAX_BYTES = 2 ** 30
#: Bounds on a plausible trainer position.
MAX_EPOCHS = 10 ** 5
MAX_STEPS = 10 ** 9
RESERVED = "__format_version__"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted, hostile or incompatible."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(path, state: dict[str, np.ndarray]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename).

    ``state`` maps string keys to arrays (or values ``np.asarray`` turns into a plain,
    non-object array). Bad arguments raise a TypeError/ValueError before anything is
    written, so an existing checkpoint at ``path`` is never touched by a refused call.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise TypeError(f"save_checkpoint: path must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"save_checkpoint: path {str(path)!r} is a directory; expected a file "
                         f"path such as {str(path / 'checkpoint.npz')!r}")
    if not isinstance(state, dict):
        raise TypeError(f"save_checkpoint: state must be a dict of arrays, got "
                        f"{type(state).__name__}")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save_checkpoint: keys must be non-empty strings, got {key!r}")
        if key == RESERVED:
            raise ValueError(f"save_checkpoint: key {key!r} is reserved for the format version")
        try:
            arrays[key] = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"save_checkpoint: {key!r} is not an array ({err})") from None
        if arrays[key].dtype.hasobject:
            raise TypeError(f"save_checkpoint: {key!r} is an object array (from a value of type "
                            f"{type(value).__name__}); only plain arrays are stored")
        if isinstance(value, (list, tuple)) and arrays[key].dtype.kind not in "biuf" \
                and not all(isinstance(v, str) for v in value):
            raise TypeError(f"save_checkpoint: {key!r} is a list mixing numbers and other values "
                            f"({value!r:.80}); NumPy would store it as {arrays[key].dtype} text")
    arrays[RESERVED] = np.asarray(FORMAT_VERSION)
    return write_npz_atomically(path, arrays)


def write_npz_atomically(path, arrays: dict) -> Path:
    """``np.savez`` into a temporary file beside ``path``, fsync, then rename it over ``path``:
    a reader sees the old file or the new one, never half of one (a killed write leaves only a
    ``.<name>.*.tmp``, see :func:`remove_stale_temporaries`). The file gets the umask's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp's 0600 would hide it from the group
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporaries ``.<name>.*.tmp`` that killed writes of ``path`` left behind
    (call it when no other process writes ``path``); return the removed files."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


def _check_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The array size declared by one member's npy header, checked against its zip header."""
    where = f"checkpoint {str(path)!r}: entry {info.filename!r}"
    if not info.filename.endswith(".npy"):
        raise CheckpointError(f"{where} is not an .npy array; a checkpoint holds only arrays")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise CheckpointError(f"{where} has npy format version {version}, expected 1.0 or 2.0")
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = reader(member, max_header_size=10000)
        header_size = member.tell()
    if dtype.hasobject:
        raise CheckpointError(f"{where} is an object array (pickled Python objects); "
                              f"checkpoints are plain arrays and are never unpickled")
    nbytes = math.prod(shape) * dtype.itemsize
    if header_size + nbytes != info.file_size:
        raise CheckpointError(f"{where} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                              f"holds {info.file_size - header_size} bytes")
    return nbytes


def load_checkpoint(path, *, max_bytes: int = MAX_BYTES) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save_checkpoint`, check it (module docstring)
    and return its arrays; any problem raises a :class:`CheckpointError` naming the file."""
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise TypeError(f"load_checkpoint: path must be a file path, got {path!r}")
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} is not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                total += _check_member(path, archive, info)
                if total > max_bytes:
                    raise CheckpointError(
                        f"checkpoint {str(path)!r} declares more than {max_bytes} bytes of arrays "
                        f"(a zip bomb or not a tinyquant checkpoint); pass max_bytes= to allow it")
        with np.load(path, allow_pickle=False) as data:
            state = {key: data[key] for key in data.files}  # reading checks each CRC-32
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, SyntaxError,
            NotImplementedError, RuntimeError) as err:
        detail = str(err).split(" allow_pickle")[0]
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupted ({type(err).__name__}: {detail})"
        ) from None
    version = state.pop(RESERVED, None)
    if version is None or version.shape != () or version.dtype.kind not in "iu" \
            or int(version) != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version}, expected {FORMAT_VERSION}"
        )
    try:
        check_contents(state)
    except ValueError as err:
        raise CheckpointError(f"checkpoint {str(path)!r}: {err}") from None
    return state


def _count(state, key: str, bound: int) -> int | None:
    if key not in state:
        return None
    value = state[key]
    if value.shape != () or value.dtype.kind not in "iu" or not 0 <= int(value) <= bound:
        raise ValueError(f"{key} must be an integer in [0, {bound}], got {value!r}")
    return int(value)


def check_contents(state: dict[str, np.ndarray]) -> None:
    """Plausibility of a loaded state (ValueError naming the entry): model arrays finite,
    running variances non-negative, trainer counters bounded non-negative integers."""
    for key, value in state.items():
        if not key.startswith("model/"):
            continue
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            raise ValueError(f"{key} holds {bad} non-finite value(s) (NaN or inf); the run "
                             f"that wrote it diverged")
        if key.endswith("running_var") and value.size and float(np.min(value)) < 0:
            raise ValueError(f"{key} holds negative variances (min {float(np.min(value))})")
    _count(state, "trainer/epoch", MAX_EPOCHS)
    _count(state, "trainer/global_step", MAX_STEPS)


def check_trainer_state(state: dict, epochs: int, steps_per_epoch: int):
    """The trainer's (epoch, global_step, history) from ``state``, checked against a trainer
    of ``epochs`` epochs of ``steps_per_epoch`` steps (ValueError naming the problem)."""
    missing = [k for k in ("trainer/epoch", "trainer/global_step", "trainer/rng",
                           "trainer/history") if k not in state]
    if missing:
        raise ValueError(f"missing entries {missing}; not a Trainer checkpoint")
    epoch = _count(state, "trainer/epoch", MAX_EPOCHS)
    step = _count(state, "trainer/global_step", MAX_STEPS)
    if epoch > epochs:
        raise ValueError(f"it holds {epoch} finished epochs but this run trains for {epochs}")
    if step != epoch * steps_per_epoch:
        raise ValueError(f"its step count {step} is not {epoch} epochs x {steps_per_epoch} "
                         f"steps per epoch (another batch size or data set?)")
    try:
        history = json.loads(str(state["trainer/history"]))
    except ValueError as err:
        raise ValueError(f"trainer/history is not JSON ({err})") from None
    if not isinstance(history, list) or len(history) != epoch or \
            not all(isinstance(h, dict) for h in history):
        raise ValueError(f"trainer/history must be a list of {epoch} per-epoch dicts")
    return epoch, step, history


def split_prefix(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries of ``state`` under ``prefix + '/'``, with the prefix removed."""
    start = prefix + "/"
    return {k[len(start):]: v for k, v in state.items() if k.startswith(start)}


def with_prefix(state: dict, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": v for k, v in state.items()}
