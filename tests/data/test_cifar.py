"""CIFAR-10 binary batches: tiny files in the real record format, read back exactly;
malformed or missing files are named in the error."""

import numpy as np
import pytest

from tinyquant.data import get_dataset, load_cifar10, read_cifar_batch

NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def write_cifar(directory, records=3, seed=0):
    """Each record: 1 label byte, then the red, green and blue 32x32 planes row-major."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in NAMES:
        labels = rng.integers(0, 10, records, dtype=np.uint8)
        images = rng.integers(0, 256, (records, 3, 32, 32), dtype=np.uint8)
        rows = [bytes([labels[i]]) + images[i].tobytes() for i in range(records)]
        (directory / name).write_bytes(b"".join(rows))
        written[name] = images, labels
    return written


def test_read_cifar_batch_returns_exact_pixels_in_chw_order(tmp_path):
    written = write_cifar(tmp_path)
    images, labels = read_cifar_batch(tmp_path / "test_batch.bin")
    np.testing.assert_array_equal(images, written["test_batch.bin"][0])
    np.testing.assert_array_equal(labels, written["test_batch.bin"][1])
    assert images.shape == (3, 3, 32, 32) and labels.dtype == np.int64


@pytest.mark.parametrize("nested", [False, True])
def test_load_cifar10_concatenates_batches_and_standardizes_per_channel(tmp_path, nested):
    written = write_cifar(tmp_path / "cifar-10-batches-bin" if nested else tmp_path)
    ds = get_dataset("cifar10", directory=tmp_path)
    assert ds.name == "cifar10" and ds.input_shape == (3, 32, 32) and ds.num_classes == 10
    train = np.concatenate([written[n][0] for n in NAMES[:5]]) / 255.0
    test = written["test_batch.bin"][0] / 255.0
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(ds.x_train, (train - mean) / std, atol=1e-5)
    np.testing.assert_allclose(ds.x_test, (test - mean) / std, atol=1e-5)
    np.testing.assert_array_equal(ds.y_train, np.concatenate([written[n][1] for n in NAMES[:5]]))
    np.testing.assert_array_equal(ds.y_test, written["test_batch.bin"][1])
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_missing_batch_is_named(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3.bin") as info:
        load_cifar10(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("content, message", [
    (b"", "not a positive multiple of the 3073-byte"),
    (bytes(3073 + 5), "size 3078 bytes"),
    (bytes([3]) + bytes(3072) + bytes([10]) + bytes(3072), "record 1 has label 10"),
])
def test_malformed_batch_is_rejected_naming_it(tmp_path, content, message):
    write_cifar(tmp_path)
    path = tmp_path / "data_batch_2.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        load_cifar10(tmp_path)
    assert str(path) in str(info.value)
