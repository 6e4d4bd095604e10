"""MNIST and Fashion-MNIST from IDX files, read with a plain-NumPy parser.

The IDX format (LeCun et al., the MNIST distribution page) is a 4-byte magic number,
then one big-endian uint32 per dimension, then the data in C order, big-endian::

    magic:  0x00 0x00 <dtype code> <number of dimensions>
    dims:   uint32 big-endian, one per dimension
    data:   prod(dims) values of the dtype, big-endian

Dtype codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.

Both MNIST and Fashion-MNIST ship as four such files (optionally gzipped), which the
user downloads once and names by directory; tinyquant never fetches them. Images are
scaled to [0, 1] by /255, then standardized with ONE scalar mean and standard deviation
computed over the TRAIN images and applied unchanged to the test images.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .datasets import Dataset, standardize_

IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

MNIST_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
               "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def read_bytes(path) -> bytes:
    """The content of ``path``, gunzipped if the name ends in ``.gz``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: not a readable gzip file ({e})") from None


def read_idx(path) -> np.ndarray:
    """Parse the IDX file at ``path`` (or ``.gz``) into an array in native byte order.

    Raises ``ValueError`` naming the file when the magic number is wrong, the dtype code
    is unknown, or the data is shorter or longer than the header's dimensions say.
    """
    data = read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(data)} bytes, "
                         f"shorter than the 4-byte magic number")
    zero0, zero1, code, ndim = data[:4]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{data[:4].hex()}: "
                         f"expected the first two bytes to be 0x0000")
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: bad IDX magic number 0x{data[:4].hex()}: unknown dtype "
                         f"code 0x{code:02x}, expected one of "
                         f"{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need "
                         f"{header} bytes, the file has {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise ValueError(f"{path}: truncated IDX data: shape {dims} of {dtype.name} needs "
                         f"{expected} bytes after the header, the file has {actual}")
    if actual > expected:
        raise ValueError(f"{path}: {actual - expected} unexpected trailing bytes after the "
                         f"IDX data of shape {dims} ({expected} bytes)")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))          # native order, a writable copy


def _find(directory: Path, stem: str) -> Path:
    """``directory/stem`` or else ``directory/stem.gz``; error naming both if neither."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory / stem}: missing (also looked for {stem}.gz)")


def check_directory(directory, where: str) -> Path:
    """``directory`` as a Path if it names an existing directory, else a clear error."""
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"{where}: directory must be a str or path, got {type(directory).__name__}")
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"{where}: directory {path} does not exist or is not a directory")
    return path


def load_mnist(directory, kind: str = "mnist") -> Dataset:
    """MNIST (``kind="mnist"``) or Fashion-MNIST (``kind="fashion"``) from the four
    standard IDX files in ``directory`` (each may be gzipped).

    Returns (N, 1, H, W) float32 images (28x28 for the real data) and int64 labels 0..9.
    """
    names = {"mnist": "mnist", "fashion": "fashion-mnist"}
    if kind not in names:
        raise ValueError(f"load_mnist: kind must be 'mnist' or 'fashion', got {kind!r}")
    directory = check_directory(directory, "load_mnist")
    paths = {key: _find(directory, stem) for key, stem in MNIST_FILES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        ipath, lpath = paths[f"x_{split}"], paths[f"y_{split}"]
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"{ipath}: expected uint8 images of shape (N, H, W), "
                             f"got {images.dtype} of shape {images.shape}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(f"{lpath}: expected uint8 labels of shape (N,), "
                             f"got {labels.dtype} of shape {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{lpath}: {len(labels)} labels but {ipath} has "
                             f"{len(images)} images")
        if len(labels) and labels.max() > 9:
            bad = int(np.argmax(labels > 9))
            raise ValueError(f"{lpath}: label {labels[bad]} at index {bad} is out of "
                             f"range, expected 0..9")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise ValueError(f"{paths['x_test']}: images are {arrays['x_test'].shape[1:]} but "
                         f"{paths['x_train']} has {arrays['x_train'].shape[1:]}")
    x_train = arrays["x_train"][:, None].astype(np.float32)
    x_test = arrays["x_test"][:, None].astype(np.float32)
    x_train /= 255                                          # [0, 1], then train statistics
    x_test /= 255
    standardize_(x_train, x_test, axis=None)
    return Dataset(names[kind], x_train, arrays["y_train"].astype(np.int64),
                   x_test, arrays["y_test"].astype(np.int64),
                   num_classes=10, input_shape=x_train.shape[1:])
