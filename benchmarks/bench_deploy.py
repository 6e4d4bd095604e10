"""Benchmark: what the bits buy -- file sizes and inference times, packed against float.

    python benchmarks/bench_deploy.py            # batch 64, 7 repetitions (a few minutes)
    python benchmarks/bench_deploy.py --quick    # batch 8, 3 repetitions (a smoke test)

1. File sizes (exact bytes): the float model (its state dict in tinyquant's checkpoint
   format) against the packed file (``tinyquant.deploy.save_packed``), for binary (XNOR
   weights; and W1A1 with sign activations) and ternary (TTQ) ResNet-20 on CIFAR-shaped
   inputs and digits_cnn, first and last layers kept in float.
2. Inference time per batch, per layer kind, side by side: each packed kernel of
   ``tinyquant.deploy.runtime`` against the float im2col convolution (or matmul) it
   replaces, on ResNet-20's three 3×3 layer shapes, timed alternately repetition by
   repetition (median), one thread for both (the packed kernels are single-threaded), and
   the whole W1A1 ResNet-20 packed against its float model.
3. Where the W1A1 convolution stands: bytes of operands per MAC, and its popcount
   throughput (64-bit word operations per second) against the float GEMM's MACs per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TINYQUANT_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tinyquant import Tensor, no_grad  # noqa: E402
from tinyquant.deploy import packed_from_model, run, save_packed, summary  # noqa: E402
from tinyquant.deploy.runtime import quantized_layer  # noqa: E402
from tinyquant.deploy.xnor import BinaryConvWeights, as_uint64_rows  # noqa: E402
from tinyquant.nn import Conv2d  # noqa: E402
from tinyquant.nn.convolution import conv2d  # noqa: E402
from tinyquant.nn.models import build_model  # noqa: E402
from tinyquant.quant import get_quantizer  # noqa: E402
from tinyquant.train.checkpoint import save_checkpoint, with_prefix  # noqa: E402
from timing import alternate  # noqa: E402

LAYERS = [("16→16, 32×32", 16, 32), ("32→32, 16×16", 32, 16), ("64→64, 8×8", 64, 8)]


def quantized_model(name, input_shape, quantizer, act=None, seed=0):
    """``name`` with ``quantizer`` weights (and sign inputs if ``act``), first/last layers float,
    data-dependent quantizer parameters set by one training-mode forward, in eval mode."""
    from tinyquant.config import QuantConfig
    from tinyquant.quant.config import configure_quantization

    model = build_model(name, input_shape, 10, rng=seed)
    options = dict(quantizer=quantizer) if act is None else dict(quantizer=quantizer, act_bits=1,
                                                                 act_quantizer=act)
    configure_quantization(model, QuantConfig(**options), seed=seed)
    x = np.random.default_rng(seed).standard_normal((8, *input_shape)).astype(np.float32)
    model.train()(Tensor(x))
    return model.eval()


def file_sizes(out: Path) -> list[str]:
    rows = ["| model | float checkpoint (bytes) | packed (bytes) | ratio | summary's packed estimate |",
            "|---|---:|---:|---:|---:|"]
    for name, shape in (("resnet20", (3, 32, 32)), ("digits_cnn", (1, 8, 8))):
        for label, quantizer, act in (("binary (XNOR weights)", "xnor", None),
                                      ("binary W1A1 (XNOR + sign inputs)", "xnor", "sign_activation"),
                                      ("ternary (TTQ)", "ttq", None)):
            model = quantized_model(name, shape, quantizer, act)
            f = save_checkpoint(out / f"{name}_{quantizer}_float.npz", with_prefix(model.state_dict(), "model"))
            p = save_packed(model, out / f"{name}_{quantizer}_packed.npz")
            fs, ps = f.stat().st_size, p.stat().st_size
            est = summary(model, shape).packed_bytes
            rows.append(f"| {name} {label} | {fs:,} | {ps:,} | {fs / ps:.1f}× | {est:,.0f} |")
    return rows


def layer_node(channels, quantizer, act):
    conv = Conv2d(channels, channels, 3, padding=1, bias=False, rng=1)
    conv.weight_quantizer = get_quantizer(quantizer, **({"bits": 2} if quantizer == "uniq" else {}))
    if act is not None:
        conv.activation_quantizer = get_quantizer(act, **({"bits": 2} if act == "uniq_activation" else {}))
    x = np.abs(np.random.default_rng(2).standard_normal((4, channels, 8, 8))).astype(np.float32)
    conv.train()
    conv(Tensor(x))                                              # data-dependent inits
    conv.eval()
    return conv, packed_from_model(conv).nodes[0]


KINDS = [("W1A1 XNOR-popcount", "xnor", "sign_activation"),
         ("binary weights, float inputs (sign-masked)", "xnor", None),
         ("ternary weights, float inputs (two planes)", "ttq", None),
         ("W2A2 integer GEMM (int32)", "uniq", "uniq_activation")]


def layer_times(batch: int, reps: int) -> list[str]:
    rows = ["| layer | kind | float im2col conv (ms) | packed (ms) | packed / float |", "|---|---|---:|---:|---:|"]
    rng = np.random.default_rng(0)
    for label, c, hw in LAYERS:
        x = rng.standard_normal((batch, c, hw, hw)).astype(np.float32)
        for kind, quantizer, act in KINDS:
            conv, node = layer_node(c, quantizer, act)
            with no_grad():
                w = conv.quantized_weight().data
                xin = conv.quantized_input(Tensor(x)).data
            t = alternate({"float": lambda: conv2d(Tensor(xin), Tensor(w), padding=1),
                           "packed": lambda: quantized_layer(node, x)}, reps, pause=0)
            rows.append(f"| {label} | {kind} | {t['float'] * 1e3:.1f} | {t['packed'] * 1e3:.1f} | "
                        f"{t['packed'] / t['float']:.2f} |")
    return rows


def model_times(batch: int, reps: int) -> list[str]:
    rows = ["| model | float forward (ms) | packed run (ms) | packed / float |", "|---|---:|---:|---:|"]
    x = np.random.default_rng(3).standard_normal((batch, 3, 32, 32)).astype(np.float32)
    for label, quantizer, act in (("ResNet-20 W1A1 (XNOR + sign)", "xnor", "sign_activation"),
                                  ("ResNet-20 binary weights", "xnor", None),
                                  ("ResNet-20 ternary weights", "ttq", None)):
        model = quantized_model("resnet20", (3, 32, 32), quantizer, act)
        packed = packed_from_model(model)

        def floating():
            with no_grad():
                model(Tensor(x))

        t = alternate({"float": floating, "packed": lambda: run(packed, x)}, reps, pause=0)
        rows.append(f"| {label}, batch {batch} | {t['float'] * 1e3:.1f} | {t['packed'] * 1e3:.1f} | "
                    f"{t['packed'] / t['float']:.2f} |")
    return rows


def where_it_stands(batch: int, reps: int) -> list[str]:
    rows = ["| layer | MACs | float: operand bytes / MAC | W1A1: bytes / MAC | float GMAC/s | "
            "XNOR G word-ops/s | XNOR binary GMAC/s |", "|---|---:|---:|---:|---:|---:|---:|"]
    rng = np.random.default_rng(4)
    for label, c, hw in LAYERS:
        x = rng.standard_normal((batch, c, hw, hw)).astype(np.float32)
        w = np.where(rng.random((c, c, 3, 3)) < 0.5, -1, 1).astype(np.int8)
        conv = BinaryConvWeights(w, w.shape, (1, 1), (1, 1))
        xs, wf = np.where(x >= 0, 1.0, -1.0).astype(np.float32), w.astype(np.float32)
        t = alternate({"float": lambda: conv2d(Tensor(xs), Tensor(wf), padding=1), "xnor": lambda: conv(x)}, reps, pause=0)
        k, m = c * 9, batch * hw * hw
        macs = m * c * k
        words = as_uint64_rows(conv.words).shape[1]                  # uint64 words per window
        # operands read per output-row × output-channel tile: float reads the K column entries
        # (4 bytes) once for all O outputs; XNOR reads its ⌈K/64⌉ words (8 bytes) once likewise
        float_bytes, xnor_bytes = 4 * k * m / macs, 8 * words * m / macs
        rows.append(f"| {label} | {macs / 1e6:.0f} M | {float_bytes:.3f} | {xnor_bytes:.4f} | "
                    f"{macs / t['float'] / 1e9:.1f} | {m * c * words / t['xnor'] / 1e9:.2f} | "
                    f"{macs / t['xnor'] / 1e9:.1f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    batch, reps = (8, 3) if args.quick else (64, 7)
    print(f"# bench_deploy (batch {batch}, {reps} repetitions, OPENBLAS_NUM_THREADS="
          f"{os.environ['OPENBLAS_NUM_THREADS']}, NumPy {np.__version__})\n")
    with tempfile.TemporaryDirectory() as tmp:
        for title, rows in (("File sizes", file_sizes(Path(tmp))),
                            ("Layer kinds", layer_times(batch, reps)),
                            ("Whole models", model_times(batch, reps)),
                            ("Where the W1A1 convolution stands", where_it_stands(batch, reps))):
            print(f"## {title}\n")
            print("\n".join(rows) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
