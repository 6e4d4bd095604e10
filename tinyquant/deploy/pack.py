"""The packed format: a trained model as bits, small integers and scales in one ``.npz``.

``save_packed(model, path, config=None)`` lowers the model (:mod:`tinyquant.deploy.graph`,
batch norm folded) and writes, per quantizable layer ``n{i}``:

    binary weights    n{i}/bits   uint8 (O, ⌈K/8⌉)  np.packbits of 1[w = +1] along K = C·kh·kw
    ternary weights   n{i}/plus, n{i}/minus         two such bit planes, 1[w > 0] and 1[w < 0]
    k-bit weights     n{i}/codes  int8 / int16 / int32 (O, K), the smallest that holds them
    float weights     n{i}/weight float32 (O, K)
    output affine     n{i}/mult (and n{i}/mult_neg for ternary), n{i}/add   float32 (O,)

and ``affine`` nodes' ``n{i}/scale``, ``n{i}/shift``. In the file these arrays are pooled
into one flat array per dtype (:func:`pool`; the header's ``arrays`` index cuts them back),
so that small layers do not pay a zip entry each. The header (UTF-8 JSON in a uint8 array)
holds the graph (ops, shapes, precisions, activation steps) under ``graph``, the caller's
configuration (the training configuration, for instance) under ``config``, and ``format``
and ``format_version``, which identify the file. Written atomically (temporary file, fsync, rename) with ``np.savez``
(uncompressed: the size is the bits themselves), read with ``allow_pickle=False``: loading a
packed model never executes code.

``load_packed(path)`` returns a :class:`PackedModel` (the nodes with their arrays), which
:func:`tinyquant.deploy.runtime.run` executes.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..train.checkpoint import write_npz_atomically
from .graph import lower
from .precision import ActivationForm

FORMAT = "tinyquant-packed"
FORMAT_VERSION = 1
LAYER_OPS = ("conv2d", "conv1d", "linear")


class PackedFormatError(ValueError):
    """A packed file is missing, corrupted, of another format or of another version."""


@dataclass
class PackedModel:
    nodes: list        # dicts: op, inputs, output, attributes, and their arrays
    config: dict

    def __repr__(self) -> str:
        return f"PackedModel({len(self.nodes)} nodes)"


def pack_weight(w) -> tuple[dict, dict]:
    """(arrays, meta) of one WeightForm: bit planes, integer codes or float32, as listed above."""
    shape = list(w.values.shape)
    flat = lambda a: a.reshape(shape[0], -1)            # noqa: E731  (O, K)
    meta = {"kind": w.kind, "bits": int(w.bits), "shape": shape}
    if w.kind == "binary":
        return {"bits": np.packbits(flat(w.codes) > 0, axis=1)}, meta
    if w.kind == "ternary":
        return {"plus": np.packbits(flat(w.codes) > 0, axis=1),
                "minus": np.packbits(flat(w.codes) < 0, axis=1)}, meta
    if w.kind == "kbit":
        return {"codes": flat(w.codes)}, meta
    return {"weight": flat(w.values).astype(np.float32)}, meta


def unpack_weight(arrays: dict, meta: dict) -> np.ndarray:
    """The weight codes (O, K): ±1 (binary), −1/0/+1 (ternary), integers (k-bit), or float32."""
    o, k = meta["shape"][0], int(np.prod(meta["shape"][1:]))
    if meta["kind"] == "binary":
        return np.where(np.unpackbits(arrays["bits"], axis=1, count=k), 1, -1).astype(np.int8)
    if meta["kind"] == "ternary":
        plus = np.unpackbits(arrays["plus"], axis=1, count=k).astype(np.int8)
        return plus - np.unpackbits(arrays["minus"], axis=1, count=k).astype(np.int8)
    key = "codes" if meta["kind"] == "kbit" else "weight"
    return arrays[key].reshape(o, k)


def pack(model, config: dict | None = None) -> tuple[dict, dict]:
    """``(arrays, header)`` of ``model``: the file's content before writing."""
    arrays, graph = {}, []
    for i, node in enumerate(lower(model)):
        entry = {k: v for k, v in node.items() if not isinstance(v, np.ndarray)}
        if node["op"] in LAYER_OPS:
            wa, entry["weight"] = pack_weight(node["weight"])
            a = node["act"]
            entry["act"] = {"kind": a.kind, "bits": a.bits, "scaled": a.scaled, "step": a.step,
                            "low": a.low, "high": a.high}
            arrays.update({f"n{i}/{k}": v for k, v in wa.items()})
        for k, v in node.items():
            if isinstance(v, np.ndarray) and k != "bn_scale":     # already inside mult
                arrays[f"n{i}/{k}"] = v
        graph.append(entry)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "graph": graph,
              "config": config or {}}
    return arrays, header


