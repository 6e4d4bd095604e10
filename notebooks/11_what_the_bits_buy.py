# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · What the bits buy
#
# Every notebook so far *simulated* quantization: the weights were ±α, but stored and
# multiplied as float32. Here the bits become real. We
#
# 1. compute a ±1 dot product with XOR and a popcount, by hand;
# 2. pack binary weights 8 to a byte and unpack them;
# 3. train a fully binary (W1A1) digits CNN and read its summary: bits, parameters, memory, MACs;
# 4. save it packed and run it with XNOR-popcount convolutions, next to the float model;
# 5. export it to ONNX and run it in ONNX Runtime.
#
# (XNOR-Net, Rastegari et al. 2016, §3.2; BinaryNet, Courbariaux et al. 2016; seed 004 §2.)

# %% [markdown]
# ## 1 · A dot product of ±1 vectors is a popcount
#
# Store +1 as bit 1 and −1 as bit 0. Two entries agree when their bits are equal, so
# a·w = (#agree) − (#disagree) = K − 2·(#disagree), and the disagreements are the 1s of
# a XOR w:
#
# $$a\cdot w = K - 2\,\mathrm{popcount}(a \oplus w).$$

# %%
import numpy as np

a = np.array([+1, -1, -1, +1, +1, +1, -1, +1, -1, -1])
w = np.array([+1, +1, -1, -1, +1, -1, -1, +1, +1, -1])
K = a.size
bits = lambda v: int("".join("1" if x > 0 else "0" for x in v), 2)   # noqa: E731
disagree = bin(bits(a) ^ bits(w)).count("1")
print(f"a = {bits(a):010b}\nw = {bits(w):010b}\nxor {bits(a) ^ bits(w):010b}  popcount {disagree}")
print("K - 2*popcount =", K - 2 * disagree, "  np.dot =", int(a @ w))

# %% [markdown]
# ## Exercise 11.1 — the dot product from packed words
#
# `np.packbits(v > 0)` packs the signs of a ±1 vector into bytes, 8 signs a byte (the last byte
# padded with 0 bits). Write `packed_dot(pa, pw, k)`: the dot product of the two length-`k` ±1
# vectors whose packed bytes are `pa` and `pw`, using only XOR and a popcount
# (`np.bitwise_count`) — no unpacking. Why do the padding bits not disturb the count?

# %%
def packed_dot(pa, pw, k):
    ### BEGIN SOLUTION
    return k - 2 * int(np.bitwise_count(np.bitwise_xor(pa, pw)).sum())
    ### END SOLUTION


# %%
# Check exercise 11.1
for n in (1, 7, 8, 9, 100):
    u = np.where(np.random.default_rng(n).random(n) < 0.5, -1, 1)
    v = np.where(np.random.default_rng(n + 1).random(n) < 0.5, -1, 1)
    assert packed_dot(np.packbits(u > 0), np.packbits(v > 0), n) == int(u @ v), n
print("exercise 11.1: correct (padding bits are 0 in both operands, so their XOR is 0)")

# %% [markdown]
# With NumPy 2 the same on whole matrices: `np.bitwise_count` counts the 1 bits of every
# 64-bit word. `pack_last_axis` packs the sign bits of each row; `xnor_gemm_reference` is the
# formula above, written once for all rows and columns.

# %%
from tinyquant.deploy.xnor import pack_last_axis, xnor_gemm, xnor_gemm_reference

rng = np.random.default_rng(0)
A = np.where(rng.random((6, 576)) < 0.5, -1, 1)        # 6 input windows, K = 576 = 64·9
W = np.where(rng.random((4, 576)) < 0.5, -1, 1)        # 4 filters
pa, pw = pack_last_axis(A > 0), pack_last_axis(W > 0)
print("packed:", pa.shape, pa.dtype, "—", pa.nbytes, "bytes instead of", A.astype(np.float32).nbytes)
assert np.array_equal(xnor_gemm_reference(pa, pw, 576), A @ W.T)
assert np.array_equal(xnor_gemm(pa, pw, 576), A @ W.T)
xnor_gemm(pa, pw, 576)

# %% [markdown]
# ## 2 · Packing and unpacking weights
#
# A binary 3×3 convolution with 4 filters over 3 channels holds 108 signs: 16 bytes packed
# (`np.packbits`, 8 signs a byte along each filter's K = 27 entries: 4 bytes a filter, the last
# one padded), 432 bytes as float32.

