"""A corpus of damaged and hostile checkpoint files, generated on the spot.

``CORPUS[name](folder, valid)`` writes one file into ``folder`` (``valid`` is the path of a
good checkpoint to damage) and returns its path. Every one of them must be refused by
``tinyquant.train.load_checkpoint`` with a ValueError naming the file, quickly and without
allocating what the file claims. Used by tests/reliability/ and tools/probe_reliability.py.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

VERSION_MEMBER = "__format_version__.npy"


def npy_header(shape, dtype: str = "<f8") -> bytes:
    """An npy 1.0 header for an array of ``shape`` and ``dtype`` (the data not included)."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _version() -> bytes:
    return npy_header((), "<i8") + struct.pack("<q", 1)


def truncated(folder: Path, valid: Path) -> Path:
    data = valid.read_bytes()
    (folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    return folder / "truncated.npz"


def empty(folder: Path, valid: Path) -> Path:
    (folder / "empty.npz").write_bytes(b"")
    return folder / "empty.npz"


def wrong_magic(folder: Path, valid: Path) -> Path:
    (folder / "magic.npz").write_bytes(b"GIF89a" + os.urandom(2000))
    return folder / "magic.npz"


def text(folder: Path, valid: Path) -> Path:
    (folder / "text.npz").write_text("model/weight = 1\n")
    return folder / "text.npz"


def npy_not_npz(folder: Path, valid: Path) -> Path:
    np.save(folder / "single.npy", np.zeros(3))
    return folder / "single.npy"


def huge_shape(folder: Path, valid: Path) -> Path:
    """A 64-byte member whose npy header declares 2 PiB."""
    path = folder / "huge_shape.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model/0.weight.npy", npy_header((2 ** 38, 1024)) + b"\0" * 64)
        z.writestr(VERSION_MEMBER, _version())
    return path


def crafted_size(folder: Path, valid: Path) -> Path:
    """The valid file with every central-directory entry declaring 2**31 - 1 bytes."""
    data = bytearray(valid.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    while central >= 0:
        struct.pack_into("<I", data, central + 24, 2 ** 31 - 1)   # uncompressed size
        central = data.rfind(b"PK\x01\x02", 0, central)
    path = folder / "crafted_size.npz"
    path.write_bytes(bytes(data))
    return path


def zip_bomb(folder: Path, valid: Path) -> Path:
    """A deflated npy of 3 GiB of zeros in about 3 MB (zip64 sizes, honest headers)."""
    path = folder / "bomb.npz"
    count = 3 * 2 ** 27
    header = npy_header((count,))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * 2 ** 20
    head = comp.compress(header + chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)   # same bytes for every MiB
    repeats = count * 8 // 2 ** 20 - 1
    body = head + block * repeats + comp.flush()
    crc = zlib.crc32(header + chunk)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    size, name = len(header) + (repeats + 1) * 2 ** 20, b"model/0.weight.npy"
    zip64 = struct.pack("<HHQQ", 1, 16, size, len(body))
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 8, 0, 0, crc, len(body),
                        0xFFFFFFFF, len(name), len(zip64)) + name + zip64
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, crc,
                          len(body), 0xFFFFFFFF, len(name), len(zip64), 0, 0, 0, 0, 0) + name + zip64
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(body), 0)
    path.write_bytes(local + body + central + end)
    with zipfile.ZipFile(path, "a") as z:   # a well-formed checkpoint apart from its size
        z.writestr(VERSION_MEMBER, _version())
    return path


def pickled_object(folder: Path, valid: Path) -> Path:
    """An .npz whose weight is a pickled object array (np.savez pickles it)."""
    path = folder / "pickled.npz"
    np.savez(path, **{"model/0.weight": np.array([{"x": 1}, None], dtype=object),
                      "__format_version__": np.asarray(1)})
    return path


def not_npy_member(folder: Path, valid: Path) -> Path:
    path = folder / "script.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model/0.weight", b"#!/bin/sh\necho hi\n")
        z.writestr(VERSION_MEMBER, _version())
    return path


def directory(folder: Path, valid: Path) -> Path:
    (folder / "folder.npz").mkdir(exist_ok=True)
    return folder / "folder.npz"


def flipped_byte(folder: Path, valid: Path) -> Path:
    data = bytearray(valid.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "flipped.npz").write_bytes(bytes(data))
    return folder / "flipped.npz"


CORPUS = {fn.__name__: fn for fn in (truncated, empty, wrong_magic, text, npy_not_npz,
                                     huge_shape, crafted_size, zip_bomb, pickled_object,
                                     not_npy_member, directory, flipped_byte)}
