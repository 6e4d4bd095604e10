"""Running a packed model with the arithmetic its bits allow.

``run(packed, x)`` maps float32 inputs (as ``tinyquant.data.get_dataset`` returns them) to
logits. Each conv2d / linear node picks its kernel from its weight and input precisions (a
conv1d node runs as the conv2d with kernel (1, k) on (N, C, 1, L) that it is):

* **W1A1 -- XNOR-popcount** (:mod:`tinyquant.deploy.xnor`): a·w = K − 2·popcount(a XOR w)
  on packed sign bits, K/64 word operations per output instead of K multiplications.
* **binary / ternary weights, float inputs -- sign-masked accumulation.** Σ_k w_k·x_k with
  w ∈ {−1, 0, +1} is Σ_{w=+1} x − Σ_{w=−1} x: additions and subtractions only, the scale applied
  once per output. NumPy has no masked-sum kernel, so this runs as one float32 GEMM with the
  ±1/0 matrix (the same cost as the float layer; on hardware, a sign flip instead of a
  multiply); TTQ's two scales (W_p ≠ W_n) fold into one matrix P − (W_n/W_p)·N.
* **k-bit (or binary/ternary) weights, k-bit or binary inputs -- integer GEMM**: the codes
  multiply as int32 and accumulate exactly in int32 (:func:`integer_gemm_reference`);
  :func:`integer_gemm` gets the same integers from the float32 BLAS GEMM whenever every
  partial sum stays below 2^24, where float32 is exact.
* **float** weights or inputs otherwise: a float32 GEMM (im2col).

Then y[o] = mult[o]·acc[o] + add[o] (:mod:`tinyquant.deploy.graph`: weight scale, input step
and the folded batch norm), times XNOR-Net's per-sample K for scaled sign inputs.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..nn import functional as F
from ..nn.im2col import im2col, output_size
from ..nn.parallel import default_runtime
from ..quant.functional import sign
from ..tensor import Tensor
from .pack import LAYER_OPS, PackedModel, load_packed
from .xnor import BinaryConvWeights, pack_last_axis, xnor_gemm

# -------------------------------------------------------------- layers


def integer_gemm_reference(w: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """acc = w @ cols on int32 codes, accumulated in int32 (NumPy's integer matmul: exact, no BLAS)."""
    return np.matmul(w.astype(np.int32), cols.astype(np.int32))


def integer_gemm(w: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The same integers, through the float32 BLAS GEMM when that is exact: if
    max|w|·max|x|·K < 2^24, every product and every partial sum is an integer below 2^24,
    which float32 represents exactly, so the float32 GEMM returns the int32 accumulation bit
    for bit. Otherwise :func:`integer_gemm_reference`."""
    bound = int(np.max(np.abs(w), initial=0)) * int(np.max(np.abs(cols), initial=0)) * w.shape[-1]
    if bound >= 2**24:
        return integer_gemm_reference(w, cols)
    return np.matmul(w.astype(np.float32), cols.astype(np.float32, copy=False)).astype(np.int32)



def _quantize_input(act, x):
    """(the input as the layer's quantizer sees it, per-sample K or None): sign codes ±1 or
    k-bit codes as integer-valued float32 (exact), or x itself for float inputs."""
    if act.kind == "binary":
        k = np.mean(np.abs(x), axis=tuple(range(1, x.ndim)), dtype=np.float32) if act.scaled else None
        return sign(x), k
    if act.kind == "kbit":
        return np.round(np.clip(x / np.float32(act.step), act.low, act.high)), None
    return x, None


def _columns(shape, dtype) -> np.ndarray:
    """The calling thread's column buffer of that shape, from the convolution runtime's
    per-thread :class:`~tinyquant.nn.im2col.Workspace`: reused between calls (a fresh one is
    page-faulted in on every call)."""
    return default_runtime().workspace().get("deploy columns", shape, dtype)


def _gemm_over_columns(node, x, gemm):
    """``gemm(cols)`` on the (N, K, L) columns of a conv's input (L = Ho·Wo; built into a pooled
    buffer), or on (N, K, 1) for a linear layer."""
    if node["op"] == "linear":
        return gemm(x.reshape(x.shape[0], -1, 1))
    (kh, kw), stride, padding = node["kernel"], tuple(node["stride"]), tuple(node["padding"])
    n, c = x.shape[:2]
    ho, wo = (output_size(d, k, s, p) for d, k, s, p in zip(x.shape[2:], (kh, kw), stride, padding))
    cols = _columns((n, c * kh * kw, ho * wo), x.dtype)
    return gemm(im2col(x, kh, kw, stride, padding, out=cols))


def _ternary_as_one_matrix(node):
    """TTQ's y = m_p·(P·x) − m_n·(N·x) as one GEMM: (P − (m_n/m_p)·N)·x times m_p (−N·x times
    m_n in a filter with no +W_p weight)."""
    mult, mult_neg = node["mult"], node["mult_neg"]
    plus, minus = (node["codes"] > 0).astype(np.float32), (node["codes"] < 0).astype(np.float32)
    has = mult != 0
    ratio = np.where(has, mult_neg / np.where(has, mult, 1), 0).astype(np.float32)
    matrix = np.where(has[:, None], plus - ratio[:, None] * minus, -minus)
    return matrix, np.where(has, mult, mult_neg).astype(np.float32)


def _accumulate(node, x):
    """(acc, per-output multiplier): the layer's sums in the units of its codes."""
    kind, act = node["weight"]["kind"], node["act"]
    if kind == "binary" and act.kind == "binary" and node["op"] == "conv2d":
        conv = node.setdefault("_xnor", BinaryConvWeights(node["codes"], node["weight"]["shape"],
                                                          node["stride"], node["padding"]))
        dot = conv(x)
        return dot.reshape(dot.shape[0], dot.shape[1], -1), node["mult"]
    codes, _ = _quantize_input(act, x)
    if kind == "binary" and act.kind == "binary":                 # a W1A1 linear layer
        words = node.setdefault("_words", pack_last_axis(node["codes"] > 0))
        dot = xnor_gemm(pack_last_axis(codes.reshape(codes.shape[0], -1) > 0), words, node["codes"].shape[1])
        return dot[:, :, None], node["mult"]
    if kind == "ternary" and not np.array_equal(node["mult"], node["mult_neg"]):
        matrix, mult = node.setdefault("_ternary", _ternary_as_one_matrix(node))   # TTQ: W_p ≠ W_n
        return _gemm_over_columns(node, codes, lambda cols: np.matmul(matrix, cols)), mult
    if act.kind != "float" and kind != "float":                  # integer GEMM, int32 accumulation
        w = node.setdefault("_int", node["codes"].astype(np.int32))
        return _gemm_over_columns(node, codes, lambda cols: integer_gemm(w, cols)), node["mult"]
    # binary / symmetric ternary weights on float inputs: Σ_{w=+1} x − Σ_{w=−1} x; float weights
    w = node.setdefault("_float", node["codes"].astype(np.float32))
    return _gemm_over_columns(node, codes, lambda cols: np.matmul(w, cols)), node["mult"]


def quantized_layer(node, x: np.ndarray) -> np.ndarray:
    acc, mult = _accumulate(node, x)
    y = acc.astype(np.float32, copy=False)
    y *= mult[:, None]
    act = node["act"]
    if act.kind == "binary" and act.scaled:
        y *= np.mean(np.abs(x), axis=tuple(range(1, x.ndim)), dtype=np.float32)[:, None, None]
    y += node["add"][:, None]
    if node["op"] == "linear":
        return y[:, :, 0]
    n, o = y.shape[:2]
    (kh, kw), (sh, sw), (ph, pw) = node["kernel"], node["stride"], node["padding"]
    return y.reshape(n, o, output_size(x.shape[2], kh, sh, ph), output_size(x.shape[3], kw, sw, pw))


def _as_conv2d(node) -> dict:
    """A conv1d node as a conv2d node: kernel (1, k), stride (1, s), padding (0, p), weight shape
    (O, C, 1, k) -- the flattened codes (O, C·k) are the same. Built once and kept on the node."""
    two_d = node.get("_conv2d")
    if two_d is None:
        o, c, k = node["weight"]["shape"]
        two_d = node["_conv2d"] = {**node, "op": "conv2d", "kernel": [1, *node["kernel"]],
                                   "stride": [1, *node["stride"]], "padding": [0, *node["padding"]],
                                   "weight": {**node["weight"], "shape": [o, c, 1, k]}}
    return two_d


def _conv1d(node, x):
    return quantized_layer(_as_conv2d(node), x[:, :, None, :])[:, :, 0, :]


def _pool(node, x, fn):
    with no_grad():
        return fn(Tensor(x), node["kernel"], node["stride"], node["padding"]).data


def _shortcut(node, x):
    if node["stride"] != 1:
        x = x[:, :, ::node["stride"], ::node["stride"]]
    if node["extra"]:
        x = np.concatenate([x, np.zeros((x.shape[0], node["extra"], *x.shape[2:]), x.dtype)], axis=1)
    return x


def _affine(node, x):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x * node["scale"].reshape(shape) + node["shift"].reshape(shape)


OPS = {
    "conv2d": quantized_layer,
    "conv1d": _conv1d,
    "linear": quantized_layer,
    "affine": _affine,
    "relu": lambda node, x: np.maximum(x, 0),
    "flatten": lambda node, x: x.reshape(x.shape[0], -1),
    "maxpool2d": lambda node, x: _pool(node, x, F.max_pool2d),
    "avgpool2d": lambda node, x: _pool(node, x, F.avg_pool2d),
    "maxpool1d": lambda node, x: _pool(node, x, F.max_pool1d),
    "global_avgpool2d": lambda node, x: x.mean(axis=(2, 3)),
    "shortcut": _shortcut,
    "add": lambda node, a, b: a + b,
}


def _check_input(packed, x) -> None:
    """Refuse inputs that do not fit the first layer (when only flattening comes before it)."""
    for node in packed.nodes:
        if node["op"] == "flatten":
            continue
        if node["op"] not in LAYER_OPS:
            return
        shape = node["weight"]["shape"]
        if node["op"] in ("conv2d", "conv1d"):
            fits, what = x.ndim == len(shape) and x.shape[1] == shape[1], "channels"
        else:
            fits, what = x.ndim >= 2 and int(np.prod(x.shape[1:])) == shape[1], "features"
        if not fits:
            raise ValueError(f"run: inputs of shape {x.shape} do not fit the model: its first "
                             f"{node['op']} expects {shape[1]} input {what} (weight shape {tuple(shape)})")
        return


def run(packed, x: np.ndarray) -> np.ndarray:
    """Logits of the packed model (a :class:`PackedModel` or a path) for float32 inputs ``x``."""
    if not isinstance(packed, PackedModel):
        packed = load_packed(packed)
    x = np.asarray(x)
    if x.dtype != np.float32:
        raise TypeError(f"run: inputs must be float32 as get_dataset returns them, got {x.dtype}")
    _check_input(packed, x)
    values = {"x": x}
    for node in packed.nodes:
        values[node["output"]] = OPS[node["op"]](node, *(values[v] for v in node["inputs"]))
    return values[packed.nodes[-1]["output"]]


__all__ = ["integer_gemm", "integer_gemm_reference", "quantized_layer", "run"]
