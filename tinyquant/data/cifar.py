"""CIFAR-10 from its *binary* distribution (``cifar-10-binary.tar.gz``), read with NumPy.

The binary version holds six files, ``data_batch_1.bin`` ... ``data_batch_5.bin``
(train, 10,000 images each) and ``test_batch.bin``. Each is a run of 3,073-byte
records (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009)::

    <1 byte label 0..9><1024 bytes red><1024 bytes green><1024 bytes blue>

each colour plane 32x32 row-major -- so a record's pixels reshape straight to CHW and
the whole file to NCHW. We read these bytes, never the Python-version pickles.

The user unpacks the archive and names the directory; both that directory and the
``cifar-10-batches-bin`` folder inside it are accepted. Images are scaled to [0, 1]
by /255, then standardized per channel with the TRAIN set's mean and standard
deviation (one value per R, G, B), applied unchanged to the test images.
"""

from __future__ import annotations

import numpy as np

from .datasets import Dataset, standardize_
from .idx import check_directory

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
RECORD_BYTES = 1 + 3 * 32 * 32


def read_cifar_batch(path):
    """``(images, labels)`` from one CIFAR-10 binary file: (N, 3, 32, 32) uint8, (N,) int64.

    Raises ``ValueError`` naming the file if it is empty, its size is not a multiple of
    3,073 bytes, or a label is above 9.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise ValueError(f"{path}: size {raw.size} bytes is not a positive multiple of the "
                         f"{RECORD_BYTES}-byte CIFAR-10 record (1 label + 3072 pixels)")
    records = raw.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(f"{path}: record {bad} has label {labels[bad]}, expected 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def find_cifar_directory(directory):
    """The folder holding the six ``.bin`` files: ``directory`` or its
    ``cifar-10-batches-bin``; a missing file is named in the error."""
    directory = check_directory(directory, "load_cifar10")
    nested = directory / "cifar-10-batches-bin"
    root = nested if (nested / TEST_FILE).is_file() else directory
    for name in TRAIN_FILES + (TEST_FILE,):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name}: missing CIFAR-10 binary batch "
                                    f"(expected {', '.join(TRAIN_FILES)} and {TEST_FILE})")
    return root


def load_cifar10(directory) -> Dataset:
    """CIFAR-10 as (N, 3, 32, 32) float32 NCHW images and int64 labels 0..9
    (50,000 train / 10,000 test for the real files)."""
    root = find_cifar_directory(directory)
    train = [read_cifar_batch(root / name) for name in TRAIN_FILES]
    x_test_u8, y_test = read_cifar_batch(root / TEST_FILE)
    x_train = np.concatenate([images for images, _ in train]).astype(np.float32)
    y_train = np.concatenate([labels for _, labels in train])
    del train
    x_test = x_test_u8.astype(np.float32)
    x_train /= 255                                          # [0, 1], then train statistics
    x_test /= 255
    standardize_(x_train, x_test, axis=(0, 2, 3))
    return Dataset("cifar10", x_train, y_train, x_test, y_test,
                   num_classes=10, input_shape=(3, 32, 32))