# %%
signs = np.where(rng.standard_normal((4, 3, 3, 3)) >= 0, 1, -1)          # sign(0) = +1
packed = np.packbits(signs.reshape(4, -1) > 0, axis=1)
print(packed.shape, packed.dtype, [f"{b:08b}" for b in packed[0]])
unpacked = np.where(np.unpackbits(packed, axis=1, count=27), 1, -1).reshape(signs.shape)
assert np.array_equal(unpacked, signs)
print("packed bytes:", packed.nbytes, " float32 bytes:", signs.astype(np.float32).nbytes)

# %% [markdown]
# ## 3 · A fully binary network and its summary
#
# The digits CNN with XNOR weights and sign activations (BinaryNet's `BinActive`, the
# `sign_activation` quantizer) in its two middle convolutions; the first and last layers stay in
# float, as binary networks usually keep them. A sign of a ReLU output would always be +1, so
# the ReLUs become the identity: the activation function is the sign itself. Three epochs,
# exactly as `tinyquant train --quantizer xnor --act-bits 1 --act-quantizer sign_activation
# --epochs 3` runs them. The checkpoint holds the training configuration, so `tq.load_model`
# rebuilds the network with its quantizers from the file alone.

# %%
import tempfile
from pathlib import Path

import tinyquant as tq
from tinyquant import Tensor, no_grad
from tinyquant.data import get_dataset
from tinyquant.deploy import summary

folder = Path(tempfile.mkdtemp())
config = tq.TrainConfig.from_dict({"quantizer": "xnor", "act_bits": 1, "act_quantizer": "sign_activation",
                                   "epochs": 3, "no_progress": True, "out": str(folder / "run")})
history = tq.train_run(config, echo=lambda line: None)
print("test accuracy", history[-1]["test_accuracy"])
model = tq.load_model(folder / "run" / "checkpoint.npz")
print(summary(model, model.input_shape))

# %% [markdown]
# Read the table: the middle convolutions hold their weights at 1 bit, and their MACs are
# binary (both operands 1 bit: XNOR-popcount). The float first and last layers are a small share
# of the parameters but dominate the packed memory of so small a network.

# %% [markdown]
# ## 4 · The packed file, run with XNOR-popcount
#
# `save_packed` writes bits, scales and the folded batch norm into one `.npz` (no pickle);
# `run` executes it: XNOR-popcount for the W1A1 convolutions, float GEMMs for the float layers.

# %%
import time

from tinyquant.deploy import run, save_packed
from tinyquant.train.checkpoint import save_checkpoint, with_prefix

data = get_dataset("digits")
float_file = save_checkpoint(folder / "float.npz", with_prefix(model.state_dict(), "model"))
packed_file = save_packed(model, folder / "packed.npz")
print(f"float checkpoint {float_file.stat().st_size:,} bytes, packed {packed_file.stat().st_size:,} bytes "
      f"({float_file.stat().st_size / packed_file.stat().st_size:.1f}× smaller)")

x = data.x_test
t0 = time.perf_counter()
with no_grad():
    reference = model(Tensor(x)).data
t1 = time.perf_counter()
packed_logits = run(packed_file, x)
t2 = time.perf_counter()
print("same prediction on", np.sum(packed_logits.argmax(1) == reference.argmax(1)), "of", len(x), "test digits")
print(f"largest logit difference {np.max(np.abs(packed_logits - reference)):.2e}")
print(f"float forward {1e3 * (t1 - t0):.0f} ms, packed run {1e3 * (t2 - t1):.0f} ms (this machine, once)")

# %% [markdown]
# ## 5 · ONNX
#
# `export_onnx` writes a standard ONNX graph: the binary weights as int8 levels ±1 with their
# per-filter scales, dequantized in the graph (`DequantizeLinear`), the sign activations as
# `Where(x ≥ 0, 1, −1)` (ONNX's `Sign` has sign(0) = 0). ONNX Runtime runs it.

# %%
import onnxruntime as ort

from tinyquant.deploy.onnx_export import export_onnx

onnx_file = export_onnx(model, folder / "model.onnx", data.input_shape)
session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
onnx_logits = session.run(None, {"input": x})[0]
print("ONNX Runtime: same prediction on", np.sum(onnx_logits.argmax(1) == reference.argmax(1)), "of", len(x))
print(f"largest relative logit difference {np.max(np.abs(onnx_logits - reference)) / np.max(np.abs(reference)):.1e}")

# %% [markdown]
# **Try it.** Replace `"xnor"` by `"ttq"` (ternary weights: two bit planes) or remove the
# activation quantizer (binary weights with float inputs: sign-masked additions) and compare the
# summaries and file sizes. Why does a W1A1 layer need no multiplications at all, while a
# binary-weight layer with float inputs still needs additions?
