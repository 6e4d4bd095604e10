"""IDX files (MNIST, Fashion-MNIST): tiny files written byte by byte here, read back
exactly; every malformed file is rejected with an error that names it."""

import gzip
import struct

import numpy as np
import pytest

from tinyquant.data import get_dataset, load_mnist, read_idx

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array, code):
    """The IDX encoding, written independently of the parser: magic, dims, big-endian data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(CODES[code]).tobytes()


def write(path, data, gz=False):
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_returns_exactly_what_was_written(tmp_path, code, gz):
    rng = np.random.default_rng(code)
    array = rng.integers(-100, 100, size=(3, 4, 5)).astype(np.dtype(CODES[code]).newbyteorder("="))
    if code == 0x08:
        array = array.astype(np.uint8) + 100
    path = write(tmp_path / "a-idx3", idx_bytes(array, code), gz)
    out = read_idx(path)
    assert out.dtype == array.dtype and out.dtype.isnative and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, array)
    out[0] = 0                                              # writable, not a buffer view


def write_mnist(directory, n_train=5, n_test=3, gz=False, size=(28, 28), seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *size), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *size), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for name, array in arrays.items():
        write(directory / name, idx_bytes(array, 0x08), gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_images_and_labels_standardized_with_train_stats(tmp_path, gz):
    raw = write_mnist(tmp_path, gz=gz)
    ds = load_mnist(tmp_path, kind="fashion")
    assert ds.name == "fashion-mnist" and ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    train = raw["train-images-idx3-ubyte"] / 255.0
    test = raw["t10k-images-idx3-ubyte"] / 255.0
    mean, std = train.mean(), train.std()
    np.testing.assert_allclose(ds.x_train[:, 0], (train - mean) / std, atol=1e-5)
    np.testing.assert_allclose(ds.x_test[:, 0], (test - mean) / std, atol=1e-5)
    np.testing.assert_array_equal(ds.y_train, raw["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(ds.y_test, raw["t10k-labels-idx1-ubyte"])
    assert ds.y_train.dtype == np.int64 and ds.x_train.dtype == np.float32


def test_registry_names_reach_the_idx_loader(tmp_path):
    write_mnist(tmp_path)
    assert get_dataset("mnist", directory=tmp_path).name == "mnist"
    assert get_dataset("fashion-mnist", directory=str(tmp_path)).name == "fashion-mnist"


def good_header(n=2):
    return bytes([0, 0, 0x08, 3]) + struct.pack(">3I", n, 2, 2)


@pytest.mark.parametrize("content, message", [
    (b"", "truncated"),
    (bytes([1, 0, 8, 3]) + struct.pack(">3I", 2, 2, 2) + bytes(8), "bad IDX magic"),
    (bytes([0, 0, 0x07, 3]) + struct.pack(">3I", 2, 2, 2) + bytes(8), "unknown dtype code 0x07"),
    (bytes([0, 0, 0x08, 3]) + struct.pack(">2I", 2, 2), "truncated IDX header"),
    (good_header() + bytes(7), "truncated IDX data"),
    (good_header() + bytes(9), "1 unexpected trailing bytes"),
])
def test_malformed_idx_file_is_rejected_naming_it(tmp_path, content, message):
    path = write(tmp_path / "bad-idx3-ubyte", content)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_is_rejected_naming_it(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_is_named(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte") as info:
        load_mnist(tmp_path)
    assert str(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        load_mnist(tmp_path / "no-such-dir")


def test_label_count_mismatch_is_rejected_naming_both_files(tmp_path):
    write_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8), 0x08))
    with pytest.raises(ValueError, match="4 labels but") as info:
        load_mnist(tmp_path)
    assert "train-labels-idx1-ubyte" in str(info.value)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_label_out_of_range_is_rejected_naming_file_and_index(tmp_path):
    write_mnist(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.array([1, 12, 3], np.uint8), 0x08))
    with pytest.raises(ValueError, match="label 12 at index 1") as info:
        load_mnist(tmp_path)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_wrong_dtype_or_rank_is_rejected_naming_the_file(tmp_path):
    write_mnist(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((5, 28, 28)), 0x0D))
    with pytest.raises(ValueError, match="expected uint8 images") as info:
        load_mnist(tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_bad_kind_is_rejected():
    with pytest.raises(ValueError, match="kind must be 'mnist' or 'fashion', got 'kmnist'"):
        load_mnist(".", kind="kmnist")