def pool(arrays: dict) -> tuple[dict, dict]:
    """One flat array per dtype (the file's only arrays besides the header) and the index
    ``{key: [dtype, offset, shape]}`` to cut them back: a zip entry and an .npy header cost
    ~200 bytes each, as much as a 40-channel layer's bits."""
    blobs, index = {}, {}
    for key, a in arrays.items():
        parts = blobs.setdefault(a.dtype.name, [])
        index[key] = [a.dtype.name, sum(p.size for p in parts), list(a.shape)]
        parts.append(a.ravel())
    return {d: np.concatenate(parts) for d, parts in blobs.items()}, index


def unpool(blobs: dict, index: dict) -> dict:
    """The arrays :func:`pool` pooled, by key."""
    return {key: blobs[d][o:o + int(np.prod(shape, dtype=np.int64))].reshape(shape)
            for key, (d, o, shape) in index.items()}


def header_bytes(header: dict) -> np.ndarray:
    """The header as UTF-8 JSON in a uint8 array (a NumPy string array would hold UTF-32:
    four bytes a character)."""
    return np.frombuffer(json.dumps(header, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)


def save_packed(model, path, config: dict | None = None) -> Path:
    """Write ``model`` packed to ``path`` (``.npz``), atomically; returns the path."""
    arrays, header = pack(model, config)
    arrays, header["arrays"] = pool(arrays)
    arrays["header"] = header_bytes(header)
    return write_npz_atomically(path, arrays)


def load_packed(path) -> PackedModel:
    """Read a file written by :func:`save_packed` (no pickle), checking format and version."""
    path = Path(path)
    if not path.is_file():
        raise PackedFormatError(f"packed model {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise PackedFormatError(f"packed model {str(path)!r} is not a readable tinyquant packed file "
                                f"({type(err).__name__}: {err})") from err
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise PackedFormatError(
            f"packed model {str(path)!r} has format {header.get('format')!r} version "
            f"{header.get('format_version')!r}, expected {FORMAT!r} version {FORMAT_VERSION}")
    try:
        return _unpacked(unpool(arrays, header["arrays"]), header)
    except KeyError as err:
        raise PackedFormatError(f"packed model {str(path)!r} lacks the array {err}") from None


def _unpacked(arrays: dict, header: dict) -> PackedModel:
    nodes = []
    for i, entry in enumerate(header["graph"]):
        node = dict(entry)
        mine = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"n{i}/")}
        if node["op"] in LAYER_OPS:
            node["codes"] = unpack_weight(mine, node["weight"])
            node["act"] = ActivationForm(**node["act"])
        node.update({k: v for k, v in mine.items() if k in ("mult", "mult_neg", "add", "scale", "shift")})
        nodes.append(node)
    return PackedModel(nodes, header.get("config", {}))


def packed_from_model(model, config: dict | None = None) -> PackedModel:
    """The PackedModel :func:`load_packed` would return for ``model``, without a file."""
    return _unpacked(*pack(model, config))


__all__ = ["FORMAT", "FORMAT_VERSION", "PackedFormatError", "PackedModel", "load_packed", "pack",
           "packed_from_model", "save_packed"]
